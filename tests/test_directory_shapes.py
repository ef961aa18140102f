"""The directory as the reference leaves it open, read beside the CDRs; nothing may be lost.

Against the simulator's directory (`server.simulator.directory`, the ground truth) with
the switches for what the reference does not pin down: objects carrying fields the tap
does not declare (top level, nested objects, objects in arrays) and values of another
JSON type, on every list; endpoints a cluster lacks (404); a list that answers 503 to
every request. Each case checks every object and every CDR exactly once, the exit code,
and the words of the WARNING or ERROR an operator reads.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections import Counter
from typing import Any

import pytest
from singer_sdk import Tap

from tap_voiso.shared.errors import OptionalStreamError
from tap_voiso.tap import TapVoiso
from tests.conftest import (
    SHORT_END,
    assert_exactly_once,
    catalog_selecting,
    log_records,
    parse_messages,
    run_cli,
    run_tap,
    tap_config,
    write_json,
)
from tests.test_directory_streams import ALL, DIRECTORY, cdrs_only, memberships, records_of
from voiso_simulator.directory import served

LISTS = ("users", "campaigns", "queues")
# Numbers the simulator sends as strings (`directory_other_types`): turned back by the tap.
AS_STRINGS = {
    "campaigns": (("dial_level",), ("max_dial_time",)),
    "queues": (("id",), ("in_queue_announcement", "interval")),
}
NEW_FIELDS = {
    "users": [("skills",), ("security_access_group", "permissions"), ("teams", "[]", "joined_at")],
    "campaigns": [("dialer_stats",), ("caller_id_sets", "[]", "label")],
    "queues": [
        ("sla_threshold_seconds",),
        ("callback", "max_callbacks"),
        ("music_on_hold", "file"),
    ],
    "queue_members": [("user", "skills"), ("user", "security_access_group", "permissions")],
}


def expected(server, resource: str, key: Any) -> dict[str, Any]:
    """An object as the tap must emit it: as served, its numbers-as-strings turned back."""
    original = server.simulator.directory.objects[resource][key]
    shown = json.loads(json.dumps(original))
    served(resource, shown, server.simulator.config)
    for path in (
        AS_STRINGS.get(resource, ()) if server.simulator.config.directory_other_types else ()
    ):
        here, there = shown, original
        for step in path[:-1]:
            here, there = here[step], there[step]
        here[path[-1]] = there[path[-1]]
    return shown


def undeclared(value: Any, schema: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple]:
    """The paths in `value` that `schema` does not declare."""
    if isinstance(value, dict) and "properties" in schema:
        found = []
        for key, item in value.items():
            if key not in schema["properties"]:
                found.append((*path, key))
            else:
                found += undeclared(item, schema["properties"][key], (*path, key))
        return found
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [p for item in value for p in undeclared(item, schema["items"], (*path, "[]"))]
    return []


def declares(schema: dict[str, Any], path: tuple[str, ...]) -> bool:
    node = schema
    for step in path:
        node = node["items"] if step == "[]" else node.get("properties", {}).get(step)
        if node is None:
            return False
    return True


def assert_every_object_once(result, server) -> None:
    """Every listed object of every list, and every membership, once, value for value."""
    directory = server.simulator.directory
    for resource in LISTS:
        records = records_of(result, resource)
        ids = Counter(record["id"] for record in records)
        assert max(ids.values()) == 1, resource
        assert set(ids) == directory.listed_now(resource), resource
        for record in records:
            assert record == expected(server, resource, record["id"]), (resource, record["id"])
    members = records_of(result, "queue_members")
    keys = Counter((r["queue_id"], r["user_id"], r["role"]) for r in members)
    assert max(keys.values()) == 1
    assert set(keys) == memberships(server, directory.listed_now("queues"))
    for record in members:
        user = expected(server, "users", record["user_id"])
        assert record["user"] == {k: v for k, v in user.items() if k != "id"}


def assert_records_fit_their_schema(result) -> None:
    """No RECORD holds a field the SCHEMA before it (of its stream) does not declare."""
    schemas: dict[str, dict[str, Any]] = {}
    for message in result.messages:
        if message["type"] == "SCHEMA":
            schemas[message["stream"]] = message["schema"]
        elif message["type"] == "RECORD":
            schema = schemas[message["stream"]]
            assert undeclared(message["record"], schema) == [], message["stream"]


def run_all(server, **overrides):
    config = tap_config(server, end_date=SHORT_END, **overrides)
    return run_tap(config, catalog=catalog_selecting(config, *ALL))


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    "switches",
    [
        {"directory_new_fields": True},
        {"directory_other_types": True},
        {"directory_new_fields": True, "directory_other_types": True},
    ],
    ids=["new fields", "other types", "both"],
)
def test_every_directory_object_comes_once_whatever_fields_and_types_it_carries(
    make_sim, caplog, switches
):
    server = make_sim(records=2000, burst=0, extra_users=250, extra_queues=12, **switches)
    caplog.set_level(logging.INFO)
    result = run_all(server)
    assert_exactly_once(cdrs_only(result), server)
    assert_every_object_once(result, server)
    assert_records_fit_their_schema(result)
    said = warnings_of(caplog)
    assert not [line for line in said if "CDR" in line or "cannot be keyed" in line]
    if switches.get("directory_new_fields"):
        for stream, paths in NEW_FIELDS.items():
            last = [s["schema"] for s in result.schemas if s["stream"] == stream][-1]
            assert all(declares(last, path) for path in paths), stream
    if switches.get("directory_other_types"):
        # Reported once per field, naming the stream and the object; then counted.
        for stream, field in (
            ("users", "extension"),
            ("queues", "extension"),
            ("queue_members", "user.extension"),
        ):
            lines = [w for w in said if f": `{field}` should be string or null: got int" in w]
            lines = [w for w in lines if w.startswith(f"{stream} ")]
            assert len(lines) == 1, (stream, lines)
        queue = next(w for w in said if w.startswith("queues ") and "`id` is a number" in w)
        assert queue.endswith("converted to a number (further cases are counted, not logged)")
        for field in ("dial_level", "max_dial_time"):
            summary = f"Schema mismatches this run: campaigns: `{field}` is a number sent as a"
            assert len([w for w in said if w.startswith(summary)]) == 1, field


@pytest.mark.parametrize("mode", ["freeze", "fail"])
def test_the_schema_changes_setting_governs_the_directory_as_it_does_the_cdrs(
    make_sim, caplog, mode
):
    server = make_sim(records=1000, burst=0, directory_new_fields=True)
    caplog.set_level(logging.INFO)
    if mode == "freeze":
        result = run_all(server, schema_changes="freeze")
        assert_exactly_once(cdrs_only(result), server)
        for resource in LISTS:
            records = records_of(result, resource)
            assert {r["id"] for r in records} == server.simulator.directory.listed_now(resource)
            assert all("skills" not in r and "dialer_stats" not in r for r in records)
        dropped = [w for w in warnings_of(caplog) if "users: dropped new field `skills`" in w]
        assert len(dropped) == 1
        return
    result, tap = run_keeping_tap(tap_config(server, end_date=SHORT_END, schema_changes="fail"))
    assert_exactly_once(cdrs_only(result), server)  # every CDR, whatever the stop
    assert result.bookmark == SHORT_END.replace("Z", ".000Z")
    with pytest.raises(OptionalStreamError) as stop:
        tap.stop_on_optional_failures()  # what the CLI does at the end: exit code 1
    assert "Stream `users` failed reading GET /api/v4/users" in str(stop.value)
    assert "`schema_changes` is `fail`" in str(stop.value)


def run_keeping_tap(config: dict[str, Any]) -> tuple[Any, TapVoiso]:
    """A sync in-process of every stream: its messages, and the tap (for what failed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap = TapVoiso(config=config, catalog=catalog_selecting(config, *ALL))
        try:
            tap.sync_all()
        finally:
            tap.message_writer.flush()
    return parse_messages(out.getvalue()), tap


def cli_all(server, tmp_path, exit_code: int, **overrides):
    """`tap-voiso` run as a user would, every stream selected: its output, once it has
    exited with `exit_code` and emitted every CDR once, its bookmark at the range's end."""
    config = tap_config(server, end_date=SHORT_END, **overrides)
    catalog = write_json(tmp_path, catalog_selecting(config, *ALL), "catalog.json")
    run = run_cli(config, tmp_path, "--catalog", str(catalog))
    assert run.returncode == exit_code, run.stderr[-3000:]
    result = parse_messages(run.stdout)
    assert_exactly_once(cdrs_only(result), server)
    assert result.bookmark == SHORT_END.replace("Z", ".000Z")
    return run, result


def test_a_cluster_without_the_directory_endpoints_gets_every_cdr_and_one_warning_each(
    make_sim, tmp_path
):
    server = make_sim(records=2000, burst=0, absent_endpoints=["users", "campaigns"])
    run, result = cli_all(server, tmp_path, 0)
    directory = server.simulator.directory
    assert {r["id"] for r in records_of(result, "queues")} == directory.listed_now("queues")
    assert records_of(result, "queue_members")
    assert {s["stream"] for s in result.schemas} >= set(ALL)
    warnings = [text for level, text in log_records(run.stderr) if level == "WARNING"]
    for stream in ("users", "campaigns"):
        assert records_of(result, stream) == []
        said = [w for w in warnings if f"Stream `{stream}` skipped" in w]
        assert len(said) == 1, (stream, warnings)
        assert f"GET /api/v4/{stream} answers HTTP 404 Not Found" in said[0]
        assert (
            f"deselect the stream (Meltano: `meltano select tap-voiso --rm {stream} '*'`"
            in (said[0])
        )
    assert [level for level, _ in log_records(run.stderr) if level == "ERROR"] == []

    test = run_cli(tap_config(server), tmp_path, "--test")
    assert test.returncode == 0, test.stderr[-2000:]
    assert "Can the key read users: no list at /api/v4/users (HTTP 404)" in test.stderr
    assert "Can the key read campaigns: no list at /api/v4/campaigns (HTTP 404)" in test.stderr
    assert "Can the key read queues: yes" in test.stderr


def test_a_cluster_without_queues_at_all_still_gets_every_cdr(make_sim, tmp_path):
    # No queue list, no queue by id: the queues the CDRs named answer 404 one by one.
    server = make_sim(records=1500, burst=0, absent_endpoints=["queues"])
    _, result = cli_all(server, tmp_path, 0)
    assert records_of(result, "queues") == records_of(result, "queue_members") == []
    directory = server.simulator.directory
    assert {r["id"] for r in records_of(result, "users")} == directory.listed_now("users")


def test_a_404_on_the_cdr_endpoint_stays_a_stop_that_names_the_path(make_sim, tmp_path):
    server = make_sim(records=100, burst=0)
    config = tap_config(server, api_url=f"{server.url}/elsewhere", end_date=SHORT_END)
    run = run_cli(config, tmp_path)
    assert run.returncode == 1
    errors = [text for level, text in log_records(run.stderr) if level == "ERROR"]
    assert len(errors) == 1, errors
    assert "HTTP 404 Not Found from the Voiso API at /elsewhere/api/v4/reporting/cdrs" in errors[0]
    assert parse_messages(run.stdout).records == []


@pytest.mark.parametrize("failing", ["users", "campaigns"])
def test_a_directory_list_that_always_answers_503_ends_the_run_after_the_cdrs_and_their_state(
    make_sim, tmp_path, failing
):
    server = make_sim(records=2000, burst=0, failing_lists=[failing])
    run, result = cli_all(server, tmp_path, 1, max_tries=2)
    assert records_of(result, failing) == []
    directory = server.simulator.directory
    for other in set(LISTS) - {failing}:
        assert {r["id"] for r in records_of(result, other)} == directory.listed_now(other)
    errors = [text for level, text in log_records(run.stderr) if level == "ERROR"]
    named = f"Stream `{failing}` failed reading GET /api/v4/{failing}: Gave up after 2 tries"
    assert [e for e in errors if named in e], errors
    assert "HTTP 503" in errors[-1]
    assert "Every other stream was read and its STATE written" in errors[-1]


def test_whatever_order_the_sdk_runs_streams_in_a_failing_list_costs_no_cdr(make_sim, monkeypatch):
    # The SDK's own order (by name): `campaigns` runs before `cdrs`.
    monkeypatch.setattr(TapVoiso, "streams", Tap.streams)
    server = make_sim(records=2000, burst=0, failing_lists=["campaigns"])
    result, tap = run_keeping_tap(tap_config(server, end_date=SHORT_END, max_tries=2))
    assert next(iter(tap.streams)) == "calls"  # the order really was the SDK's
    kinds = [(m["type"], m.get("stream")) for m in result.messages]
    assert kinds.index(("SCHEMA", "campaigns")) < kinds.index(("RECORD", "cdrs"))
    assert_exactly_once(cdrs_only(result), server)
    assert result.bookmark == SHORT_END.replace("Z", ".000Z")
    for stream in set(DIRECTORY) - {"campaigns"}:
        assert records_of(result, stream), stream
    assert len(tap.optional_failures) == 1
    assert "Stream `campaigns` failed reading GET /api/v4/campaigns" in tap.optional_failures[0]


def test_the_cdr_streams_run_first(make_sim):
    server = make_sim(records=100, burst=0)
    names = list(TapVoiso(config=tap_config(server)).streams)
    assert names[:5] == ["calls", "cdrs", "conversations", "hlr_lookups", "sms_messages"]
    assert set(names[5:]) == set(DIRECTORY)
