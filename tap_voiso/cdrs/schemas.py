"""JSON schemas of Voiso CDRs, assembled from shared pieces.

One rule runs through every object here: `additional_properties=True`. Voiso adds
fields without notice, and a field it adds tomorrow must reach the warehouse today
rather than be dropped by the schema. Every property is nullable, because which
fields are set depends on the CDR's type, channel and flow.
"""

from __future__ import annotations

from singer_sdk import typing as th

from tap_voiso.shared.typing import obj


def _named(id_type: type[th.JSONTypeHelper]) -> th.ObjectType:
    """A related object: its id, its name now and when the CDR was made, deleted or not."""
    return obj(
        th.Property("id", id_type),
        th.Property("name", th.StringType),
        th.Property("name_snapshot", th.StringType),
        th.Property("deleted", th.BooleanType),
    )


# Queue, campaign, canned message: integer ids. Flow: a uuid.
NAMED_WITH_INT_ID = _named(th.IntegerType)
NAMED_WITH_UUID = _named(th.UUIDType)

USER = obj(
    th.Property("id", th.StringType),
    th.Property("name", th.StringType),
    th.Property("email", th.StringType),
    th.Property("name_snapshot", th.StringType),
    th.Property("deleted", th.BooleanType),
)

# `from` / `to`: a phone number, or a messaging channel account.
PARTY = obj(
    th.Property("type", th.StringType),
    th.Property("phone_number", th.StringType),
    th.Property(
        "channel_account",
        obj(
            th.Property("id", th.UUIDType),
            th.Property("channel", th.StringType),
            th.Property("identifier", th.StringType),
            th.Property(
                "data",
                obj(th.Property("name", th.StringType), th.Property("username", th.StringType)),
            ),
            th.Property("name_snapshot", th.StringType),
            th.Property("deleted", th.BooleanType),
        ),
    ),
)

RELATED_CALL = obj(th.Property("id", th.UUIDType))
WRAPUP_CODE = obj(th.Property("code_snapshot", th.StringType))
SLA_MEASURE = obj(th.Property("value", th.NumberType), th.Property("status", th.StringType))

# Durations in seconds; calls report all six, conversations overall/queue/talk.
DURATIONS = obj(
    *(
        th.Property(name, th.NumberType)
        for name in ("overall", "dialing", "ivr", "queue", "talk", "hold")
    )
)

# `data` fields by CDR type. A field shared by types has one shape everywhere.
CALL_DATA = (
    th.Property("queue", NAMED_WITH_INT_ID),
    th.Property("campaign", NAMED_WITH_INT_ID),
    th.Property("destination_country", th.StringType),
    th.Property("durations", DURATIONS),
    th.Property("end_reason", th.StringType),
    th.Property("wrapup_code", WRAPUP_CODE),
    th.Property("summary", th.StringType),
    th.Property("conversation_score", th.NumberType),
    th.Property("mos", th.NumberType),
    th.Property("mos_tc", th.NumberType),
)
CONVERSATION_DATA = (
    th.Property("channel", th.StringType),
    th.Property("flow", NAMED_WITH_UUID),
    th.Property("queue", NAMED_WITH_INT_ID),
    th.Property("wrapup_code", WRAPUP_CODE),
    th.Property("durations", DURATIONS),
    th.Property(
        "service_level_agreements",
        obj(
            th.Property("first_response", SLA_MEASURE),
            th.Property("resolution", SLA_MEASURE),
            th.Property("avg_reply", SLA_MEASURE),
        ),
    ),
)
HLR_LOOKUP_DATA = (
    th.Property("reachable", th.BooleanType),
    th.Property("roaming", th.BooleanType),
    th.Property("related_call", RELATED_CALL),
)
SMS_DATA = (
    th.Property("sent", th.BooleanType),
    th.Property("segments_count", th.IntegerType),
    th.Property("message", th.StringType),
    th.Property("canned_message", NAMED_WITH_INT_ID),
    th.Property("related_call", RELATED_CALL),
)
DATA_BY_TYPE = {
    "call": CALL_DATA,
    "conversation": CONVERSATION_DATA,
    "hlr_lookup": HLR_LOOKUP_DATA,
    "sms": SMS_DATA,
}


def _union_of_data_fields() -> list[th.Property]:
    """Every type's `data` fields once, in first-seen order (shapes agree across types)."""
    merged: dict[str, th.Property] = {}
    for fields in DATA_BY_TYPE.values():
        for prop in fields:
            merged.setdefault(prop.name, prop)
    return list(merged.values())


COMMON_FIELDS = (
    th.Property("id", th.UUIDType, required=True),
    th.Property("type", th.StringType),
    th.Property("subtype", th.StringType),
    th.Property("disposition", th.StringType),
    th.Property("from", PARTY),
    th.Property("to", PARTY),
    th.Property("user", USER),
    th.Property("cost", th.NumberType),
    th.Property("tags", th.ArrayType(th.StringType)),
    th.Property("started_at", th.DateTimeType, required=True),
    th.Property("ended_at", th.DateTimeType),
)


def cdr_schema() -> dict:
    """The `cdrs` stream: common fields plus one `data` object holding every type's fields.

    A single merged `data` object, rather than a `oneOf` per type, is what targets
    load well: a `jsonb`/`VARIANT` column in a warehouse, one object in JSONL.
    """
    schema = th.PropertiesList(
        *COMMON_FIELDS,
        th.Property("data", obj(*_union_of_data_fields())),
    ).to_dict()
    schema["additionalProperties"] = True
    return schema


COMMON_NAMES = frozenset(prop.name for prop in COMMON_FIELDS)


def lifted_name(data_key: str) -> str:
    """Where a `data` field lands in a channel stream.

    Its own name, unless a common field has it already (then `data_<name>`): no
    documented field collides, but one Voiso adds tomorrow might.
    """
    return f"data_{data_key}" if data_key in COMMON_NAMES else data_key


def channel_api_schema(cdr_type: str) -> dict:
    """One channel's CDRs as the API sends them: the common fields, `data` of that type only."""
    schema = th.PropertiesList(
        *COMMON_FIELDS, th.Property("data", obj(*DATA_BY_TYPE[cdr_type]))
    ).to_dict()
    schema["additionalProperties"] = True
    return schema


def lift_schema(api_schema: dict) -> dict:
    """A channel stream's schema from its CDRs' (API-shaped) one: `data`'s fields lifted.

    No other type's fields, so each warehouse table has only columns that mean
    something for its rows; a field Voiso adds is declared once seen (`evolution.py`).
    """
    properties = dict(api_schema["properties"])
    data = properties.pop("data", {})
    for key, node in data.get("properties", {}).items():
        properties[lifted_name(key)] = node
    return {**api_schema, "properties": properties}


def channel_schema(cdr_type: str) -> dict:
    """One channel's stream: the common fields and that type's `data` fields, lifted."""
    return lift_schema(channel_api_schema(cdr_type))
