"""Fields Voiso adds mid-run: declared before their first RECORD, dropped, or refused.

The simulator's `new_fields` switch adds a top-level `account_id` from the middle CDR
on, and to every 5th of those a `data.future_field` (an integer, then a fraction).
Every check compares with what the simulator serves, not with the tap's own view.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

from tests.conftest import (
    SyncResult,
    catalog_selecting,
    parse_messages,
    run_cli,
    run_tap,
    tap_config,
)


def lifted(cdr: dict[str, Any]) -> dict[str, Any]:
    """A CDR as a channel stream holds it: `data`'s fields at the top level."""
    return {**{k: v for k, v in cdr.items() if k != "data"}, **cdr["data"]}


def undeclared(record: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """The paths of `record`'s fields that `schema` does not declare, at any depth."""
    if isinstance(record, list):
        items = schema.get("items") or {}
        return [p for item in record for p in undeclared(item, items, f"{path}[]")]
    if not isinstance(record, dict) or "properties" not in schema:
        return []
    found = []
    for key, value in record.items():
        here = f"{path}.{key}" if path else key
        if key in schema["properties"]:
            found += undeclared(value, schema["properties"][key], here)
        else:
            found.append(here)
    return found


def declared_as_records_arrive(result: SyncResult, stream: str) -> list[dict[str, Any]]:
    """Each SCHEMA of `stream` in order; asserts every RECORD fits the SCHEMA before it."""
    schemas: list[dict[str, Any]] = []
    for message in result.messages:
        if message.get("stream") != stream:
            continue
        if message["type"] == "SCHEMA":
            schemas.append(message["schema"])
        elif message["type"] == "RECORD":
            assert schemas, "a RECORD before any SCHEMA"
            assert undeclared(message["record"], schemas[-1]) == [], message["record"]["id"]
    return schemas


def served(server, cdr_type: str | None = None) -> dict[str, dict[str, Any]]:
    cdrs = server.simulator.visible_records()
    if cdr_type is None:
        return {r["id"]: r for r in cdrs}
    return {r["id"]: lifted(r) for r in cdrs if r["type"] == cdr_type}


def test_new_fields_of_cdrs_are_declared_before_the_first_record_holding_them(make_sim):
    server = make_sim(records=5000, burst=0, new_fields=True)
    truth = served(server)
    result = run_tap(tap_config(server))
    schemas = declared_as_records_arrive(result, "cdrs")
    assert {r["id"]: r for r in result.records} == truth  # value for value, new fields too
    assert len(schemas) > 1
    assert "account_id" not in schemas[0]["properties"]
    final = schemas[-1]["properties"]
    assert final["account_id"]["type"] == ["string", "null"]
    # First seen as integers, later with a fraction: a number from the start, so that
    # no target has to change the column's type (and none rounds the fractions).
    future = [s["properties"]["data"]["properties"].get("future_field") for s in schemas]
    assert [f for f in future if f] == [{"type": ["number", "null"]}]
    with_future = [r["data"]["future_field"] for r in result.records if "future_field" in r["data"]]
    assert any(isinstance(v, int) for v in with_future)
    assert any(isinstance(v, float) for v in with_future)
    # Half the CDRs predate the new fields: the first SCHEMA came before any of them.
    first_new = next(i for i, r in enumerate(result.records) if "account_id" in r)
    assert first_new >= len(truth) // 2 - 1


def test_a_new_data_field_becomes_a_column_of_a_channel_stream(make_sim):
    server = make_sim(records=5000, burst=0, new_fields=True)
    config = tap_config(server)
    result = run_tap(config, catalog=catalog_selecting(config, "calls"))
    schemas = declared_as_records_arrive(result, "calls")
    calls = {r["id"]: r for r in result.records}
    assert calls == served(server, "call")
    final = schemas[-1]["properties"]
    assert final["future_field"] == {"type": ["number", "null"]}
    assert final["account_id"] == {"type": ["string", "null"]}
    assert "data" not in final
    assert any("future_field" in r for r in calls.values())


def test_a_field_widened_to_string_sends_every_later_value_as_text(make_sim):
    server = make_sim(records=2000, burst=0)

    def position(started_at: str) -> int | str:
        return "front" if "2026-01-20" <= started_at < "2026-01-22" else 3

    truth = {r["id"]: r["started_at"] for r in server.simulator.visible_records()}
    server.simulator.rewrite = lambda cdr: {**cdr, "queue_position": position(cdr["started_at"])}
    result = run_tap(tap_config(server, page_size=200))
    assert {r["id"]: r["started_at"] for r in result.records} == truth
    declared = ""
    seen = []
    for message in result.messages:
        if message["type"] == "SCHEMA":
            node = message["schema"]["properties"].get("queue_position", {})
            declared = "/".join(node.get("type", []))
        elif message["type"] == "RECORD":
            value = message["record"]["queue_position"]
            seen.append((declared, type(value).__name__))
    # Each value fits the type declared before it: integers first, text once widened.
    assert set(seen) == {("number/null", "int"), ("string/null", "str")}
    assert seen[0][0] == "number/null"
    assert seen[-1][0] == "string/null"
    after = [r for r in result.records if r["started_at"] >= "2026-01-22"]
    assert after
    assert all(r["queue_position"] == "3" for r in after)


def test_freeze_drops_new_fields_with_one_warning_per_field(make_sim, caplog):
    server = make_sim(records=5000, burst=0, new_fields=True)
    config = tap_config(server, schema_changes="freeze")
    caplog.set_level(logging.WARNING)
    cdrs = run_tap(config)
    calls = run_tap(config, catalog=catalog_selecting(config, "calls"))

    def without_new(cdr: dict[str, Any]) -> dict[str, Any]:
        cdr = copy.deepcopy(cdr)
        cdr.pop("account_id", None)
        cdr["data"].pop("future_field", None)
        return cdr

    truth = server.simulator.visible_records()
    assert {r["id"]: r for r in cdrs.records} == {r["id"]: without_new(r) for r in truth}
    assert {r["id"]: r for r in calls.records} == {
        r["id"]: lifted(without_new(r)) for r in truth if r["type"] == "call"
    }
    assert len(cdrs.schemas) == len(calls.schemas) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for stream, field in [
        ("cdrs", "account_id"),
        ("cdrs", "data.future_field"),
        ("calls", "account_id"),
        ("calls", "future_field"),
    ]:
        expected = f"{stream}: dropped new field `{field}`, which the schema does not declare"
        assert sum(w.startswith(expected) for w in warnings) == 1, (stream, field)


def test_fail_stops_the_run_naming_the_field_and_loses_nothing(make_sim, tmp_path):
    server = make_sim(records=5000, burst=0, new_fields=True)
    # Windows of 1,000 at most: several checkpoints come before the first new field.
    result = run_cli(tap_config(server, schema_changes="fail", window_records=1000), tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1
    assert "holds `account_id`, a field the schema does not declare" in errors[0]
    assert "`schema_changes` is `fail`" in errors[0]
    output = parse_messages(result.stdout)
    emitted = output.records
    assert emitted
    assert all("account_id" not in r for r in emitted)
    # The last bookmark covers only CDRs that were emitted: the next run loses none.
    bookmark = output.states[-1]["bookmarks"]["cdrs"]
    covered = {
        r["id"]
        for r in server.simulator.visible_records()
        if r["started_at"] < bookmark["replication_key_value"]
    }
    assert covered <= {r["id"] for r in emitted}


def select_properties(catalog: dict, stream: str, chosen: set[tuple[str, ...]]) -> dict:
    """`stream` selected with exactly the `chosen` property breadcrumbs (and their parents)."""
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            crumb = tuple(meta["breadcrumb"])
            if entry["tap_stream_id"] != stream:
                if crumb == ():
                    meta["metadata"]["selected"] = False
                continue
            names = crumb[1::2]
            meta["metadata"]["selected"] = crumb == () or any(
                c[: len(names)] == names for c in chosen
            )
    return catalog


def holds_only(record: dict[str, Any], chosen: set[tuple[str, ...]], prefix=()) -> bool:
    for key, value in record.items():
        here = (*prefix, key)
        if here in chosen:
            continue
        if not any(c[: len(here)] == here for c in chosen):
            return False
        if value is not None and not (isinstance(value, dict) and holds_only(value, chosen, here)):
            return False
    return True


@pytest.mark.parametrize(
    ("stream", "chosen"),
    [
        ("calls", {("id",), ("started_at",), ("durations", "talk"), ("user", "name")}),
        ("cdrs", {("id",), ("started_at",), ("type",), ("data", "durations", "talk")}),
    ],
)
def test_an_explicit_selection_is_all_that_reaches_stdout(make_sim, stream, chosen):
    # `drift` adds undeclared fields at every depth; `new_fields` adds some mid-run.
    server = make_sim(records=3000, burst=0, drift=True, new_fields=True)
    config = tap_config(server)
    catalog = select_properties(catalog_selecting(config, stream), stream, chosen)
    result = run_tap(config, catalog=catalog)
    assert len(result.records) == len(served(server, None if stream == "cdrs" else "call"))
    assert all(holds_only(r, chosen) for r in result.records)
    assert all(r["id"] and r["started_at"] for r in result.records)
    durations = [
        r.get("durations") or (r.get("data") or {}).get("durations") for r in result.records
    ]
    assert any("talk" in (d or {}) for d in durations)
    (schema,) = result.schemas  # nothing new declared: nobody selected it
    assert "account_id" not in schema["schema"]["properties"]


def test_a_catalog_schema_that_leaves_fields_out_lets_no_new_field_through(make_sim):
    server = make_sim(records=3000, burst=0, drift=True, new_fields=True)
    config = tap_config(server)
    catalog = catalog_selecting(config, "cdrs")
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == "cdrs")
    kept = {"id", "started_at", "type", "user"}
    entry["schema"]["properties"] = {
        k: v for k, v in entry["schema"]["properties"].items() if k in kept
    }
    result = run_tap(config, catalog=catalog)
    assert len(result.records) == 3000
    assert all(set(r) <= kept for r in result.records)
    (schema,) = result.schemas  # nothing declared beyond what the catalog keeps
    assert set(schema["schema"]["properties"]) == kept
    assert all("role" not in (r.get("user") or {}) for r in result.records)  # drift's user.role


def test_full_table_in_the_catalog_ignores_the_bookmark_and_reads_every_cdr(make_sim):
    server = make_sim(records=5000, burst=0)
    truth = served(server)
    config = tap_config(server)
    middle = sorted(r["started_at"] for r in truth.values())[len(truth) // 2]
    state = {
        "bookmarks": {"cdrs": {"replication_key": "started_at", "replication_key_value": middle}}
    }
    incremental = run_tap(config, state=copy.deepcopy(state))
    assert len(incremental.records) < len(truth)  # the bookmark counts without FULL_TABLE
    catalog = catalog_selecting(config, "cdrs")
    for entry in catalog["streams"]:
        entry["replication_method"] = "FULL_TABLE"
    result = run_tap(config, state=state, catalog=catalog)
    assert sorted(r["id"] for r in result.records) == sorted(truth)


def test_every_bookmark_has_the_readmes_format_whatever_the_state_given(make_sim):
    server = make_sim(records=3000, burst=0)
    config = tap_config(server, end_date=None)  # the run ends now: the signpost is the end
    catalog = catalog_selecting(config, "cdrs", "calls")
    first = run_tap(config, catalog=catalog)  # conftest checks every STATE's format
    assert set(first.states[-1]["bookmarks"]) == {"cdrs", "calls"}
    given = {
        "bookmarks": {
            "cdrs": {
                "replication_key": "started_at",
                "replication_key_value": "2026-07-01T07:17:34.096000+00:00",
            }
        }
    }
    again = run_tap(tap_config(server), state=given)  # past end_date: no window to read
    assert again.records == []
    assert again.bookmark == "2026-07-01T07:17:34.096Z"


def test_schema_test_gives_every_stream_its_whole_schema(make_sim, tmp_path):
    server = make_sim(records=2000, burst=0)
    result = run_cli(tap_config(server), tmp_path, "--test=schema")
    assert result.returncode == 0, result.stderr
    schemas = {m["stream"]: m["schema"] for m in map(json.loads, result.stdout.splitlines())}
    channels = {"calls": "call", "conversations": "conversation", "sms_messages": "sms"}
    channels["hlr_lookups"] = "hlr_lookup"
    directory = {"users", "campaigns", "queues", "queue_members"}
    assert set(schemas) == {"cdrs", *channels, *directory}
    for stream, cdr_type in channels.items():
        fields = {key for cdr in served(server, cdr_type).values() for key in cdr}
        assert fields <= set(schemas[stream]["properties"]), stream


@pytest.mark.parametrize(
    ("settings", "column"),
    [
        ({"stream_maps": {"cdrs": {"cost": None}}}, "account_id"),
        ({"flattening_enabled": True, "flattening_max_depth": 1}, "data__future_field"),
    ],
)
def test_stream_maps_and_flattening_see_the_new_fields(make_sim, settings, column):
    """The new field reaches the SCHEMA as the map or the flattening shapes it."""
    server = make_sim(records=4000, burst=0, new_fields=True)
    result = run_tap(tap_config(server, **settings))
    declared: set[str] = set()
    holding = 0
    for message in result.messages:
        if message["type"] == "SCHEMA":
            declared = set(message["schema"]["properties"])
            assert "cost" not in declared or "stream_maps" not in settings
        elif message["type"] == "RECORD" and message["record"].get(column) is not None:
            assert column in declared
            holding += 1
    assert column not in result.schemas[0]["schema"]["properties"]
    assert holding > 0
    assert len(result.records) == 4000
