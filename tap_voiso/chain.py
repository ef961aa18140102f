"""Reading one window: its chain of pages, by cursor or by offset, checked for completeness.

The rules, all in this one place:

- The first page decides: a window holding more than the target (by
  `metadata.total`, or by the densities learned when there is none) is cut into
  smaller windows before anything else is read, unless it holds only a few pages
  (`Sizing.at_once`): then its other pages are requested together, by offset, and
  the chain goes on from the last of them as below.
- Pages follow `next_cursor`. Every cursor request also carries `offset` (the CDRs
  the window has delivered so far, within the API's first 10,000), so a cursor that
  has expired falls back, as documented, to where it pointed.
- A page without `next_cursor` ends the window only once the window has delivered
  `metadata.total` CDRs (or, with no total, once a page comes back short); until
  then the window goes on by `offset`. A window that offset cannot reach the end of
  (over 10,000 CDRs in one millisecond, with no cursor) stops the run.
- Without a total, a window found to hold more than the target while being read is
  cut then; the CDRs it already delivered are carried into its parts, which skip them.
- Each CDR's `id` marks it new or a repeat; repeats are not emitted again. A cursor
  string seen twice, or a page of nothing but repeats, is a loop and stops the run.
- When the window ends, the distinct CDRs it delivered are compared with its
  total. Short: the window is read once more; still short: the run stops naming the
  window (a bookmark past it would lose those CDRs for good).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tap_voiso.errors import CursorLoopError, IncompleteWindowError, OffsetCapError
from tap_voiso.pages import OFFSET_CAP, Page, PageToken
from tap_voiso.windows import Sizing, Window

# A part holding this share of what the window it was cut from held is read whole.
CONCENTRATED = 0.9
# Empty pages in a row that still carry a new cursor before the chain counts as a loop.
MAX_EMPTY_PAGES = 20


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

    ids: set[Any] = field(default_factory=set)  # distinct ids received in this pass
    unkeyed: int = 0  # CDRs without an id (reported and skipped by the checker)
    received: int = 0  # CDRs received, repeats included: positions in the API's result
    cursors: set[str] = field(default_factory=set)
    empty_run: int = 0

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
        sizing: Sizing,
        *,
        warn: Callable[[str], None],
        delivered: frozenset[Any] = frozenset(),
        parent_total: int | None = None,
        whole_range: bool = False,
        fetch_at_once: FetchAtOnce | None = None,
    ) -> None:
        self.window = window
        self._fetch_at_once = fetch_at_once
        self._parent_total = parent_total  # what the window it was cut from held
        self._warn = warn
        self._fetch = fetch
        self._sizing = sizing
        # Ids handed over already: by the window this one was cut from, and by earlier
        # passes over this one. The current pass's own are `_Pass.ids` (one set holds
        # each id: a reader holds those of every page of its window it has read).
        self._carried = delivered
        self._earlier: set[Any] = set()
        self._pass = _Pass()
        self._whole_range = whole_range  # its total shares the run out among readers

    def run(self, put: Put) -> None:
        """Read the window; raises a `VoisoError` when it cannot be read whole."""
        first = self._fetch(PageToken(self.window))
        if self._whole_range:
            self._sizing.share_out(first.total)
        parts = self._sizing.parts(self.window, first.total, whole_range=self._whole_range)
        if first.total is None and first.count == self._sizing.page_size:
            parts = self._sizing.parts(self.window, self._sizing.estimate(self.window))
        if parts > 1 and self._concentrated(first):
            parts = 1
        at_once = parts > 1 and self._can_read_at_once(first)
        if parts > 1 and not at_once:
            holds = f"{first.total} CDRs" if first.total is not None else "more than a page"
            put(self._split(parts, holds, first.total))
            return
        self._check_reachable(first)
        total = first.total
        # The chain keeps no page it has handed on: a page counts in memory until its
        # last reference goes (`scheduler.PagesInMemory`), this frame's included.
        hand = [first]
        del first
        read = self._read_at_once if at_once else self._read_pass
        received = read(hand.pop(), put)
        if received is None:
            return
        if total is not None and received < total:
            self._warn(
                f"started_at in {self.window} gave {received} of its {total} CDRs "
                "(metadata.total): reading it again before its checkpoint"
            )
            received = self._read_pass(self._fetch(PageToken(self.window)), put)
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
        self._sizing.learn(self.window, received)
        put(WindowDone(self.window, received))

    def _split(self, parts: int, holds: str, total: int | None) -> Split:
        """Cut this window in `parts`; they skip what it has already handed over."""
        children = self.window.split(parts)
        delivered = self._carried.union(self._earlier, self._pass.ids)
        return Split(self.window, children, holds, delivered, total)

    def _new_pass(self) -> _Pass:
        """Start reading the window from its first page; what earlier passes handed over stays."""
        self._earlier |= self._pass.ids
        self._pass = _Pass()
        return self._pass

    def _concentrated(self, first: Page) -> bool:
        """Whether cutting again is futile: this part holds nearly all its parent held.

        CDRs crowded into a few milliseconds (a burst) would take one cut after another,
        each a request in series, to isolate; read them as one chain instead, unless
        only offset can page them and there are more than it reaches.
        """
        total, parent = first.total, self._parent_total
        if total is None or parent is None or total < CONCENTRATED * parent:
            return False
        return first.next_cursor is not None or total <= OFFSET_CAP

    def _check_reachable(self, first: Page) -> None:
        """A window of one millisecond that only offset can page must fit under its cap."""
        if first.next_cursor is None and first.total is not None and first.total > OFFSET_CAP:
            msg = (
                f"Cannot read started_at in {self.window}: it holds {first.total} CDRs in one "
                f"millisecond, and without a cursor the API pages only the first {OFFSET_CAP}."
            )
            raise OffsetCapError(msg)

    def _can_read_at_once(self, first: Page) -> bool:
        """Whether the window's other pages can be requested together (see `_read_at_once`)."""
        return (
            self._fetch_at_once is not None
            and first.count == self._sizing.page_size
            and self._sizing.at_once(first.total)
        )

    def _read_at_once(self, first: Page, put: Put) -> int | None:
        """Hand over `first`, then the window's other pages, requested together by offset.

        One round trip instead of a chain of them. The last page then goes on as any
        page does: the chain follows its cursor if the window turns out to hold more.
        """
        this = self._new_pass()
        size, total = self._sizing.page_size, first.total or 0
        tokens = [PageToken(self.window, None, offset) for offset in range(size, total, size)]
        fetch_at_once = self._fetch_at_once
        assert fetch_at_once is not None  # noqa: S101 (`_can_read_at_once` said so)
        last_token, last = PageToken(self.window), first
        del first  # `last` is the page in hand (see `run`)
        for token, page in zip(tokens, fetch_at_once(tokens), strict=True):
            if not put(self._mark(last, this)):
                return None
            last_token, last = token, page
        return self._follow(last, last_token, this, put)

    def _read_pass(self, page: Page, put: Put) -> int | None:
        """Hand over every page from `page` on; distinct CDRs received, or None if cut/stopped."""
        return self._follow(page, PageToken(self.window), self._new_pass(), put)

    def _follow(self, page: Page, token: PageToken, this: _Pass, put: Put) -> int | None:
        """Hand over `page` (fetched by `token`) and every page after it, in this pass."""
        while True:
            read = self._mark(page, this)
            if page.count and read.repeats == page.count:
                if token.cursor is None:  # an offset past what the API delivers: the end
                    return this.distinct
                msg = (
                    f"Cursor went backwards: the page for cursor {token.cursor!r} holds only "
                    f"CDRs already read in {self.window}. Stopping instead of paging forever; "
                    "the next run re-reads this window."
                )
                raise CursorLoopError(msg)
            if not put(read):
                return None
            if self._finished(page, this.received):
                return this.distinct
            if self._overflowing(page, this.distinct):
                parts = self._sizing.parts_on_overflow(self.window)
                holds = f"over {this.distinct} CDRs (no metadata.total)"
                put(self._split(parts, holds, None))
                return None
            token = self._next_token(page, this)
            del page, read  # handed on (see `run`)
            page = self._fetch(token)

    def _mark(self, page: Page, this: _Pass) -> PageRead:
        """Tell new CDRs from repeats (CDRs this pass has already received)."""
        fresh, repeats = [], 0
        this.received += page.count
        seen, carried, earlier = this.ids, self._carried, self._earlier
        for cdr_id in page.ids:
            if cdr_id is None:  # unkeyable: the checker reports and skips it
                fresh.append(True)
                this.unkeyed += 1
            elif cdr_id in seen:
                repeats += 1
                fresh.append(False)
            else:
                seen.add(cdr_id)
                fresh.append(cdr_id not in carried and cdr_id not in earlier)
        return PageRead(self.window, page, fresh, repeats)

    def _finished(self, page: Page, received: int) -> bool:
        total = page.total
        if page.next_cursor is not None:
            # A short page that reaches the total (an empty one included) is the last.
            return total is not None and received >= total and page.count < self._sizing.page_size
        if page.count == 0:
            return True
        if total is not None:
            return received >= total
        return page.count < self._sizing.page_size

    def _overflowing(self, page: Page, received: int) -> bool:
        """No total, and more CDRs than a window should hold: cut it instead of going on."""
        return page.total is None and received >= self._sizing.target and self.window.splittable

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
                f"Cursor loop: the API returned cursor {cursor!r} again while paging "
                f"started_at in {self.window} after {received} CDRs. Stopping instead of "
                "paging forever; the bookmark stays at the last completed window, so the next "
                "run re-reads this window."
            )
            raise CursorLoopError(msg)
        this.cursors.add(cursor)
        this.empty_run = this.empty_run + 1 if page.count == 0 else 0
        if this.empty_run > MAX_EMPTY_PAGES:
            msg = (
                f"Cursor loop: {MAX_EMPTY_PAGES} empty pages in a row, each with a new cursor, "
                f"while paging started_at in {self.window}."
            )
            raise CursorLoopError(msg)
        return PageToken(self.window, cursor, offset)
