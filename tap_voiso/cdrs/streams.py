"""The streams: `cdrs`, and one per channel, each a run's ranges read page by page.

The data path, in order: `sync_ranges` (the bookmark, checked, -> the late CDRs and
the new ones, by `ranges.py`), `get_records` (each range -> windows, planned by
`planner.py` and read by `scheduler.read_windows`, several at once but handed over
in order; each window's pages by `chain.Chain`), `_fresh_records` (a page -> its new
CDRs, checked against the schema, new fields declared (`shared/evolving.py`), as items
of the SDK's record loop), and after each window of new CDRs `checkpoint` (-> STATE).
Items, checkpoints and the SDK internals they need are `shared/passthrough.py`'s;
requests go through the run's one connection (`shared/api.py`, `shared/stream.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar

import requests
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE
from singer_sdk.streams.rest import PageContext

from tap_voiso.cdrs.chain import PageRead, Repeats, WindowDone
from tap_voiso.cdrs.cursors import CursorLedger
from tap_voiso.cdrs.pages import Page, PageToken, parse_page, queue_ids
from tap_voiso.cdrs.planner import Planner
from tap_voiso.cdrs.ranges import sync_ranges
from tap_voiso.cdrs.scheduler import read_windows
from tap_voiso.cdrs.schemas import (
    DATA_BY_TYPE,
    cdr_schema,
    channel_api_schema,
    channel_schema,
    lift_schema,
    lifted_name,
)
from tap_voiso.cdrs.windows import Window, iso_ms, to_ms
from tap_voiso.settings import parse_datetime
from tap_voiso.shared.errors import OneLinePerStop, RetriesExhaustedError, StateError
from tap_voiso.shared.evolving import EvolvingStream
from tap_voiso.shared.failures import describe
from tap_voiso.shared.passthrough import cdr_count, raw_page, tap_of
from tap_voiso.shared.progress import Progress
from tap_voiso.shared.retries import TRANSIENT_ERRORS, Retrier
from tap_voiso.shared.signals import INTERRUPT
from tap_voiso.shared.stream import VoisoStream

# The shape of a CDR as the API sends it, which every page is checked against.
API_SCHEMA = cdr_schema()
ONE_LINE_PER_STOP = OneLinePerStop()
# A connection test's tries: one request, and one more should the first fail in passing.
PROBE_TRIES = 2


class CdrsStream(EvolvingStream, VoisoStream):
    """Every CDR, all types, incremental on `started_at`."""

    name = "cdrs"
    path = "/api/v4/reporting/cdrs"
    primary_keys = ("id",)
    replication_key = "started_at"
    schema = API_SCHEMA
    # The stream's CDRs as the API sends them, which each page is checked against.
    api_schema: ClassVar[dict[str, Any]] = API_SCHEMA
    items_key = "cdrs"
    # Records arrive as parsed JSON that already has the schema's types; conformance
    # would only cost time and drop fields Voiso adds (tests/test_output.py compares).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def sync_ranges(self) -> tuple[Window | None, Window]:
        """This run's two reads, late CDRs (None on a first run) then new ones (`ranges`).

        From the bookmark, unless the catalog asks for FULL_TABLE; a bookmark later
        than the run's start stops the run (`_future_bookmark`).
        """
        # The signpost is the run's start time, frozen when the sync began.
        started = parse_datetime(str(self.get_replication_key_signpost(None)))
        value = self.stream_state.get("replication_key_value")
        bookmark = None
        if value and self.replication_method != REPLICATION_FULL_TABLE:
            bookmark = parse_datetime(value)
            if bookmark > started:
                raise StateError(self._future_bookmark(value, to_ms(started)))
        return sync_ranges(self.settings, bookmark, started)

    def get_replication_key_signpost(self, context: Mapping[str, Any] | None = None) -> Any:
        """The run's start, in the bookmarks' own format (`2026-12-01T07:17:24.609Z`).

        The SDK caps the final bookmark at the signpost, comparing the two as strings:
        in another format (`...+00:00`) the signpost would win and become the bookmark.
        """
        start = super().get_replication_key_signpost(context)
        return iso_ms(to_ms(start)) if isinstance(start, datetime) else start

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

    @property
    def schema_changes(self) -> str:
        """The `schema_changes` setting."""
        return self.settings.schema_changes

    @property
    def record_keys(self) -> dict[str, type]:
        """A CDR is keyed on its `id` and windowed on its `started_at`, both strings."""
        return {"id": str, "started_at": str}

    def get_url_params(
        self, context: Mapping[str, Any] | None, next_page_token: PageToken | None
    ) -> dict[str, Any]:
        """Window bounds, the configured filters, `limit`, and the cursor and offset if any.

        Every page repeats the filters: the cursor is a keyset position that carries
        none of them. A cursor goes with the offset it stands for, which the API falls
        back to if the cursor has expired.
        """
        params: dict[str, Any] = {}
        if next_page_token is not None:
            params.update(next_page_token.window.params)
        params.update(self.settings.filters)
        params["limit"] = self.settings.page_size
        if next_page_token is not None:
            if next_page_token.cursor is not None:
                params["cursor"] = next_page_token.cursor
            if next_page_token.offset:
                params["offset"] = next_page_token.offset
        return params

    def prepare_page_request(self, token: PageToken) -> requests.PreparedRequest:
        """The exact request for one page (no I/O: tests assert on it directly).

        Brackets go out percent-encoded (`type%5B%5D=call`): urllib3 encodes them
        whatever the caller builds, and servers decode both forms alike.
        """
        http_request = self.get_http_request(
            page=PageContext(stream_context=None, next_page_token=token)
        )
        return self.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
        )

    def fetch_page(self, token: PageToken, stop: threading.Event) -> Page:
        """Request and parse one page, retrying transient failures, unless `stop` is set."""
        prepared = self.prepare_page_request(token)
        return self.api.call(
            lambda: self.attempt(prepared, stop, parse_page),
            stop,
            reading=f"reading started_at in {token.window}",
            then="The bookmark stays at the last completed window; the next run resumes "
            "from there.",
            page_size=self.settings.page_size,
        )

    def probe(self) -> int | None:
        """One request over the whole configured range: what the key can see (`--test`).

        At most `PROBE_TRIES` tries, whatever `max_tries` says: a connection test
        answers in seconds rather than retrying for minutes.
        """
        late, new = self.sync_ranges()
        window = new if late is None else Window(late.start_ms, new.end_ms)
        prepared = self.prepare_page_request(PageToken(window))
        stop = threading.Event()
        retrier = Retrier(PROBE_TRIES, self.api.rate_limit, self.logger)
        try:
            page = retrier.call(lambda: self.attempt(prepared, stop, parse_page), stop)
        except TRANSIENT_ERRORS as exc:
            msg = (
                f"{describe(exc)} ({PROBE_TRIES} tries). Check `api_url` or `cluster_id`, "
                "and that the host is reachable from here."
            )
            raise RetriesExhaustedError(msg) from exc
        return page.total

    @cached_property
    def cursors(self) -> CursorLedger:
        """The run's cursors, and the window ends confirmed without one (`cursors`)."""
        return CursorLedger()

    @cached_property
    def repeats(self) -> Repeats:
        """CDRs the API sent twice in a window: one WARNING, and a sum at the run's end."""
        return Repeats(self.logger.warning, self.logger.debug)

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """Read late CDRs, then new ones, in windows, emitting and checkpointing in order.

        Late CDRs come first and move no bookmark: a run stopped while reading them
        reads them again. Each finished window of new CDRs is a checkpoint.
        """
        late, new = self.sync_ranges()
        at_once = (
            "one request at a time"
            if self.settings.concurrency == 1
            else f"{self.settings.concurrency} at a time"
        )
        if late is not None:
            self.logger.info("Reading late CDRs: started_at in %s", late)
            yield from self._read_range(late, f"{self.name} (late CDRs)", checkpoint=False)
        self.logger.info("Reading new CDRs: started_at in %s, %s", new, at_once)
        yield from self._read_range(new, self.name, checkpoint=True)
        self.checker.log_summary()
        repeated = self.repeats.summary()
        if repeated:
            self.logger.warning("%s", repeated)
        rate_limited = self.api.rate_limit.summary()
        if rate_limited:
            self.logger.info(rate_limited)

    def _read_range(
        self, full: Window, label: str, *, checkpoint: bool
    ) -> Iterator[dict[str, Any]]:
        """The CDRs of `full`, window by window; `checkpoint` moves the bookmark after each."""
        planner = Planner(
            page_size=self.settings.page_size, window_records=self.settings.window_records
        )
        progress = Progress(label, self.logger, self.settings.progress_seconds)
        events = read_windows(
            self,
            full,
            planner,
            self.settings.concurrency,
            self.logger.debug,
            interrupt=INTERRUPT,
            warn=self.logger.warning,
            on_total=progress.expect,
            ledger=self.cursors,
        )
        checks = self.cursors.checks
        for event in events:
            if isinstance(event, WindowDone):
                self.logger.debug("%s done: %d CDRs", event.window, event.received)
                if checkpoint:
                    self.checkpoint(iso_ms(event.window.end_ms))
                continue
            items = self._fresh_records(event)
            yield from items
            count = sum(cdr_count(item) for item in items)
            progress.add(count, self.stream_state.get("replication_key_value"))
        checked = self.cursors.checks.since(checks)
        note = str(checked) if checked.checked else None
        progress.finish(self.stream_state.get("replication_key_value"), note)

    @cached_property
    def queue_ids(self) -> set[int] | None:
        """Where this run's CDRs' queue ids go, when the `queues` stream is selected."""
        tap = tap_of(self)
        queues = tap.streams.get("queues")
        return tap.cdr_queue_ids if queues is not None and queues.selected else None

    def _fresh_records(self, event: PageRead) -> list[Any]:
        """A page's new CDRs, checked, as items of the SDK's record loop (`passthrough`)."""
        self.repeats.report(event)
        if self.queue_ids is not None:
            self.queue_ids.update(queue_ids(event.page.body))
        extracted_at = event.page.extracted_at
        if self.passes_through and self.checker.page_is_valid(event.page.body):
            raws = event.page.raw_records()
            if not all(event.fresh):
                raws = [raw for raw, fresh in zip(raws, event.fresh, strict=True) if fresh]
            return [raw_page(self.name, raws, extracted_at)] if raws else []
        records = event.page.records()
        if not all(event.fresh):
            records = [record for record, fresh in zip(records, event.fresh, strict=True) if fresh]
        return self.page_items(self.conformed(records), extracted_at)


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
        cls.api_schema = channel_api_schema(cls.cdr_type)
        cls.schema = channel_schema(cls.cdr_type)

    def field_name(self, path: tuple[str, ...]) -> str:
        """A `data` field by its lifted name (`future_field`, not `data.future_field`)."""
        if len(path) > 1 and path[0] == "data":
            return ".".join((lifted_name(path[1]), *path[2:]))
        return ".".join(path)

    def stream_schema(self, api_schema: dict[str, Any]) -> dict[str, Any]:
        """`data`'s fields lifted to the top level."""
        return lift_schema(api_schema)

    def get_url_params(
        self, context: Mapping[str, Any] | None, next_page_token: PageToken | None
    ) -> dict[str, Any]:
        """The stream's own type in place of the `types` setting."""
        params = super().get_url_params(context, next_page_token)
        params["type[]"] = [self.cdr_type]
        return params

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """Nothing at all when the `types` setting leaves this channel out."""
        wanted = self.settings.types
        if wanted and self.cdr_type not in wanted:
            self.logger.info(
                "Stream '%s' is empty: the `types` setting %s leaves out '%s'",
                self.name,
                list(wanted),
                self.cdr_type,
            )
            return
        yield from super().get_records(context)

    def shape_record(self, row: dict[str, Any]) -> dict[str, Any]:
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
