"""Reading several windows at once while handing them over strictly in order.

Each window is read by a `Reader`: a `chain.Chain` on its own thread, handing its
pages to the consumer through a queue; a window whose other pages go out together
(`planner.AtOnce`) gets a thread per page for them. A reader that has fetched its
whole window ends there (its pages wait in its queue), so the next window's reader
can start while earlier pages wait their turn. Windows are queued in
order, as the planner cut them: `read_windows` starts a reader on the next window
whenever fewer than `concurrency` are still reading, so a slow API keeps every reader
busy to the last page. The scheduler decides no sizes. Pages are handed over in
window order, so the output, and the bookmark that follows each finished window, are
exactly those of a sequential read. Requests in flight are capped at `concurrency` by the stream
(`retries.RequestSlots`).

Memory is capped by counting pages, not by trusting queues: a page counts from before
its request goes out until nothing refers to it any more (`PagesInMemory`), and a
reader other than the head's asks for a page only while fewer than the budget
(`PAGES_HELD_PER_READER` per reader) count. The head never waits (the consumer waits
on it), so later windows can never hold up the one being emitted. Whatever the size
of the range, the pages in memory stay within the budget and the head's few.

When one reader fails, every reader is told to stop at once (none sends another
request, and waits for a slot, a 429 pause or a retry end), and the consumer raises
that failure. The same happens when the consumer stops asking or a signal sets
`interrupt`; the readers are then joined.

Threads fit here because a reader spends its time waiting on the network, with the
GIL released; the CPU work (decoding, emitting) is the consumer's.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from tap_voiso.cdrs.chain import Chain, Event, PageRead, Split, Strays, WindowDone
from tap_voiso.cdrs.cursors import CursorLedger
from tap_voiso.cdrs.pages import Page, PageToken
from tap_voiso.cdrs.planner import Planner
from tap_voiso.cdrs.windows import PAGES_HELD_PER_READER, Window
from tap_voiso.shared.errors import Interrupted
from tap_voiso.shared.retries import Stopped
from tap_voiso.shared.signals import Interrupt

# How often a waiting consumer looks at `interrupt` and at readers that finished (to
# start the next windows), in seconds.
POLL_SECONDS = 0.01
# How long to wait for a reader to finish its request in flight once told to stop.
JOIN_SECONDS = 2.0


class PageSource(Protocol):
    """Where readers get pages: the stream (`streams.CdrsStream`)."""

    def fetch_page(self, token: PageToken, stop: threading.Event) -> Page:
        """One page, retried as need be, unless `stop` is set."""


@dataclass(frozen=True)
class _Pending:
    window: Window
    delivered: frozenset[Any] = frozenset()
    parent_total: int | None = None
    opening: bool = False  # one of the windows the range opened as (`Planner.opening`)


class _Totals:
    """The range's total, from its opening windows' first pages: told once all are in."""

    def __init__(self, windows: int, on_total: Callable[[int | None], None] | None) -> None:
        self._left = windows
        self._sum: int | None = 0
        self._on_total = on_total
        self._lock = threading.Lock()

    def add(self, total: int | None) -> None:
        """One opening window's total (None: the range's is unknown)."""
        with self._lock:
            self._sum = None if total is None or self._sum is None else self._sum + total
            self._left -= 1
            if self._left or self._on_total is None:
                return
        self._on_total(self._sum)


class _Stop:
    """What all readers of one range share: stop signal, first failure, strays, cursors."""

    def __init__(self, warn: Callable[[str], None], ledger: CursorLedger) -> None:
        self.event = threading.Event()
        self.failure: BaseException | None = None
        self.strays = Strays(warn)
        self.ledger = ledger

    def fail(self, error: BaseException) -> None:
        """Record a reader's failure and stop every reader."""
        if self.failure is None:
            self.failure = error
        self.event.set()


class PagesInMemory:
    """Pages requested and not yet let go of, over all readers of a range, and whose turn it is.

    A page counts from before its request goes out (a response is memory before it is
    a page) until the last reference to it goes (`weakref.finalize`): handed over
    and emitted, dropped by a split, or left behind by a stopped run alike.

    Requests take turns, at most `in_flight` at a time: windows' first pages first
    (each says how its window is read: a window cut on it makes requests of its own,
    which must not wait behind pages whose turn could come later), then by `(window
    start, offset)`: output is in window order, so the pages the consumer needs next
    go out next, and the budget is not spent on pages of later windows while an
    earlier one waits (with a window's pages requested together, dozens may be
    waiting at once).
    """

    def __init__(self, budget: int, in_flight: int) -> None:
        self.budget = budget
        self.count = 0
        self._frontier = -1
        self._free = in_flight
        self._waiting: list[_Ask] = []  # a heap, earliest (window start, offset) first
        self._tickets = itertools.count()
        self._lock = threading.Lock()

    @property
    def frontier(self) -> int:
        """Where the earliest window not yet planned starts (set by `read_windows`).

        A later window's pages past its first wait for it, beyond half the budget:
        that window may yet be cut into windows whose pages the consumer needs first.
        """
        return self._frontier

    @frontier.setter
    def frontier(self, start_ms: int) -> None:
        with self._lock:
            self._frontier = start_ms
            self._grant()

    @contextmanager
    def request(
        self, token: PageToken, waits: Callable[[], bool], stop: threading.Event
    ) -> Iterator[None]:
        """Count one more page and hold its turn for the request (unless the range stops).

        A page whose `waits()` is true (any but the head's) also waits while the budget
        is spent, and, unless it is its window's first, for the `frontier`. A page
        whose request fails is counted no more.
        """
        first = token.cursor is None and not token.offset
        ticket = next(self._tickets)
        ask = _Ask(not first, token.window.start_ms, token.offset or 0, ticket, first, waits)
        with self._lock:
            heapq.heappush(self._waiting, ask)
            self._grant()
        while not ask.granted.wait(POLL_SECONDS) and not stop.is_set():
            with self._lock:  # the head may have changed: its pages never wait for budget
                if self._waiting and self._waiting[0] is ask:
                    self._grant()
        with self._lock:
            if not ask.granted.is_set():
                self._waiting.remove(ask)
                heapq.heapify(self._waiting)
                self._grant()
                raise Stopped
        if stop.is_set():  # granted as the range stopped: the request does not go out
            with self._lock:
                self.count -= 1
                self._free += 1
                self._grant()
            raise Stopped
        try:
            yield
        except BaseException:
            self.give_back()
            raise
        finally:
            with self._lock:
                self._free += 1
                self._grant()

    def _grant(self) -> None:
        """Let waiting requests go in their turn, while slots and memory allow (lock held).

        When the next in turn must wait for memory, the head's pages (which never
        wait) go before it.
        """
        while self._free and self._waiting:
            ask = self._waiting[0]
            if self._must_wait(ask):
                head = next((a for a in self._waiting if not a.waits()), None)
                if head is None:
                    return
                ask = head
                self._waiting.remove(ask)
                heapq.heapify(self._waiting)
            else:
                heapq.heappop(self._waiting)
            self._free -= 1
            self.count += 1
            ask.granted.set()

    def _must_wait(self, ask: _Ask) -> bool:
        """Whether `ask` waits for memory: half the budget may run ahead of the frontier."""
        room = self.count < self.budget and (ask.first or ask.start <= self._frontier)
        return ask.waits() and not room and self.count >= self.budget // 2

    def track(self, page: Page) -> Page:
        """Stop counting `page` once nothing refers to it."""
        weakref.finalize(page, self.give_back)
        return page

    def give_back(self) -> None:
        """One page fewer (a request that failed, or a page let go of)."""
        with self._lock:
            self.count -= 1
            self._grant()


@dataclass(order=True)
class _Ask:
    """A page waiting for its turn: first pages first, then by window start, offset, arrival."""

    later: bool  # not its window's first page
    start: int
    offset: int
    ticket: int
    first: bool = field(compare=False)  # its window's first page
    waits: Callable[[], bool] = field(compare=False)  # False for the head's pages
    granted: threading.Event = field(compare=False, default_factory=threading.Event)


class Reader:
    """Reads one window on a daemon thread into a small queue of events."""

    def __init__(
        self,
        source: PageSource,
        pending: _Pending,
        planner: Planner,
        stop: _Stop,
        pages: PagesInMemory,
        *,
        warn: Callable[[str], None],
        on_total: Callable[[int | None], None] | None = None,
        at_once: bool = True,
    ) -> None:
        self.window = pending.window
        self.early_split: Split | None = None  # cut on its first page, before any page
        self.is_head = False  # set by the consumer: its window is the one being emitted
        self.planned = False  # its first page is in, and the window is not to be cut
        self._stop = stop
        self._pages = pages
        # Unbounded: what bounds memory is the page budget, counted before each request.
        self._queue: queue.Queue[Event] = queue.Queue()
        chain = Chain(
            pending.window,
            self._fetch,
            planner,
            warn=warn,
            strays=stop.strays,
            delivered=pending.delivered,
            parent_total=pending.parent_total,
            on_total=on_total,
            on_planned=self._planned,
            fetch_at_once=self._fetch_at_once if at_once else None,
            ledger=stop.ledger,
        )
        self._source = source
        self._handed = False
        # The thread holds the chain, and lets go of it (and the ids of the window it
        # holds) when it ends: a finished reader waiting to be emitted keeps only pages.
        self._thread = threading.Thread(
            target=self._run, args=(chain,), name=f"window {self.window}", daemon=True
        )
        self._thread.start()

    def get(self, interrupt: Interrupt | None) -> Event | None:
        """The reader's next event, or None when none came within `POLL_SECONDS`.

        Raises the first failure of any reader at once (the others have been told to
        stop), and `Interrupted` once a signal has set `interrupt`.
        """
        if interrupt is not None and interrupt.is_set():
            self._stop.event.set()
            raise Interrupted(interrupt.signum)
        if self._stop.failure is not None:
            raise self._stop.failure
        try:
            return self._queue.get(timeout=POLL_SECONDS)
        except queue.Empty:
            return None

    @property
    def running(self) -> bool:
        """Whether it is still reading (a finished reader only holds its pages)."""
        return self._thread.is_alive()

    def join(self) -> None:
        """Wait (briefly) for the thread to end: it sends nothing more once stopped."""
        self._thread.join(timeout=JOIN_SECONDS)

    def _fetch(self, token: PageToken) -> Page:
        """One page, in its turn and once the pages in memory leave room (the head never waits)."""
        with self._pages.request(token, lambda: not self.is_head, self._stop.event):
            page = self._source.fetch_page(token, self._stop.event)
        return self._pages.track(page)

    def _planned(self) -> None:
        self.planned = True

    def _fetch_at_once(self, tokens: list[PageToken]) -> Iterator[Page]:
        """The pages of `tokens`, requested together (a thread each), yielded in order.

        Requests in flight stay capped by the stream's slots; a stop ends every one.
        """
        futures: deque[Future[Page]] = deque()
        for token in tokens:
            future: Future[Page] = Future()
            name = f"offset {token.offset} of {self._thread.name}"
            threading.Thread(
                target=self._fetch_into, args=(token, future), name=name, daemon=True
            ).start()
            futures.append(future)
        while futures:  # let go of each page once handed on
            yield futures.popleft().result()

    def _fetch_into(self, token: PageToken, future: Future[Page]) -> None:
        try:
            future.set_result(self._fetch(token))
        except BaseException as exc:  # handed to the reader's thread with the page
            if not isinstance(exc, Stopped):
                self._stop.fail(exc)  # at once: not when the reader gets to this page
            future.set_exception(exc)

    def _put(self, event: Event) -> bool:
        if isinstance(event, Split) and not self._handed:
            self.early_split = event
        self._handed = True
        while not self._stop.event.is_set():
            try:
                self._queue.put(event, timeout=POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def _run(self, chain: Chain) -> None:
        try:
            chain.run(self._put)
        except Stopped:
            pass
        except BaseException as exc:  # the consumer raises it, whichever reader it was
            self._stop.fail(exc)


def read_windows(
    source: PageSource,
    full: Window,
    planner: Planner,
    concurrency: int,
    log: Callable[[str], None],
    *,
    interrupt: Interrupt | None = None,
    warn: Callable[[str], None] | None = None,
    on_total: Callable[[int | None], None] | None = None,
    ledger: CursorLedger | None = None,
) -> Iterator[PageRead | WindowDone]:
    """Pages of every window of `full`, windows in order, read `concurrency` at a time.

    `on_total` is told what the range holds, by its first page (or the first pages of
    the windows it opens as, `Planner.opening`). `ledger` holds the run's cursors
    (one per run: a cursor followed in one range may not come back in the next).
    """
    stop = _Stop(warn or log, ledger or CursorLedger())
    pages = PagesInMemory(concurrency * PAGES_HELD_PER_READER, concurrency)
    opening = () if full.empty else planner.opening(full, concurrency)
    if len(opening) > 1:
        log(f"{full} opens as {len(opening)} windows, their first pages together")
    items: deque[_Pending | Reader] = deque(_Pending(window, opening=True) for window in opening)
    told = _Totals(len(opening), on_total)
    try:
        while items:
            _expand_early_splits(items, log)
            pages.frontier = _frontier(items)
            active = sum(1 for item in items if isinstance(item, Reader) and item.running)
            index = 0
            # The head always gets a reader: the consumer waits for it (requests in
            # flight stay capped by the stream's slots).
            while index < len(items) and (
                index == 0 or (active < concurrency and pages.count < pages.budget)
            ):
                item = items[index]
                if isinstance(item, _Pending):
                    items[index] = Reader(
                        source,
                        item,
                        planner,
                        stop,
                        pages,
                        warn=warn or log,
                        on_total=told.add if item.opening else None,
                        # One request at a time: pages by cursor, the API's own way on.
                        at_once=concurrency > 1,
                    )
                    active += 1
                index += 1
            head = items[0]
            assert isinstance(head, Reader)  # noqa: S101 (the loop above started it)
            head.is_head = True
            event = head.get(interrupt)
            if event is None:  # meanwhile, readers may have finished: start the next ones
                continue
            if isinstance(event, Split):
                _replace(items, 0, event.children, event.delivered, event.total)
                log(_split_message(event))
                continue
            if isinstance(event, WindowDone):
                items.popleft()
            yield event
    finally:
        stop.event.set()
        for item in items:
            if isinstance(item, Reader):
                item.join()


def _frontier(items: deque[_Pending | Reader]) -> int:
    """Where the earliest window not yet planned starts (beyond every window: none)."""
    for item in items:
        if isinstance(item, _Pending) or not item.planned:
            return item.window.start_ms
    return items[-1].window.end_ms if items else 0


def _expand_early_splits(items: deque[_Pending | Reader], log: Callable[[str], None]) -> None:
    """Replace readers that split on their first page (beyond the head) by their parts."""
    for index in range(len(items) - 1, 0, -1):
        item = items[index]
        if isinstance(item, Reader) and item.early_split is not None:
            split = item.early_split
            _replace(items, index, split.children, split.delivered, split.total)
            log(_split_message(split))


def _replace(
    items: deque[_Pending | Reader],
    index: int,
    children: list[Window],
    delivered: frozenset[Any],
    total: int | None,
) -> None:
    """Put `children`, in order and not yet read, where the window at `index` was."""
    del items[index]
    for child in reversed(children):
        items.insert(index, _Pending(child, delivered, total))


def _split_message(split: Split) -> str:
    return f"{split.window} holds {split.holds}: reading it as {len(split.children)} windows"
