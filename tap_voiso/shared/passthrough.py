"""The SDK bypass: pages of CDRs through the SDK's record loop, and the SDK internals it uses.

The SDK's sync loop (`Stream._sync_records`) handles one item at a time: post-process,
write its RECORD messages, move the bookmark, count it. Its per-record work was a
quarter of a run's time, and its bookkeeping moves the bookmark per record, trusting
an order the API does not promise. So here each item of the loop is a whole page:

- `RawPage`: the pass-through path (the default run), a page's RECORD lines written
  around the API's own bytes (`record_line_parts`), never decoded to dicts;
- `DictPage`: a page's records as dicts, for everything else (a selection, a catalog
  schema, stream maps, flattening, a page the fast check refused), each record through
  the SDK's steps: deselection, the catalog's removals, the stream maps;
- with a record limit (the SDK's dry run counts items), a `DictPage` per record.

Each page carries the time it was extracted. Windows, not records, move the
bookmark: `RecordPath.checkpoint` after each complete window, and
`RecordPath.last_checkpoint` for the final STATE of a run that stops.

SDK internals relied on, each pinned by `tests/test_sdk_internals.py` (which fails,
naming it, when an SDK release changes one):

- `Stream._generate_record_messages(record)`: overridden here (`RecordPath`), called
  by `_write_record_message` for each item;
- `Stream._increment_stream_state(record, context=...)`: overridden as a no-op;
- `Stream._stream_version`: the RECORD's `version`;
- `singer_sdk.helpers._catalog.pop_deselected_record_properties(record, schema, mask)`;
- the state layout behind the public `finalize_state_progress_markers`: a
  `progress_markers` dict holding `replication_key` and `replication_key_value` is
  promoted to the stream's bookmark, and one STATE is written;
- `_sync_records` calling, for each item, `_generate_record_messages`, then
  `_increment_stream_state`, then the record counter's `increment()` once, right after
  writing it (`PageCounter` counts a page as its CDRs);
- `Stream._tap`, the stream's tap (`tap_of`): its public `message_writer` is flushed
  when a sync ends (`get_sync_timer`, a public hook, returns `FlushingTimer`), and it
  holds the run's one connection to the API, which every stream shares;
- the SIGTERM/SIGINT handlers the SDK sets in `PluginBase._setup_signal_handlers`
  during `__init__`, which `signals.install` replaces after it.

The reading itself (windows, pages, checks) is the streams'; the writer that takes
`RawRecordMessage` is `output.py`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from types import TracebackType
from typing import Any, ClassVar

import msgspec
from singer_sdk import Stream, metrics
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.messages import RecordMessage

from tap_voiso.shared.output import RawRecordMessage, StateFlushingWriter


@dataclass(slots=True)
class RawPage:
    """A page's CDRs as RECORD lines around the API's bytes, in pieces for `os.writev`."""

    pieces: tuple[bytes, ...]
    count: int


@dataclass(slots=True)
class DictPage:
    """A page's records as dicts, and when the page arrived (their `time_extracted`)."""

    records: list[dict[str, Any]]
    extracted_at: datetime

    @property
    def count(self) -> int:
        """CDRs in the page."""
        return len(self.records)


def cdr_count(item: Any) -> int:
    """CDRs in one item of the record loop: a page's, or one for a plain record."""
    return item.count if type(item) in (RawPage, DictPage) else 1


def record_line_parts(stream: str, extracted_at: datetime) -> tuple[bytes, bytes]:
    """What goes before and after a record's bytes in its RECORD line.

    The same keys, order and `time_extracted` format as the SDK's RECORD message
    encoded by msgspec (`tests/test_output.py` compares the two).
    """
    head = b'{"type":"RECORD","stream":' + msgspec.json.encode(stream) + b',"record":'
    tail = b',"time_extracted":' + msgspec.json.encode(extracted_at) + b"}\n"
    return head, tail


def raw_page(stream: str, raws: list[msgspec.Raw], extracted_at: datetime) -> RawPage:
    """The RECORD lines of `raws`, the API's bytes of each record, as one item."""
    head, tail = record_line_parts(stream, extracted_at)
    return RawPage((head, (tail + head).join(raws), tail), len(raws))


def drop_removed(value: Any, catalog: dict[str, Any], own: dict[str, Any]) -> None:
    """Delete, in place, the properties `own` declares but the catalog's schema left out.

    A catalog that removes a property (an agent's e-mail, a phone number) means it
    must not reach the target.
    """
    if isinstance(value, list):
        for item in value:
            drop_removed(item, catalog.get("items") or {}, own.get("items") or {})
        return
    if not isinstance(value, dict):
        return
    kept, declared = catalog.get("properties") or {}, own.get("properties") or {}
    for key in [k for k in value if k in declared and k not in kept]:
        del value[key]
    for key, item in value.items():
        if key in kept and key in declared:
            drop_removed(item, kept[key], declared[key])


class PageCounter(metrics.Counter):
    """The SDK's record counter, for a record loop whose next item may be a page of CDRs."""

    def __init__(self, counter: metrics.Counter) -> None:
        super().__init__(counter.metric, counter.tags, log_interval=counter.log_interval)
        self.weight = 1  # CDRs in the item the loop has just written

    def increment(self, value: int = 1) -> None:
        """Count the item just written as the CDRs it held."""
        weight, self.weight = self.weight, 1
        super().increment(value * weight)


class FlushingTimer(metrics.Timer):
    """The SDK's sync timer, which also writes out the queued output when a sync ends.

    `output.StateFlushingWriter` writes at each STATE, and a stream's sync can end
    without one: the SDK writes a STATE only if the state changed since the last, so
    the records read after a window's checkpoint (up to a dry run's record limit, say)
    would wait in the queue and reach whatever reads stdout at exit, not this sync's.
    The timer is entered around the sync's records, and left however it ends.
    """

    def __init__(self, timer: metrics.Timer, flush: Callable[[], None]) -> None:
        super().__init__(timer.metric, timer.tags)
        self._flush = flush

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """Log the sync's duration, then write out what is queued."""
        try:
            super().__exit__(exc_type, exc_val, exc_tb)
        finally:
            self._flush()


def tap_of(stream: Stream) -> Any:
    """The stream's tap (`Stream._tap`, pinned): where the run's shared connection lives."""
    return stream._tap


class RecordPath(Stream):
    """The stream's side of the record loop: pages as items, windows as checkpoints."""

    # False: every record is an item of its own, for the SDK's unmodified record path
    # (tests compare the two).
    pages_as_items: ClassVar[bool] = True
    _record_counter: PageCounter  # the sync's counter (`get_record_counter`)

    def shape_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A record of this stream from the API's CDR (a channel stream lifts `data`)."""
        return record

    def page_items(self, records: list[dict[str, Any]], extracted_at: datetime) -> list[Any]:
        """A page's records (as dicts) as items of the SDK's record loop."""
        records = [self.shape_record(record) for record in records]
        if not self.pages_as_items:
            return records
        if self.ABORT_AT_RECORD_COUNT is not None:  # the dry run counts items
            return [DictPage([record], extracted_at) for record in records]
        return [DictPage(records, extracted_at)] if records else []

    @cached_property
    def all_selected(self) -> bool:
        """True when every property is selected (the catalog's default)."""
        return all(self.mask.values())

    @cached_property
    def catalog_removes(self) -> bool:
        """Whether the catalog's schema leaves out properties this stream's schema has."""
        return self.effective_schema != self.schema

    @cached_property
    def passes_through(self) -> bool:
        """Whether a RECORD can be the API's own bytes: nothing needs the record as a dict.

        True for the default run: every property selected, the stream's own schema,
        records shaped as the API sends them, no stream maps, no flattening, no record
        limit (the SDK's dry run counts items, and a page is one).
        """
        maps = self.stream_maps
        return (
            self.pages_as_items
            and self.ABORT_AT_RECORD_COUNT is None
            and self.all_selected
            and not self.catalog_removes
            and type(self).shape_record is RecordPath.shape_record
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == self.name
            and not maps[0].flattening_enabled
        )

    def get_record_counter(
        self, *, endpoint: str | None = None, log_interval: float = metrics.DEFAULT_LOG_INTERVAL
    ) -> metrics.Counter:
        """The SDK's counter, counting a page as the CDRs it holds."""
        counter = super().get_record_counter(endpoint=endpoint, log_interval=log_interval)
        self._record_counter = PageCounter(counter)
        return self._record_counter

    def get_sync_timer(self) -> metrics.Timer:
        """The SDK's timer, writing out the queued output at the sync's end (`FlushingTimer`)."""
        writer = tap_of(self).message_writer
        flush = writer.flush if isinstance(writer, StateFlushingWriter) else lambda: None
        return FlushingTimer(super().get_sync_timer(), flush)

    def _generate_record_messages(self, record: Any) -> Generator[RecordMessage, None, None]:
        """The RECORD messages of one item: a page's lines as they are, or its records.

        For a `DictPage`, the SDK's steps minus work that cannot change the output
        here: the walk that drops deselected properties only when something is
        deselected, no conformance (`TYPE_CONFORMANCE_LEVEL` is NONE), and
        `time_extracted` the time the page arrived rather than a clock read per record.
        tests/test_output.py checks the output against the SDK's.
        """
        if type(record) is RawPage:
            self._record_counter.weight = record.count
            yield RawRecordMessage(record.pieces)  # type: ignore[misc]
            return
        if type(record) is not DictPage:  # `pages_as_items` off: the SDK's own path
            yield from super()._generate_record_messages(record)
            return
        self._record_counter.weight = record.count
        for one in record.records:
            if not self.all_selected:
                pop_deselected_record_properties(one, self.schema, self.mask)
            if self.catalog_removes:
                drop_removed(one, self.effective_schema, self.schema)
            for stream_map in self.stream_maps:
                mapped = stream_map.transform(one)
                if mapped is not None:
                    yield RecordMessage(
                        stream=stream_map.stream_alias,
                        record=mapped,
                        version=self._stream_version,
                        time_extracted=record.extracted_at,
                    )

    def generate_child_contexts(
        self, record: dict[str, Any], context: Mapping[str, Any] | None
    ) -> Iterable[Mapping[str, Any] | None]:
        """None: CDR streams have no child streams (this spares a dict copy per item)."""
        return ()

    def _increment_stream_state(
        self, latest_record: dict, *, context: Mapping[str, Any] | None = None
    ) -> None:
        """Windows, not records, move this stream's bookmark (see `checkpoint`).

        The SDK's per-record bookkeeping would either trust the API's order (which
        the reference does not promise) or hold the bookmark back until the very end
        of a multi-hour backfill; checkpointing whole windows does neither.
        """

    def checkpoint(self, bookmark: str) -> None:
        """Move the bookmark to the end of a fully emitted window and emit STATE.

        Through the SDK's public `finalize_state_progress_markers`, which also drops the
        in-sync markers (signpost, starting value): every STATE has the standard shape.
        """
        state = self.stream_state
        state["progress_markers"] = {
            "replication_key": self.replication_key,
            "replication_key_value": bookmark,
        }
        self.finalize_state_progress_markers(state)

    def last_checkpoint(self) -> None:
        """A stopped run's state in the standard shape: the last complete window."""
        self.finalize_state_progress_markers(self.stream_state)
