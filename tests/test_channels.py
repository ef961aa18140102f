"""Per-channel streams: calls, conversations, sms_messages, hlr_lookups."""

from __future__ import annotations

import logging
from collections import Counter

import jsonschema
import pytest

from tap_voiso.cdrs.schemas import DATA_BY_TYPE
from tap_voiso.cdrs.streams import CHANNEL_STREAMS
from tap_voiso.tap import TapVoiso
from tests.conftest import catalog_selecting, queries, run_tap, tap_config

CHANNELS = {stream.name: stream.cdr_type for stream in CHANNEL_STREAMS}


def run_selected(config, *names, state=None):
    return run_tap(config, state=state, catalog=catalog_selecting(config, *names))


def by_stream(result):
    streams: dict[str, list[dict]] = {}
    for message in result.messages:
        if message["type"] == "RECORD":
            streams.setdefault(message["stream"], []).append(message["record"])
    return streams


def lifted(record):
    flat = {k: v for k, v in record.items() if k != "data"}
    flat.update(record["data"])
    return flat


def test_the_full_data_set_lands_in_the_right_stream_schema_valid(shared_sim):
    served = shared_sim.simulator.visible_records()
    result = run_selected(tap_config(shared_sim), "cdrs", *CHANNELS)
    streams = by_stream(result)
    schemas = {m["stream"]: m["schema"] for m in result.schemas}
    assert set(streams) == {"cdrs", *CHANNELS}
    for name, cdr_type in CHANNELS.items():
        expected = {r["id"]: lifted(r) for r in served if r["type"] == cdr_type}
        got = streams[name]
        assert Counter(r["id"] for r in got) == Counter(list(expected))  # each exactly once
        assert {r["id"]: r for r in got} == expected  # values as the API sent them
        validator = jsonschema.Draft7Validator(
            schemas[name], format_checker=jsonschema.FormatChecker()
        )
        assert [e.message for r in got for e in validator.iter_errors(r)] == []


@pytest.mark.parametrize(("name", "cdr_type"), sorted(CHANNELS.items()))
def test_each_schema_holds_its_own_fields_and_no_others(name, cdr_type):
    schema = TapVoiso(config={"api_key": "k", "cluster_id": "acme"}).streams[name].schema
    props = set(schema["properties"])
    own = {p.name for p in DATA_BY_TYPE[cdr_type]}
    others = {p.name for t, fields in DATA_BY_TYPE.items() if t != cdr_type for p in fields} - own
    assert own <= props
    assert not (others & props)
    assert "data" not in props
    assert {"id", "type", "started_at", "ended_at", "from", "to", "user", "cost"} <= props
    assert schema["additionalProperties"] is True


def test_each_stream_asks_the_api_for_its_type_only(make_sim):
    server = make_sim(records=2000, burst=0)
    run_selected(tap_config(server, types=["call", "sms"]), "calls", "sms_messages")
    types_sent = Counter(tuple(query["type[]"]) for query in queries(server))
    assert set(types_sent) == {("call",), ("sms",)}


def test_a_types_setting_that_leaves_a_channel_out_empties_it_with_a_reason(make_sim, caplog):
    server = make_sim(records=1000, burst=0)
    with caplog.at_level(logging.INFO):
        result = run_selected(tap_config(server, types=["call"]), "calls", "sms_messages")
    streams = by_stream(result)
    assert "sms_messages" not in streams
    assert streams["calls"]
    assert (
        "Stream 'sms_messages' is empty: the `types` setting ['call'] leaves out 'sms'"
        in caplog.text
    )
    assert all("type%5B%5D=sms" not in path for path in server.simulator.requests)


def test_each_channel_keeps_its_own_bookmark(make_sim):
    server = make_sim(records=1500, burst=0)
    config = tap_config(server)
    first = run_selected(config, "calls")
    bookmarks = first.states[-1]["bookmarks"]
    assert set(bookmarks) == {"calls"}
    state = {"bookmarks": {"calls": bookmarks["calls"]}}
    second = run_selected(config, "calls", "conversations", state=state)
    final = second.states[-1]["bookmarks"]
    assert (
        final["calls"]["replication_key_value"] == final["conversations"]["replication_key_value"]
    )
    streams = by_stream(second)
    assert "calls" not in streams  # caught up: no late CDRs, no new ones
    assert len(streams["conversations"]) == sum(
        r["type"] == "conversation" for r in server.simulator.visible_records()
    )


def test_unknown_fields_still_reach_the_target(make_sim):
    server = make_sim(records=400, burst=0, drift=True)
    streams = by_stream(run_selected(tap_config(server), "calls"))
    assert streams["calls"]
    assert all(r["sentiment"]["label"] == "positive" for r in streams["calls"])  # a new top field
    assert all(r["ai_summary_version"] == 3 for r in streams["calls"])  # a new data field, lifted


def test_only_cdrs_is_selected_by_default():
    tap = TapVoiso(config={"api_key": "k", "cluster_id": "acme"})
    assert [name for name, stream in tap.streams.items() if stream.selected] == ["cdrs"]
