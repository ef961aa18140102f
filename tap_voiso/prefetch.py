"""Reading several windows at once while emitting them strictly in order.

Each window is read by a `WindowReader` on its own thread: first page, then
`next_cursor` after `next_cursor`, up to a whole window ahead of the consumer. `read_windows`
keeps up to `concurrency` readers running over consecutive windows and hands their
pages to the stream in window order, so the output, and the bookmark that follows
each finished window, are exactly those of a sequential read. Memory stays bounded by
`concurrency x ahead` undecoded pages whatever the size of the range.

Threads fit here because a reader spends its time waiting on the network, with the
GIL released; the CPU work (decoding, emitting) is the consumer's.
"""

from __future__ import annotations

import math
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from tap_voiso.client import Page, PageToken
from tap_voiso.errors import CursorLoopError
from tap_voiso.windows import Window

# Undecoded pages one reader may hold: bounds memory at `concurrency x 8` pages (about
# 60 MB at the defaults) whatever the window size; chosen with benchmarks/run.py.
MAX_AHEAD_PAGES = 8


class PageSource(Protocol):
    """Where readers get pages: the stream (`client.VoisoStream`)."""

    def fetch_page(self, token: PageToken) -> Page:
        """One page, retried as need be."""

    def release_session(self) -> None:
        """Called on a reader's thread when the reader is done with its window."""


@dataclass(frozen=True)
class PageRead:
    """One page of a window, and the cursor that fetched it (None for the first page)."""

    window: Window
    page: Page
    cursor: str | None


@dataclass(frozen=True)
class WindowDone:
    """Every page of `window` has been handed over."""

    window: Window
    received: int


@dataclass(frozen=True)
class _Split:
    children: list[Window]
    total: int
    target: int


@dataclass(frozen=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True)
class Plan:
    """How windows are sized and read."""

    page_size: int
    window_records: int
    concurrency: int

    @property
    def ahead(self) -> int:
        """Pages a reader may hold: its whole window, up to `MAX_AHEAD_PAGES`.

        So the next windows are read while the current one is emitted; at most
        `concurrency x ahead` undecoded pages (about 0.9 MB each) are in memory.
        """
        return min(MAX_AHEAD_PAGES, math.ceil(self.window_records / self.page_size) + 1)

    def target(self, run_total: int) -> int:
        """CDRs per window for a run whose whole range holds `run_total`.

        At most `window_records`; with concurrency, small enough that the run is
        shared out among the readers (a window's pages are a chain, read one after
        the other), but never under two pages, so that an hourly run is read in
        parallel too without splitting it into crumbs.
        """
        if self.concurrency <= 1:
            return self.window_records
        share = math.ceil(run_total / self.concurrency)
        return max(2 * self.page_size, min(self.window_records, share))

    @staticmethod
    def parts(window: Window, total: int, target: int) -> int:
        """Into how many windows a window holding `total` CDRs is cut (1: read it whole)."""
        return max(1, math.ceil(total / target)) if window.splittable else 1


class WindowReader:
    """Reads one window on a daemon thread into a small queue of pages."""

    def __init__(
        self,
        source: PageSource,
        window: Window,
        plan: Plan,
        stop: threading.Event,
        target: int | None,
    ) -> None:
        self.window = window
        self._source = source
        self.split: _Split | None = None
        self._plan = plan
        self._stop = stop
        self._target = target  # None for the run's whole range: its total sets it
        self._queue: queue.Queue[PageRead | WindowDone | _Split | _Failed] = queue.Queue(
            maxsize=plan.ahead
        )
        self._thread = threading.Thread(target=self._run, name=f"window {window}", daemon=True)
        self._thread.start()

    def get(self) -> PageRead | WindowDone | _Split | _Failed:
        """The reader's next item, waiting for it if need be."""
        return self._queue.get()

    def _put(self, item: PageRead | WindowDone | _Split | _Failed) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
            except queue.Full:
                continue
            return True
        return False

    def _run(self) -> None:
        try:
            self._read()
        except BaseException as exc:  # handed to the consumer, who raises it
            self._put(_Failed(exc))
        finally:
            self._source.release_session()

    def _read(self) -> None:
        window, plan = self.window, self._plan
        page = self._source.fetch_page(PageToken(window))
        target = self._target or plan.target(page.total or 0)
        parts = plan.parts(window, page.total or 0, target)
        if page.total is not None and parts > 1:
            self.split = _Split(window.split(parts), page.total, target)
            self._put(self.split)
            return
        seen_cursors: set[str] = set()
        received, cursor = 0, None
        while True:
            received += page.count
            if not self._put(PageRead(window, page, cursor)):
                return
            cursor = page.next_cursor
            if cursor is None:
                break
            # A short page that reaches metadata.total (an empty one included) is the last.
            if page.total is not None and received >= page.total and page.count < plan.page_size:
                break
            if cursor in seen_cursors:
                msg = (
                    f"Cursor loop: the API returned cursor {cursor!r} again while paging "
                    f"started_at in {window} after {received} CDRs. Stopping instead of paging "
                    "forever; the bookmark stays at the last completed window, so the next "
                    "run re-reads this window."
                )
                raise CursorLoopError(msg)
            seen_cursors.add(cursor)
            if self._stop.is_set():
                return
            page = self._source.fetch_page(PageToken(window, cursor))
        self._put(WindowDone(window, received))


def read_windows(
    source: PageSource,
    full: Window,
    plan: Plan,
    log: Callable[[str], None],
) -> Iterator[PageRead | WindowDone]:
    """Pages of every window of `full`, windows in order, read `plan.concurrency` at a time."""
    stop = threading.Event()
    items: deque[Window | WindowReader] = deque([] if full.empty else [full])
    target: int | None = None
    try:
        while items:
            _expand_splits(items, log)
            for index in range(min(plan.concurrency, len(items))):
                item = items[index]
                if isinstance(item, Window):
                    items[index] = WindowReader(source, item, plan, stop, target)
            head = items[0]
            assert isinstance(head, WindowReader)  # noqa: S101 (the loop above started it)
            event = head.get()
            if isinstance(event, _Failed):
                raise event.error
            if isinstance(event, _Split):
                target = event.target
                items.popleft()
                items.extendleft(reversed(event.children))
                log(_split_message(head.window, event))
                continue
            if isinstance(event, WindowDone):
                items.popleft()
            yield event
    finally:
        stop.set()


def _expand_splits(items: deque[Window | WindowReader], log: Callable[[str], None]) -> None:
    """Replace readers that decided to split (beyond the head) by their child windows."""
    for index in range(len(items) - 1, 0, -1):
        item = items[index]
        if isinstance(item, WindowReader) and item.split is not None:
            split = item.split
            del items[index]
            for child in reversed(split.children):
                items.insert(index, child)
            log(_split_message(item.window, split))


def _split_message(window: Window, split: _Split) -> str:
    return f"{window} holds {split.total} CDRs: reading it as {len(split.children)} windows"
