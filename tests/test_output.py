"""The fast path emits exactly what the SDK's plain path emits."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timedelta

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.io_base import SingerWriter

from tap_voiso.streams import CdrsStream
from tap_voiso.tap import TapVoiso
from tests.conftest import catalog_selecting, parse_messages, run_tap, tap_config


class PlainCdrsStream(CdrsStream):
    """The SDK's own record path: selection walk, recursive conformance, a clock per record."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.RECURSIVE
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
