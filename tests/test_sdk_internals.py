"""Pins of the Singer SDK internals the tap relies on (listed in `tap_voiso/shared/passthrough.py`).

Each test exercises the SDK itself, through a tiny tap of its own (not tap-voiso), so
an SDK release that renames, moves or changes one of these fails here, naming it,
rather than as a subtle change in the tap's output.
"""

from __future__ import annotations

import inspect
import io
import json
import signal
from collections.abc import Iterable, Mapping
from contextlib import redirect_stdout
from typing import Any

import singer_sdk.helpers._catalog as sdk_catalog
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers._state import PROGRESS_MARKERS
from singer_sdk.singerlib.messages import RecordMessage

EVENTS: list[str] = []


class _Pinned(Stream):
    name = "pinned"
    primary_keys = ("id",)
    replication_key = "at"
    schema = th.PropertiesList(
        th.Property("id", th.IntegerType), th.Property("at", th.StringType)
    ).to_dict()

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        for i in range(3):
            EVENTS.append(f"yield {i}")
            yield {"id": i, "at": f"2026-01-0{i + 1}T00:00:00.000Z"}

    def _generate_record_messages(self, record: dict) -> Iterable[RecordMessage]:
        EVENTS.append(f"write {record['id']}")
        yield from super()._generate_record_messages(record)

    def _increment_stream_state(self, latest_record: dict, *, context: Any = None) -> None:
        EVENTS.append(f"bookmark {latest_record['id']}")
        super()._increment_stream_state(latest_record, context=context)


class _PinnedTap(Tap):
    name = "tap-pinned"
    config_jsonschema = th.PropertiesList().to_dict()

    def discover_streams(self) -> list[Stream]:
        return [_Pinned(self)]


def _sync() -> tuple[_PinnedTap, list[dict[str, Any]]]:
    EVENTS.clear()
    tap = _PinnedTap(config={})
    stream = tap.streams["pinned"]
    counter = stream.get_record_counter

    def counting_counter(**kwargs: Any) -> Any:
        real = counter(**kwargs)
        increment = real.increment

        def increment_logged(value: int = 1) -> None:
            EVENTS.append("count")
            increment(value)

        real.increment = increment_logged  # type: ignore[method-assign]
        return real

    stream.get_record_counter = counting_counter  # type: ignore[method-assign]
    out = io.StringIO()
    with redirect_stdout(out):
        tap.sync_all()
    return tap, [json.loads(line) for line in out.getvalue().splitlines()]


def test_the_record_loop_writes_then_bookmarks_then_counts_each_item_once():
    """`_sync_records`: per item, `_generate_record_messages`, `_increment_stream_state`,
    then one `increment()` of the record counter (`get_record_counter`), in that order."""
    _sync()
    per_item = [event for event in EVENTS if not event.startswith("yield")]
    assert per_item == [
        f"{step} {i}" if step != "count" else "count"
        for i in range(3)
        for step in ("write", "bookmark", "count")
    ]


def test_record_messages_carry_the_streams_version_attribute():
    """`_stream_version`, set on every stream, is the RECORD's `version`."""
    tap, messages = _sync()
    stream = tap.streams["pinned"]
    assert "_stream_version" in vars(stream)
    records = [m for m in messages if m["type"] == "RECORD"]
    assert [r["record"]["id"] for r in records] == [0, 1, 2]
    assert all(r.get("version") == stream._stream_version for r in records)


def test_pop_deselected_record_properties_drops_what_the_mask_deselects():
    """`helpers._catalog.pop_deselected_record_properties(record, schema, mask)`."""
    signature = inspect.signature(sdk_catalog.pop_deselected_record_properties)
    assert list(signature.parameters)[:3] == ["record", "schema", "mask"]
    tap = _PinnedTap(config={})
    stream = tap.streams["pinned"]
    mask = dict(stream.mask)
    mask["properties", "at"] = False
    record = {"id": 1, "at": "x"}
    sdk_catalog.pop_deselected_record_properties(record, stream.schema, mask)
    assert record == {"id": 1}


def test_finalize_state_progress_markers_promotes_the_markers_the_tap_writes():
    """The layout `RecordPath.checkpoint` writes (`progress_markers` with the key and its value)
    becomes the standard bookmark, and one STATE message goes out."""
    tap = _PinnedTap(config={})
    stream = tap.streams["pinned"]
    state = stream.stream_state
    state[PROGRESS_MARKERS] = {
        "replication_key": "at",
        "replication_key_value": "2026-01-02T00:00:00.000Z",
    }
    out = io.StringIO()
    with redirect_stdout(out):
        stream.finalize_state_progress_markers(state)
    assert state == {"replication_key": "at", "replication_key_value": "2026-01-02T00:00:00.000Z"}
    (message,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert message["type"] == "STATE"
    assert message["value"]["bookmarks"]["pinned"] == state


def test_a_stream_holds_its_tap_as_underscore_tap():
    """`Stream._tap`: `RecordPath.get_sync_timer` flushes the tap's `message_writer`."""
    tap = _PinnedTap(config={})
    assert tap.streams["pinned"]._tap is tap


def test_the_sdk_installs_its_signal_handlers_in_setup_signal_handlers():
    """`_setup_signal_handlers` (called from the plugin's `__init__`) owns SIGTERM and
    SIGINT; the tap's `signals.install` replaces them after the SDK has set them."""
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        tap = _PinnedTap(config={})
        for signum in before:
            handler = signal.getsignal(signum)
            assert getattr(handler, "__func__", None) is type(tap)._handle_termination
        called: list[bool] = []
        original = _PinnedTap._setup_signal_handlers
        _PinnedTap._setup_signal_handlers = lambda self: called.append(True)  # type: ignore[method-assign]
        try:
            _PinnedTap(config={})
        finally:
            _PinnedTap._setup_signal_handlers = original  # type: ignore[method-assign]
        assert called == [True]
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
