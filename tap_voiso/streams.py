"""The `cdrs` stream: a run's time range, read window by window, page by page.

The data path, in order: `sync_ranges` (settings and bookmark -> the late CDRs
and the new ones), `get_records` (each range -> windows, read by
`scheduler.read_windows`, several at once but handed over in order; each window's
pages by `chain.Chain`),
`_fresh_records` (a page -> checked, de-duplicated records), `_checkpoint` (a
finished window -> STATE).
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable, Iterator, Mapping
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar

from singer_sdk import metrics
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.messages import RecordMessage

from tap_voiso import settings
from tap_voiso.chain import PageRead, WindowDone
from tap_voiso.client import VoisoStream
from tap_voiso.errors import OneLinePerStop, StateError
from tap_voiso.output import RawRecordMessage, record_line_parts
from tap_voiso.pages import PageToken
from tap_voiso.planner import Planner
from tap_voiso.progress import Progress
from tap_voiso.records import RecordChecker, drop_removed
from tap_voiso.scheduler import read_windows
from tap_voiso.schemas import DATA_BY_TYPE, cdr_schema, channel_schema, lifted_name
from tap_voiso.signals import INTERRUPT
from tap_voiso.windows import EARLIEST, Window, iso_ms, to_ms

# The shape of a CDR as the API sends it, which every page is checked against.
API_SCHEMA = cdr_schema()
ONE_LINE_PER_STOP = OneLinePerStop()


class RawPage(dict):  # type: ignore[type-arg]
    """A page's CDRs on the pass-through path: their RECORD lines, around the API's bytes.

    A dict (empty) only so that it travels through the SDK's record loop, as one item
    rather than one per CDR: that loop's per-record work was a quarter of a run's time.
    `_generate_record_messages` hands the lines to the writer as they are, and the
    record counter (`PageCounter`) counts the item as `count` records.
    """

    __slots__ = ("count", "pieces")

    def __init__(self, pieces: tuple[bytes, ...], count: int) -> None:
        super().__init__()
        self.pieces = pieces  # the lines, in pieces (see `output.RawRecordMessage`)
        self.count = count


class PageCounter(metrics.Counter):
    """The SDK's record counter, for a record loop whose next item may be a page of CDRs."""

    def __init__(self, counter: metrics.Counter) -> None:
        super().__init__(counter.metric, counter.tags, log_interval=counter.log_interval)
        self.weight = 1  # records in the item the loop is about to count

    def increment(self, value: int = 1) -> None:
        """Count the item just written as the records it held."""
        weight, self.weight = self.weight, 1
        super().increment(value * weight)


class CdrsStream(VoisoStream):
    """Every CDR, all types, incremental on `started_at`."""

    name = "cdrs"
    primary_keys = ("id",)
    replication_key = "started_at"
    schema = API_SCHEMA
    # Records arrive as parsed JSON that already has the schema's types; conformance
    # would only cost time and drop fields Voiso adds (tests/test_output.py compares).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    _record_counter: PageCounter  # the sync's counter (`get_record_counter`)

    @property
    def window_records(self) -> int:
        """Most CDRs one window may hold before it is split."""
        return int(self.config.get("window_records", settings.DEFAULT_WINDOW_RECORDS))

    def sync_ranges(self) -> tuple[Window | None, Window]:
        """This run's two reads: late CDRs (None on a first run), then new ones.

        The run ends at `end_date` or the run's start, whichever is earlier. New CDRs
        are those with `started_at` from the bookmark (or `start_date`, or `EARLIEST`)
        to that end. Late CDRs started before the bookmark but ended at or after
        bookmark minus `lookback_minutes`: what the previous run could not yet see
        (a CDR still open, or listed some minutes after it ended), however long ago it
        started. The lookback is only the margin for the API's listing delay.
        """
        # The signpost is the run's start time, frozen when the sync began.
        started = self.get_replication_key_signpost(None)
        assert isinstance(started, datetime)  # noqa: S101 (a timestamp key always has one)
        end, started_ms = started, to_ms(started)
        if self.config.get("end_date"):
            end = min(end, settings.parse_datetime(self.config["end_date"]))
        end_ms = to_ms(end)
        floor_ms = to_ms(EARLIEST)
        if self.config.get("start_date"):
            floor_ms = to_ms(settings.parse_datetime(self.config["start_date"]))
        bookmark = self.stream_state.get("replication_key_value")
        if not bookmark:
            return None, Window(floor_ms, max(floor_ms, end_ms))
        bookmark_ms = to_ms(settings.parse_datetime(bookmark))
        if bookmark_ms > started_ms:
            raise StateError(self._future_bookmark(bookmark, started_ms))
        start_ms = max(floor_ms, bookmark_ms)
        lookback_ms = (
            int(self.config.get("lookback_minutes", settings.DEFAULT_LOOKBACK_MINUTES)) * 60_000
        )
        late = Window(floor_ms, min(bookmark_ms, end_ms), max(0, bookmark_ms - lookback_ms))
        return (None if late.empty else late), Window(start_ms, max(start_ms, end_ms))

    def _future_bookmark(self, bookmark: str, started_ms: int) -> str:
        """Why a bookmark later than the run's start stops the run, and how to reset it.

        No run can have written it (a bookmark is the end of a window read, never past
        the time its run started). Read on, the run would read nothing and exit 0, and
        so would every run after it until the clock caught up. A bookmark past
        `end_date` alone is no such sign: that run reads the late CDRs up to `end_date`.
        """
        return (
            f"The bookmark of stream `{self.name}` is {bookmark}, later than the time this "
            f"run started ({iso_ms(started_ms)}): no run wrote it, and no CDR after it would "
            "ever be read. Reset the state: `meltano state clear <state id>` (the next run "
            "starts from `start_date`), or pass `--state` with an earlier bookmark."
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The SDK's stream, whose logger says a known stop in one line (`OneLinePerStop`)."""
        super().__init__(*args, **kwargs)
        self.logger.addFilter(ONE_LINE_PER_STOP)

    def probe(self) -> int | None:
        """One request over the whole configured range: what the key can see (`--test`)."""
        late, new = self.sync_ranges()
        window = new if late is None else Window(late.start_ms, new.end_ms)
        page = self.fetch_page(PageToken(window), threading.Event())
        return page.total

    @cached_property
    def checker(self) -> RecordChecker:
        """Checks each page against the API's record schema."""
        return RecordChecker(API_SCHEMA, self.logger)

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """Read late CDRs, then new ones, in windows, emitting and checkpointing in order.

        Late CDRs come first and move no bookmark: a run stopped while reading them
        reads them again. Each finished window of new CDRs is a checkpoint.
        """
        late, new = self.sync_ranges()
        at_once = (
            "one request at a time" if self.concurrency == 1 else f"{self.concurrency} at a time"
        )
        if late is not None:
            self.logger.info("Reading late CDRs: started_at in %s", late)
            yield from self._read_range(late, f"{self.name} (late CDRs)", checkpoint=False)
        self.logger.info("Reading new CDRs: started_at in %s, %s", new, at_once)
        yield from self._read_range(new, self.name, checkpoint=True)
        self.checker.log_summary()

    def _read_range(
        self, full: Window, label: str, *, checkpoint: bool
    ) -> Iterator[dict[str, Any]]:
        """The CDRs of `full`, window by window; `checkpoint` moves the bookmark after each."""
        planner = Planner(page_size=self.page_size, window_records=self.window_records)
        interval = float(self.config.get("progress_seconds", settings.DEFAULT_PROGRESS_SECONDS))
        progress = Progress(label, self.logger, interval)
        events = read_windows(
            self,
            full,
            planner,
            self.concurrency,
            self.logger.debug,
            interrupt=INTERRUPT,
            warn=self.logger.warning,
            on_total=progress.expect,
        )
        for event in events:
            if isinstance(event, WindowDone):
                self.logger.debug("%s done: %d CDRs", event.window, event.received)
                if checkpoint:
                    self._checkpoint(event.window)
                continue
            self._extracted_at = event.page.extracted_at
            records = self._fresh_records(event)
            yield from records
            count = sum(r.count if type(r) is RawPage else 1 for r in records)
            progress.add(count, self.stream_state.get("replication_key_value"))
        progress.finish(self.stream_state.get("replication_key_value"))

    def _fresh_records(self, event: PageRead) -> list[dict[str, Any]]:
        """A page's CDRs the window had not delivered yet, checked against the schema."""
        if event.repeats:
            self.logger.warning(
                "%d CDR(s) the API returned twice in %s were emitted once",
                event.repeats,
                event.window,
            )
        if self._passes_through and self.checker.page_is_valid(event.page.body):
            head, tail = record_line_parts(self.name, event.page.extracted_at)
            raws = event.page.raw_records()
            if not all(event.fresh):
                raws = [raw for raw, fresh in zip(raws, event.fresh, strict=True) if fresh]
            if not raws:
                return []
            return [RawPage((head, (tail + head).join(raws), tail), len(raws))]
        records = event.page.records()
        if not all(event.fresh):
            records = [record for record, fresh in zip(records, event.fresh, strict=True) if fresh]
        return self.checker.check_page(records)

    def _checkpoint(self, window: Window) -> None:
        """Move the bookmark to the end of a fully emitted window and emit STATE.

        Through the SDK's public `finalize_state_progress_markers`, which also drops the
        in-sync markers (signpost, starting value): every STATE has the standard shape.
        """
        state = self.stream_state
        state["progress_markers"] = {
            "replication_key": self.replication_key,
            "replication_key_value": iso_ms(window.end_ms),
        }
        self.finalize_state_progress_markers(state)

    def get_record_counter(
        self, *, endpoint: str | None = None, log_interval: float = metrics.DEFAULT_LOG_INTERVAL
    ) -> metrics.Counter:
        """The SDK's counter, counting a pass-through page as the CDRs it holds."""
        counter = super().get_record_counter(endpoint=endpoint, log_interval=log_interval)
        self._record_counter = PageCounter(counter)
        return self._record_counter

    @cached_property
    def _all_selected(self) -> bool:
        """True when every property is selected (the catalog's default)."""
        return all(self.mask.values())

    @cached_property
    def _catalog_removes(self) -> bool:
        """Whether the catalog's schema leaves out properties this stream's schema has."""
        return self.effective_schema != self.schema

    @cached_property
    def _passes_through(self) -> bool:
        """Whether a RECORD can be the API's own bytes: nothing needs the record as a dict.

        True for the default run: every property selected, the stream's own schema,
        no stream maps, no flattening, no post-processing, no record limit (the SDK's
        dry run counts items of its loop, and a page is one). Anything else takes the
        SDK's path, record by record.
        """
        maps = self.stream_maps
        return (
            self.ABORT_AT_RECORD_COUNT is None
            and self._all_selected
            and not self._catalog_removes
            and type(self).post_process is CdrsStream.post_process
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == self.name
            and not maps[0].flattening_enabled
        )

    def _generate_record_messages(self, record: dict) -> Generator[RecordMessage, None, None]:
        """The SDK's record path, minus work that cannot change the output here.

        Same as the SDK's, except that: the per-record walk that drops deselected
        properties is skipped when nothing is deselected; conformance is not called
        (`TYPE_CONFORMANCE_LEVEL` is NONE, so it would return the record as is); and
        `time_extracted` is the time the record's page arrived rather than a clock
        read per record. A pass-through page (`RawPage`) is its RECORD lines already.
        tests/test_output.py checks the output against the SDK's.
        """
        if type(record) is RawPage:
            self._record_counter.weight = record.count
            yield RawRecordMessage(record.pieces)  # type: ignore[misc]
            return
        if not self._all_selected:
            pop_deselected_record_properties(record, self.schema, self.mask)
        if self._catalog_removes:
            drop_removed(record, self.effective_schema, self.schema)
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=self._extracted_at,
                )

    def generate_child_contexts(
        self, record: dict[str, Any], context: Mapping[str, Any] | None
    ) -> Iterable[Mapping[str, Any] | None]:
        """None: CDR streams have no child streams (this spares a dict copy per record)."""
        return ()

    def _increment_stream_state(
        self, latest_record: dict, *, context: Mapping[str, Any] | None = None
    ) -> None:
        """Windows, not records, move this stream's bookmark (see `_checkpoint`).

        The SDK's per-record bookkeeping would either trust the API's order (which
        the reference does not promise) or hold the bookmark back until the very end
        of a multi-hour backfill; checkpointing whole windows does neither.
        """


class ChannelStream(CdrsStream):
    """The CDRs of one type, fetched with the API's `type` filter, `data` lifted to the top.

    Everything else (windows, paging, retries, parallel readers, checks,
    checkpoints) is `CdrsStream`'s; each channel keeps a bookmark of its own.
    Not selected by default: with `cdrs` they would read every CDR twice, so a
    catalog (Meltano's `select`) opts into them.
    """

    cdr_type: ClassVar[str]
    selected_by_default = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Each channel's schema follows from its CDR type."""
        super().__init_subclass__(**kwargs)
        cls.schema = channel_schema(cls.cdr_type)

    def get_url_params(
        self, context: Mapping[str, Any] | None, next_page_token: PageToken | None
    ) -> dict[str, Any]:
        """The stream's own type in place of the `types` setting."""
        params = super().get_url_params(context, next_page_token)
        params["type[]"] = [self.cdr_type]
        return params

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """Nothing at all when the `types` setting leaves this channel out."""
        wanted = self.config.get("types")
        if wanted and self.cdr_type not in wanted:
            self.logger.info(
                "Stream '%s' is empty: the `types` setting %s leaves out '%s'",
                self.name,
                wanted,
                self.cdr_type,
            )
            return
        yield from super().get_records(context)

    def post_process(
        self, row: dict[str, Any], context: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Lift the fields of `data` to the top level, values untouched."""
        data = row.get("data")
        if isinstance(data, dict):
            del row["data"]
            for key, value in data.items():
                row[lifted_name(key)] = value
        return row


class CallsStream(ChannelStream):
    """Voice calls."""

    name, cdr_type = "calls", "call"


class ConversationsStream(ChannelStream):
    """Messaging conversations (WhatsApp, Telegram, web chat, ...)."""

    name, cdr_type = "conversations", "conversation"


class SmsMessagesStream(ChannelStream):
    """SMS messages."""

    name, cdr_type = "sms_messages", "sms"


class HlrLookupsStream(ChannelStream):
    """HLR lookups: is a number reachable, is it roaming."""

    name, cdr_type = "hlr_lookups", "hlr_lookup"


CHANNEL_STREAMS: tuple[type[ChannelStream], ...] = (
    CallsStream,
    ConversationsStream,
    SmsMessagesStream,
    HlrLookupsStream,
)
assert {s.cdr_type for s in CHANNEL_STREAMS} == set(DATA_BY_TYPE)  # noqa: S101 (one per type)
