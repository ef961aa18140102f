"""The fast paths emit exactly what the SDK's plain path emits.

The default run passes the API's bytes through; deselection, stream maps and a page
that fails the schema check take the record-by-record path.
"""

from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timedelta

import pytest
from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.io_base import SingerWriter

from tap_voiso.cdrs.streams import CdrsStream
from tap_voiso.tap import TapVoiso
from tests.conftest import (
    catalog_selecting,
    parse_messages,
    run_cli,
    run_tap,
    singer_lines,
    tap_config,
)


class PlainCdrsStream(CdrsStream):
    """The SDK's own record path: selection walk, recursive conformance, a clock per record."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.RECURSIVE
    pages_as_items = False  # every record an item of its own, as the SDK has it
    _generate_record_messages = Stream._generate_record_messages
    generate_child_contexts = Stream.generate_child_contexts


class PlainTap(TapVoiso):
    """simplejson, flushed after every message; one window at a time."""

    message_writer_class = SingerWriter

    def discover_streams(self) -> list[Stream]:
        return [PlainCdrsStream(self)]


def run_plain(config, catalog=None):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        PlainTap(config={**config, "concurrency": 1}, catalog=catalog).sync_all()
    return parse_messages(out.getvalue())


def test_records_are_identical_value_for_value_to_the_plain_path(make_sim):
    server = make_sim(records=4000, burst=500, drift=True)  # unknown fields and a 5th type too
    config = tap_config(server, window_records=1000)
    fast, plain = run_tap(config), run_plain(config)
    assert fast.records == plain.records
    assert fast.states[-1] == plain.states[-1]
    assert [m["schema"] for m in fast.schemas] == [m["schema"] for m in plain.schemas]
    # time_extracted: when the record's page arrived, an aware UTC time ("...Z").
    for message in (m for m in fast.messages if m["type"] == "RECORD"):
        extracted = datetime.fromisoformat(message["time_extracted"].replace("Z", "+00:00"))
        assert extracted.utcoffset() == timedelta(0)


def test_deselected_fields_are_dropped_on_both_paths(make_sim):
    server = make_sim(records=500, burst=0)
    config = tap_config(server)
    catalog = catalog_selecting(config, "cdrs")
    (cdrs,) = [s for s in catalog["streams"] if s["tap_stream_id"] == "cdrs"]
    for entry in cdrs["metadata"]:
        if entry["breadcrumb"] in (["properties", "data"], ["properties", "user"]):
            entry["metadata"]["selected"] = False
    fast = run_tap(config, catalog=json.loads(json.dumps(catalog)))
    plain = run_plain(config, catalog=catalog)
    assert fast.records == plain.records
    assert all("data" not in r and "user" not in r for r in fast.records)
    assert len(fast.records) == 500


def test_stream_maps_apply_on_the_fast_path(make_sim):
    server = make_sim(records=300, burst=0)
    config = tap_config(server, stream_maps={"cdrs": {"__filter__": "type == 'sms'", "cost": None}})
    fast, plain = run_tap(config), run_plain(config)
    assert fast.records == plain.records
    assert fast.records
    assert all(r["type"] == "sms" and "cost" not in r for r in fast.records)


def test_the_default_run_passes_the_apis_own_bytes_through(make_sim, tmp_path):
    """Each RECORD line holds the record exactly as the API wrote it, byte for byte."""
    server = make_sim(records=3000, burst=300, drift=True)
    result = run_cli(tap_config(server, window_records=1000), tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    dataset = server.simulator.dataset
    served = {
        dataset.ids[pos]: server.simulator.render(pos).decode() for pos in range(len(dataset))
    }
    lines = [line for line in singer_lines(result.stdout) if line.startswith('{"type":"RECORD"')]
    assert len(lines) == len(served)
    for line in lines:
        record_id = json.loads(line)["record"]["id"]
        head = '{"type":"RECORD","stream":"cdrs","record":'
        assert line.startswith(head + served[record_id] + ',"time_extracted":"')


def test_a_page_that_fails_the_schema_check_takes_the_sdk_path(make_sim, caplog):
    server = make_sim(records=200, burst=0)
    server.simulator.rewrite = lambda r: {**r, "cost": "0.5"} if r["type"] == "sms" else r
    result = run_tap(tap_config(server))
    assert {r["cost"] for r in result.records if r["type"] == "sms"} == {0.5}  # converted
    assert "`cost` is a number sent as a string" in caplog.text
    assert len(result.records) == 200


def record_count_metrics(stderr: str, stream: str) -> list[int]:
    """The values of the SDK's `record_count` METRIC lines for `stream`."""
    values = []
    for line in stderr.splitlines():
        if "METRIC: " in line and '"record_count"' in line:
            point = json.loads(line.split("METRIC: ", 1)[1])
            if point["tags"]["stream"] == stream:
                values.append(point["value"])
    return values


@pytest.mark.parametrize("path", ["pass-through", "dicts"])
def test_the_record_count_metric_counts_each_cdr_of_a_page(make_sim, tmp_path, path):
    # Pages of 1,000, 1,000 and 345 CDRs reach the SDK's record loop as three items:
    # `RawPage`s by default, `DictPage`s with a stream map (records needed as dicts).
    server = make_sim(records=2345, burst=0)
    maps = {"stream_maps": {"cdrs": {"tagged": "1"}}} if path == "dicts" else {}
    result = run_cli(tap_config(server, **maps), tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count('{"type":"RECORD"') == 2345
    assert sum(record_count_metrics(result.stderr, "cdrs")) == 2345


def test_a_dry_run_stops_at_its_record_limit(make_sim):
    """The SDK's dry run counts items of its record loop: pages must not pass as one."""
    server = make_sim(records=2500, burst=0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap = TapVoiso(config=tap_config(server))
        tap.run_sync_dry_run(dry_run_record_limit=7, streams=[tap.streams["cdrs"]])
        tap.message_writer.flush()
    records = parse_messages(out.getvalue()).records
    served = {server.simulator.dataset.ids[pos] for pos in range(2500)}
    assert len(records) == 7
    assert {r["id"] for r in records} <= served


def test_a_sync_that_ends_after_a_checkpoint_writes_its_records_before_it_returns(make_sim):
    """The writer flushes at each STATE; a sync ending between two (a dry run's limit) flushes too.

    Windows of about 500 CDRs and a limit of 700: a STATE after the first window, then
    about 200 records that no STATE follows. They belong to this sync's stdout, not to
    whatever reads stdout when the process exits.
    """
    server = make_sim(records=2500, burst=0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap = TapVoiso(config=tap_config(server, window_records=1000))
        tap.run_sync_dry_run(dry_run_record_limit=700, streams=[tap.streams["cdrs"]])
    result = parse_messages(out.getvalue())
    assert len(result.records) == 700
    assert result.bookmarks  # a window's checkpoint came before the limit
    assert result.messages[-1]["type"] == "RECORD"
