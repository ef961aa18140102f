"""Reading one window: its chain of pages, by cursor or by offset, checked for completeness.

What to do after the first page (done, the other pages at once by offset, follow the
cursor, or cut the window into parts) is `planner.py`'s decision; this module carries
it out (with no `fetch_at_once`, one request at a time, "at once" is by cursor):

- Pages follow `next_cursor`. Every cursor request also carries `offset` (the CDRs
  the window has delivered so far, within the API's first 10,000), so a cursor that
  has expired falls back, as documented, to where it pointed.
- A window ends on the page the planner calls its last (`Planner.last_page`): pages
  are facts, `metadata.total` a claim. Until then the window goes on by cursor, or
  by `offset` when no cursor came back.
- An end that only a cursor vouches for is a claim too: an empty page for a cursor
  right after a full page (an expired cursor answered as a last page), a full page
  without a next cursor, or a page for a cursor holding CDRs of another window. Unless
  the count matches `metadata.total`, one request that does not depend on the cursor
  (the window at `offset` = the distinct CDRs received) confirms it; if it holds CDRs
  not yet seen, the window goes on from there (`cursors.CursorLedger` counts these).
- Without a usable total, a window found to hold more than the planner allows while
  being read is cut then; the CDRs it already delivered are carried into its parts,
  which skip them.
- Each CDR's `id` marks it new or a repeat; repeats are not emitted again. A cursor
  string seen twice, or a page of nothing but repeats, is a loop and stops the run;
  so is a cursor another window followed (`cursors.CursorLedger`).
- A CDR whose `started_at` lies outside the window it came back for is a bad
  response: it is reported once (`Strays`) and not emitted under this window's
  checkpoint. Each CDR thus belongs to one window only.
- When the window ends, the distinct CDRs it delivered are compared with its
  total. Short: the window is read once more; still short: the run stops naming the
  window (a bookmark past it would lose those CDRs for good).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tap_voiso.cursors import CursorLedger, shown
from tap_voiso.errors import CursorLoopError, IncompleteWindowError, OffsetCapError
from tap_voiso.pages import Page, PageToken
from tap_voiso.planner import AtOnce, Cut, FirstPage, Planner
from tap_voiso.settings import OFFSET_CAP
from tap_voiso.windows import Window, iso_ms, started_ms

# Empty pages in a row that still carry a new cursor before the chain counts as a loop.
MAX_EMPTY_PAGES = 20
# CDRs outside their window named in a WARNING each; any further are counted at DEBUG.
STRAYS_NAMED = 10


class Strays:
    """CDRs a window's response held though their `started_at` lies outside it.

    Said once per CDR (a WARNING naming it and the window), for the first few; a
    CDR the API repeats in every window is thus one line, not one per window.
    """

    def __init__(self, warn: Callable[[str], None]) -> None:
        self._warn = warn
        self._named: set[Any] = set()
        self._lock = threading.Lock()

    def report(self, cdr_id: Any, started_at: Any, window: Window) -> None:
        """One CDR outside `window`: say so, unless already said."""
        with self._lock:
            if cdr_id in self._named or len(self._named) >= STRAYS_NAMED:
                return
            self._named.add(cdr_id)
        self._warn(
            f"Bad response: CDR {cdr_id} has started_at {started_at!r}, outside started_at in "
            f"{window} that it was returned for; it is not emitted with this window"
        )


class Repeats:
    """CDRs the API sent twice within a window (overlapping cursors, say): emitted once.

    Said in one WARNING, for the first page holding any; later pages are counted (at
    DEBUG), and `summary` sums them up for the run's end: a line per page would bury
    the log of an API that overlaps every page.
    """

    def __init__(self, warn: Callable[[str], None], debug: Callable[[str], None]) -> None:
        self._warn = warn
        self._debug = debug
        self.cdrs = 0
        self.pages = 0

    def report(self, read: PageRead) -> None:
        """One page as handed over: said (the first time) or counted, if it held repeats."""
        if not read.repeats:
            return
        self.cdrs += read.repeats
        self.pages += 1
        said = f"{read.repeats} CDR(s) the API returned twice in {read.window} were emitted once"
        if self.pages == 1:
            self._warn(f"{said}; any more are counted and summed up at the end of the run")
        else:
            self._debug(said)

    def summary(self) -> str | None:
        """The run's total, when more than the first page held repeats."""
        if self.pages < 2:  # the first page's WARNING said it all
            return None
        return (
            f"The API returned {self.cdrs} CDR(s) twice in {self.pages} pages this run; "
            "each was emitted once"
        )


@dataclass(frozen=True)
class PageRead:
    """One page of a window; `fresh[i]` is False for a CDR the window already delivered."""

    window: Window
    page: Page
    fresh: list[bool]
    repeats: int  # CDRs on this page the API had already sent in this window


@dataclass(frozen=True)
class WindowDone:
    """Every page of `window` has been handed over: it may be checkpointed."""

    window: Window
    received: int  # distinct CDRs


@dataclass(frozen=True)
class Split:
    """`window` is to be read as `children`; `delivered` are CDRs of it already handed over."""

    window: Window
    children: list[Window]
    holds: str  # what the window was found to hold, for the log
    delivered: frozenset[Any] = frozenset()
    total: int | None = None  # its metadata.total, if known


Event = PageRead | WindowDone | Split
Fetch = Callable[[PageToken], Page]
# Requests pages together; yields them in the order asked.
FetchAtOnce = Callable[[list[PageToken]], Iterator[Page]]
# Hands an event on; False when the stream has stopped and nothing more is wanted.
Put = Callable[[Event], bool]


@dataclass
class _Pass:
    """One reading of the window from its first page."""

    total: int | None  # metadata.total while the pages bear it out; None once contradicted
    ids: set[Any] = field(default_factory=set)  # distinct ids received in this pass
    unkeyed: int = 0  # CDRs without an id (reported and skipped by the checker)
    received: int = 0  # CDRs received, repeats included: positions in the API's result
    cursors: set[str] = field(default_factory=set)
    cursor_seen: bool = False  # a page of this pass came with a cursor: the API has them
    empty_run: int = 0
    last_full: bool = False  # the last page that held any CDRs was full
    last_outside: int = 0  # CDRs on the page last received that lie outside the window

    @property
    def distinct(self) -> int:
        """Distinct CDRs received: what a window's completeness is judged by."""
        return len(self.ids) + self.unkeyed


class Chain:
    """Reads one window into `put`, as the module docstring describes."""

    def __init__(
        self,
        window: Window,
        fetch: Fetch,
        planner: Planner,
        *,
        warn: Callable[[str], None],
        strays: Strays | None = None,
        delivered: frozenset[Any] = frozenset(),
        parent_total: int | None = None,
        on_total: Callable[[int | None], None] | None = None,
        on_planned: Callable[[], None] | None = None,
        fetch_at_once: FetchAtOnce | None = None,
        ledger: CursorLedger | None = None,
    ) -> None:
        self.window = window
        self._ledger = ledger or CursorLedger()
        self._fetch_at_once = fetch_at_once
        self._parent_total = parent_total  # what the window it was cut from held
        self._on_total = on_total  # told the first page's total (the whole range's)
        self._on_planned = on_planned  # told once the window is to be read, not cut
        self._warn = warn
        self._strays = strays or Strays(warn)
        self._fetch = fetch
        self._planner = planner
        self._bounds = (iso_ms(window.start_ms), iso_ms(window.end_ms))
        # Ids handed over already: by the window this one was cut from, and by earlier
        # passes over this one. The current pass's own are `_Pass.ids` (one set holds
        # each id: a reader holds those of every page of its window it has read).
        self._carried = delivered
        self._earlier: set[Any] = set()
        self._pass = _Pass(None)
        self._first = FirstPage(0, None, cursor=False)

    def run(self, put: Put) -> None:
        """Read the window; raises a `VoisoError` when it cannot be read whole."""
        first = self._fetch(PageToken(self.window))
        if self._on_total is not None:
            self._on_total(first.total)
        self._first = self._outline(first)
        plan = self._planner.first(self.window, self._first, self._parent_total)
        if isinstance(plan, Cut):
            put(self._split(plan, first.total))
            return
        if self._on_planned is not None:
            self._on_planned()
        total = first.total if first.total is None or first.count <= first.total else None
        # The chain keeps no page it has handed on: a page counts in memory until its
        # last reference goes (`scheduler.PagesInMemory`), this frame's included.
        hand = [first]
        del first
        if isinstance(plan, AtOnce) and self._fetch_at_once is not None:
            received = self._read_at_once(hand.pop(), plan.offsets, total, put)
        else:
            received = self._read_pass(hand.pop(), total, put)
        if received is None:
            return
        if total is not None and received < total:
            self._warn(
                f"started_at in {self.window} gave {received} of its {total} CDRs "
                "(metadata.total): reading it again before its checkpoint"
            )
            received = self._read_pass(self._fetch(PageToken(self.window)), total, put)
            if received is None:
                return
            if received < total:
                msg = (
                    f"Incomplete window: started_at in {self.window} should hold {total} CDRs "
                    f"(metadata.total) but read twice it gave {received}. Stopping so the "
                    "bookmark does not pass the missing ones; the next run reads this window "
                    "again."
                )
                raise IncompleteWindowError(msg)
        put(WindowDone(self.window, received))

    def _outline(self, page: Page) -> FirstPage:
        """What the planner goes by: the page's counts, and where its CDRs started."""
        started = (started_ms(value) for value in page.started)
        inside = tuple(
            t for t in started if t is not None and self.window.start_ms <= t < self.window.end_ms
        )
        return FirstPage(page.count, page.total, page.next_cursor is not None, inside)

    def _split(self, cut: Cut, total: int | None) -> Split:
        """Read this window as `cut`'s parts; they skip what it has already handed over."""
        delivered = self._carried.union(self._earlier, self._pass.ids)
        return Split(self.window, list(cut.parts), cut.holds, delivered, total)

    def _new_pass(self, total: int | None) -> _Pass:
        """Start reading the window from its first page; what earlier passes handed over stays."""
        self._earlier |= self._pass.ids
        self._pass = _Pass(total)
        return self._pass

    def _read_at_once(
        self, first: Page, offsets: tuple[int, ...], total: int | None, put: Put
    ) -> int | None:
        """Hand over `first`, then the window's other pages, requested together by offset.

        One round trip instead of a chain of them. The last page then goes on as any
        page does: the chain follows its cursor if the window turns out to hold more.
        """
        this = self._new_pass(total)
        tokens = [PageToken(self.window, None, offset) for offset in offsets]
        fetch_at_once = self._fetch_at_once
        assert fetch_at_once is not None  # noqa: S101 (`run` checked)
        last_token, last = PageToken(self.window), first
        del first  # `last` is the page in hand (see `run`)
        for token, page in zip(tokens, fetch_at_once(tokens), strict=True):
            if not put(self._mark(last, this)):
                return None
            last_token, last = token, page
        return self._follow(last, last_token, this, put)

    def _read_pass(self, page: Page, total: int | None, put: Put) -> int | None:
        """Hand over every page from `page` on; distinct CDRs received, or None if cut/stopped."""
        return self._follow(page, PageToken(self.window), self._new_pass(total), put)

    def _follow(self, page: Page, token: PageToken, this: _Pass, put: Put) -> int | None:
        """Hand over `page` (fetched by `token`) and every page after it, in this pass."""
        planner = self._planner
        while True:
            read = self._mark(page, this)
            if page.count and read.repeats == page.count:
                if token.cursor is None:  # an offset past what the API delivers: the end
                    return this.distinct
                msg = (
                    f"Cursor went backwards: the page for cursor {shown(token.cursor)} holds "
                    f"only CDRs already read in {self.window}. Stopping instead of paging "
                    "forever; the next run re-reads this window."
                )
                raise CursorLoopError(msg)
            if not put(read):
                return None
            if this.total is not None and this.distinct > this.total:
                this.total = None  # more CDRs than it claimed: the count is wrong
            cursor = page.next_cursor is not None
            cursors = this.cursor_seen
            if planner.last_page(page.count, cursor, this.received, this.total, cursors=cursors):
                if not self._unconfirmed(page, token, this):
                    return this.distinct
                token = self._confirmation(this)
                del page, read  # handed on (see `run`)
                page = self._fetch(token)
                more = self._holds_new(page, this)
                self._ledger.end_checked(found_more=more)
                if not more:
                    return this.distinct
                continue  # the window goes on from the confirming page
            cut = (
                None
                if this.total is not None
                else planner.overflow(self.window, this.distinct, self._first)
            )
            if cut is not None:
                put(self._split(cut, None))
                return None
            token = self._next_token(page, this)
            del page, read  # handed on (see `run`)
            page = self._fetch(token)

    def _unconfirmed(self, page: Page, token: PageToken, this: _Pass) -> bool:
        """Whether the page that ends the window says so on a cursor's word alone.

        A count that matches the total confirms the end; so does a page asked for
        without a cursor, or a short page of this window's CDRs. An empty page for a
        cursor after a full page (empty pages with a cursor between them included), a
        full page with no cursor to go on, or a page for a cursor that holds CDRs of
        another window does not.
        """
        if this.total is not None and this.distinct >= this.total:
            return False
        if page.count >= self._planner.page_size:
            return True
        if token.cursor is None:
            return False
        if page.count == 0:
            return this.last_full
        return this.last_outside > 0

    def _confirmation(self, this: _Pass) -> PageToken:
        """The request that confirms an end: the window from the CDRs received, by offset.

        From here the window's positions are counted by offset, not by what the
        cursors (which may have overlapped) delivered.
        """
        this.received = this.distinct
        if this.distinct > OFFSET_CAP:
            msg = (
                f"Cannot confirm the end of started_at in {self.window}: after {this.distinct} "
                "CDRs its pages ended on a cursor's word alone (an empty page for a cursor, or a "
                f"full page with none), and offset reaches only the first {OFFSET_CAP}. Stopping "
                "so the bookmark does not pass CDRs that may be missing; the next run reads "
                "this window again."
            )
            raise IncompleteWindowError(msg)
        return PageToken(self.window, None, this.distinct)

    def _holds_new(self, page: Page, this: _Pass) -> bool:
        """Whether a page holds a CDR of this window that this pass has not received."""
        seen, window, bounds = this.ids, self.window, self._bounds
        started = page.started or [None] * page.count
        return any(
            cdr_id is not None
            and cdr_id not in seen
            and (started_at is None or window.contains(started_at, bounds))
            for cdr_id, started_at in zip(page.ids, started, strict=True)
        )

    def _mark(self, page: Page, this: _Pass) -> PageRead:
        """Tell new CDRs from repeats (CDRs this pass has already received)."""
        fresh, repeats = [], 0
        seen, carried, earlier = this.ids, self._carried, self._earlier
        started = page.started or [None] * page.count
        window, bounds, outside = self.window, self._bounds, 0
        for cdr_id, started_at in zip(page.ids, started, strict=True):
            if started_at is not None and not window.contains(started_at, bounds):
                self._strays.report(cdr_id, started_at, window)  # not this window's
                fresh.append(False)
                outside += 1
            elif cdr_id is None:  # unkeyable: the checker reports and skips it
                fresh.append(True)
                this.unkeyed += 1
            elif cdr_id in seen:
                repeats += 1
                fresh.append(False)
            else:
                seen.add(cdr_id)
                fresh.append(cdr_id not in carried and cdr_id not in earlier)
        # Positions in the window's result: CDRs outside it are not counted (counting
        # one too few re-reads a CDR at the next offset; one too many would skip one).
        this.received += page.count - outside
        this.cursor_seen = this.cursor_seen or page.next_cursor is not None
        this.last_outside = outside
        if page.count:
            this.last_full = page.count >= self._planner.page_size
        return PageRead(self.window, page, fresh, repeats)

    def _next_token(self, page: Page, this: _Pass) -> PageToken:
        # Without a cursor the offset is the position reached in the API's result; with
        # one, it stands for where the cursor points (repeats the API sent not counted).
        cursor = page.next_cursor
        received = this.received if cursor is None else this.distinct
        offset = received if received <= OFFSET_CAP else None
        if cursor is None:
            if offset is None:
                msg = (
                    f"Cannot read started_at in {self.window} whole: the API stopped sending "
                    f"cursors after {received} CDRs, and offset reaches only the first "
                    f"{OFFSET_CAP}."
                )
                raise OffsetCapError(msg)
            return PageToken(self.window, None, offset)
        if cursor in this.cursors:
            msg = (
                f"Cursor loop: the API returned cursor {shown(cursor)} again while paging "
                f"started_at in {self.window} after {received} CDRs. Stopping instead of "
                "paging forever; the bookmark stays at the last completed window, so the next "
                "run re-reads this window."
            )
            raise CursorLoopError(msg)
        self._ledger.follow(cursor, self.window)
        this.cursors.add(cursor)
        this.empty_run = this.empty_run + 1 if page.count == 0 else 0
        if this.empty_run > MAX_EMPTY_PAGES:
            msg = (
                f"Cursor loop: {MAX_EMPTY_PAGES} empty pages in a row, each with a new cursor, "
                f"while paging started_at in {self.window}."
            )
            raise CursorLoopError(msg)
        return PageToken(self.window, cursor, offset)
