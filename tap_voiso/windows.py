"""Time windows over `started_at`: the unit of reading, checkpointing and resuming.

A run reads its range `[start, end)` as consecutive half-open windows. A window is
read whole (every page) before its end becomes the bookmark, so the bookmark never
passes a CDR that has not been emitted, whatever order the API returns records in.
Windows are sized by what they hold, not by the calendar: the API's
`metadata.total` on a window's first page says whether it is small enough to read
(at most `window_records` CDRs) or must be split, so an empty year costs one request
and a crowded hour is cut finer.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import pairwise

from tap_voiso.settings import OFFSET_CAP

# Where a range starts when neither `start_date` nor a bookmark says: before Voiso
# existed. Splitting by `metadata.total` finds where data begins in a few requests.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
# Windows a run is shared out into, at least, per reader: short chains of pages (one
# page each for a run of a few pages per reader), so that no reader sits idle while
# another still has a long chain to read.
WINDOWS_PER_READER = 4
# How full of its pages a window is cut to be: time is cut evenly, CDRs are not.
FILL = 0.9
# Pages in memory (requested, waiting, or being emitted) per reader, over all readers,
# and the most one reader may have read ahead of the consumer: bounds memory (a page is
# about 1 MB) whatever the size of the range.
PAGES_HELD_PER_READER = 2
# The most pages a window found over its size may hold and still be read whole, its
# other pages requested together by offset, rather than cut (see `Sizing.at_once`).
AT_ONCE_PAGES = 4
# Completed windows whose density (CDRs per millisecond) sizes the next ones when the
# API sends no `metadata.total`: recent ones, since traffic varies over time.
LEARN_FROM_WINDOWS = 8


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (the API's timestamp precision)."""
    return math.floor(moment.timestamp() * 1000)


def iso_ms(epoch_ms: int) -> str:
    """ISO 8601 in the API's own format, `2020-08-19T11:32:43.413Z`.

    One format for bookmarks, filters and records keeps string comparisons of
    timestamps (which the SDK does) equal to time comparisons.
    """
    moment = datetime.fromtimestamp(epoch_ms // 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


@dataclass(frozen=True)
class Window:
    """`started_at` in `[start_ms, end_ms)`, and `ended_at >= ended_from_ms` when set.

    `ended_from_ms` marks a window of late CDRs: ones that started before the
    bookmark but ended (so became listed, or changed) since the previous run looked.
    """

    start_ms: int
    end_ms: int
    ended_from_ms: int | None = None

    @property
    def params(self) -> dict[str, str]:
        """The window's query parameters, repeated on every one of its pages."""
        params = {"started_at[gte]": iso_ms(self.start_ms), "started_at[lt]": iso_ms(self.end_ms)}
        if self.ended_from_ms is not None:
            params["ended_at[gte]"] = iso_ms(self.ended_from_ms)
        return params

    @property
    def splittable(self) -> bool:
        """False for a single millisecond: its CDRs can only be paged, not divided."""
        return self.end_ms - self.start_ms > 1

    def split(self, parts: int) -> list[Window]:
        """`parts` sub-windows of equal span (fewer if the window is only a few ms wide).

        Uneven data is handled by splitting a crowded child again; empty children cost
        one request each.
        """
        span = self.end_ms - self.start_ms
        parts = min(parts, span)
        edges = [self.start_ms + (span * i) // parts for i in range(parts + 1)]
        return [Window(a, b, self.ended_from_ms) for a, b in pairwise(edges) if b > a]

    @property
    def empty(self) -> bool:
        """True when no `started_at` can fall inside."""
        return self.end_ms <= self.start_ms

    def __str__(self) -> str:
        span = f"[{iso_ms(self.start_ms)}, {iso_ms(self.end_ms)})"
        if self.ended_from_ms is None:
            return span
        return f"{span} ended since {iso_ms(self.ended_from_ms)}"


class Sizing:
    """How many CDRs a window should hold, and into how many parts to cut one that holds more.

    With `metadata.total`, a window's first page says what it holds. The target is at
    most `window_records`; with several readers, small enough that the run is shared
    out into a few short windows per reader (a window's pages are a chain, read one
    after the other, and the run ends with its longest chain), in whole pages.

    Without a total, sizes are learned: the density of recently completed windows
    estimates what an unread window holds, and a window found to hold more than the
    target while being read is cut then (see `chain.py`).
    """

    def __init__(self, page_size: int, window_records: int, concurrency: int) -> None:
        self.page_size = page_size
        self.window_records = window_records
        self.concurrency = concurrency
        self.target = window_records  # CDRs a window is cut to hold
        self.limit = window_records  # the most a window may hold and be read whole
        self.totals_known = True  # until the whole range's first page says otherwise
        self.run_total: int | None = None  # what the whole range holds
        self._recent: deque[tuple[int, int]] = deque(maxlen=LEARN_FROM_WINDOWS)
        self._lock = threading.Lock()

    def share_out(self, run_total: int | None) -> None:
        """Size windows from what the whole range holds (unknown: `window_records`).

        Windows are whole pages: a window read whole holds at most `k` pages, and
        windows are cut to hold 90% of that (cutting by time is uneven), where `k`
        shares the run out into at least `WINDOWS_PER_READER` windows per reader. A
        window of 2,010 CDRs would cost a third request for 10.
        """
        self.totals_known = run_total is not None
        self.run_total = run_total
        if run_total is None or self.concurrency <= 1:
            self.target = self.limit = self.window_records
            return
        run_pages = math.ceil(run_total / self.page_size)
        most_pages = max(1, self.window_records // self.page_size)
        share = run_pages // (self.concurrency * WINDOWS_PER_READER)
        pages = min(most_pages, max(1, share))
        self.limit = pages * self.page_size
        self.target = max(1, math.floor(self.limit * FILL))

    def at_once(self, total: int | None) -> bool:
        """Whether a window found to hold `total` CDRs, over `limit`, is read whole.

        Its first page is in hand; its other pages (at most `AT_ONCE_PAGES` in
        all) are requested together by offset: one more round trip. Cutting it instead
        costs a round trip for the parts' first pages, then more for a part holding a
        burst, and blocks the windows after it (output is in window order). Not beyond
        `window_records` (the user's size for a checkpoint) nor beyond offset's reach.
        """
        return total is not None and self.concurrency > 1 and total <= self._at_once_most

    @property
    def _at_once_most(self) -> int:
        return min(self.window_records, OFFSET_CAP, AT_ONCE_PAGES * self.page_size)

    @property
    def budget(self) -> int:
        """Most pages in memory before readers (the head's aside) wait to request another.

        Two per reader: one in flight, one waiting for the consumer. With one and a
        few spare, readers of a slow API sat waiting while the consumer emitted the
        previous round of pages (50,000 CDRs at 250 ms a page: 2.4 s instead of 2.2 s).
        """
        return self.concurrency * PAGES_HELD_PER_READER

    @property
    def ahead(self) -> int:
        """Events one reader may hold: its window's pages and its end, up to the budget's share."""
        return min(PAGES_HELD_PER_READER, math.ceil(self.limit / self.page_size) + 1)

    def parts(self, window: Window, holds: float | None, *, whole_range: bool = False) -> int:
        """Into how many windows to cut one holding `holds` CDRs (1: read it whole).

        The whole range is cut to the target. A window found over its size later is
        uneven data (time is cut evenly, CDRs are not): its parts are cut to what
        `at_once` can read whole, as fewer parts cost fewer requests when most of them
        turn out nearly empty.
        """
        if holds is None or not window.splittable or holds <= self.limit:
            return 1
        target = self.target
        if self.totals_known and not whole_range and self.concurrency > 1:
            target = max(target, math.floor(self._at_once_most * FILL))
        return max(2, math.ceil(holds / target))

    def learn(self, window: Window, received: int) -> None:
        """Remember a completed window's density."""
        with self._lock:
            self._recent.append((received, window.end_ms - window.start_ms))

    def estimate(self, window: Window) -> float | None:
        """What an unread window likely holds, from recent densities (None: nothing learned)."""
        with self._lock:
            if not self._recent:
                return None
            received = sum(r for r, _ in self._recent)
            span = sum(s for _, s in self._recent)
        return received / max(1, span) * (window.end_ms - window.start_ms)

    def parts_on_overflow(self, window: Window) -> int:
        """Parts for a window found, while read without a total, to hold over the target."""
        estimate = self.estimate(window) or 0.0
        return max(2, self.concurrency, self.parts(window, estimate))
