"""JSON schemas of the directory: users, campaigns, queues, and who works which queue.

Every documented field with its type (`../shared/reference/voiso-v4-directory-api.md`),
nullable (the reference: "some fields can be null"), objects open to fields Voiso
adds (`shared.typing.obj`).
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th

from tap_voiso.shared.typing import obj

# Team and group ids: the reference shows `{id, name}` without saying which type the
# id is, so either is declared.
ANY_ID = th.CustomType({"type": ["integer", "string", "null"]})
TEAM = obj(th.Property("id", ANY_ID), th.Property("name", th.StringType))
NAMED = obj(th.Property("id", ANY_ID), th.Property("name", th.StringType))

# A user as `GET /api/v4/users` and a queue's `/users` and `/supervisors` list it.
USER_PROPERTIES = (
    th.Property("id", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("email", th.StringType),
    th.Property("sip_account", th.StringType),
    th.Property("extension", th.StringType),
    th.Property("caller_id", th.StringType),
    th.Property("employee_id", th.StringType),
    th.Property("timezone", th.StringType),
    th.Property("security_access_group", NAMED),
    th.Property("teams", th.ArrayType(TEAM)),
    th.Property("supervised_teams", th.ArrayType(TEAM)),
)

CAMPAIGN_PROPERTIES = (
    th.Property("id", th.IntegerType, required=True),
    th.Property("name", th.StringType),
    th.Property("status", th.StringType),
    th.Property("strategy", th.StringType),
    th.Property("dial_level", th.NumberType),
    th.Property("max_dial_time", th.IntegerType),
    th.Property("max_wait_time", th.IntegerType),
    th.Property("max_dial_attempts", th.IntegerType),
    th.Property("amd_enabled", th.BooleanType),
    th.Property(
        "amd_voicemail_message",
        obj(
            th.Property("enabled", th.BooleanType),
            th.Property(
                "voice_message",
                obj(th.Property("type", th.StringType), th.Property("name", th.StringType)),
            ),
        ),
    ),
    th.Property(
        "caller_id_sets",
        th.ArrayType(obj(th.Property("phone_numbers", th.ArrayType(th.StringType)))),
    ),
    th.Property("follow_up_mode", th.StringType),
    th.Property("created_at", th.DateTimeType),
    th.Property("updated_at", th.DateTimeType),
)

_VOICE = obj(th.Property("type", th.StringType), th.Property("name", th.StringType))
QUEUE_PROPERTIES = (
    th.Property("id", th.IntegerType, required=True),
    th.Property("name", th.StringType),
    th.Property("extension", th.StringType),
    th.Property("strategy", th.StringType),
    th.Property("music_on_hold", _VOICE),
    th.Property(
        "in_queue_announcement",
        obj(
            th.Property("interval", th.IntegerType),
            th.Property("voice_message", _VOICE),
            th.Property("announce_position", th.BooleanType),
            th.Property("announce_wait_time", th.BooleanType),
        ),
    ),
    th.Property(
        "failover_destination",
        obj(
            th.Property("type", th.StringType),
            th.Property("wait_time", th.IntegerType),
            th.Property("destination", th.StringType),
        ),
    ),
    th.Property(
        "callback",
        obj(
            th.Property("wait_time", th.IntegerType),
            th.Property("caller_id_group", NAMED),
            th.Property("offer_voice_message", _VOICE),
            th.Property("confirmation_voice_message", _VOICE),
        ),
    ),
    th.Property("post_call_rating", obj()),
)

# One row per membership: the queue, the user as the queue's list shows them, the role.
QUEUE_MEMBER_PROPERTIES = (
    th.Property("queue_id", th.IntegerType, required=True),
    th.Property("user_id", th.StringType, required=True),
    th.Property("role", th.StringType, required=True),  # agent or supervisor
    th.Property("name", th.StringType),
    th.Property("email", th.StringType),
    th.Property("user", obj(*USER_PROPERTIES[1:])),
)


def schema_of(properties: tuple[th.Property, ...]) -> dict[str, Any]:
    """A stream's schema: the record open to fields Voiso adds."""
    return obj(*properties).to_dict()
