"""How a range is read: what to do next, from what the API has said about a window.

Pure functions, no I/O and no shared state: the chain (`chain.py`) pages one window
and asks here what its first page means; the scheduler runs readers. The rules:

- **Pages are facts, totals are claims.** A window ends on a short page (or one
  whose cursor runs out), never on `metadata.total`'s word alone. A full page past
  the total, or more CDRs than it claimed, means the count is wrong: the window is
  then paged on as if it had none.
- **A total of 10,000 or more is a lower bound** (a search engine's "10,000 or
  more"): such a window is cut until its parts report less, and never read as if the
  count were exact. Below that, and within `window_records`, the window's other pages
  are known: they are requested together by offset (`AtOnce`), one round trip.
- **Cut where the data is.** A window holding more is cut into parts of about
  `target` CDRs by a model of where its CDRs lie, built from the `started_at` of the
  CDRs on its first page: in ascending order the first is where the window's data
  begins and the page's span is its first page's worth; in descending order the
  mirror; in any other order the page is a sample of the whole. Empty stretches (a
  year before the first CDR, nights, weekends) fall inside a neighbouring part and
  cost no request; a crowded hour gets parts of its own at once, not by halving.
  Whatever the model gets wrong costs requests, never CDRs: the parts always cover
  the window exactly, and each part is judged again by its own first page.
- **A long range opens as several windows.** Its first page alone shows where its
  data begins, not how the rest spreads: CDRs in 2 of 11 months were modelled over
  the 9 months after the first, and the two windows that held them were cut again, a
  round trip later. A range of `OPENING_SPAN_MS` or more (a backfill; not an hourly
  run, nor its late CDRs) is read as `OPENING_WINDOWS` windows evenly in time, their
  first pages together: a coarse histogram in the round trip that a lone first page
  took, at the cost of a request for each window that turns out empty.
- A split creates at most `MAX_SPLIT_WINDOWS` windows: a total beyond that (say
  10^30) stops the run with a message, instead of building windows without end.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby, pairwise

from tap_voiso.cdrs.windows import Window
from tap_voiso.settings import OFFSET_CAP
from tap_voiso.shared.errors import OffsetCapError, TooManyWindowsError

# Parts are cut to hold this share of what a window may hold: data is uneven, and a
# part the model under-estimates still fits (business hours, a campaign hour).
FILL = 0.5
# A part holding this share of what the window it was cut from held is read whole:
# its CDRs are crowded into a few milliseconds, where cutting again is futile.
CONCENTRATED = 0.9
# A window whose count is capped ("10,000 or more") holds an unknown multiple of it.
CAPPED_PARTS = 4
# The most windows one split may create (about 100 bytes each while queued).
MAX_SPLIT_WINDOWS = 100_000
# A range this long or longer opens as `OPENING_WINDOWS` windows (at most half the
# requests the run sends at once): a quarter of a year, so an hourly or daily run
# makes one first request, and a backfill of months a first round trip of several.
OPENING_SPAN_MS = 90 * 86_400_000
OPENING_WINDOWS = 6
# The most parts an estimate (no usable total) cuts a window into: a guess may be far
# off, and each part is judged again by its own first page.
MAX_ESTIMATED_PARTS = 64


@dataclass(frozen=True)
class FirstPage:
    """What a window's first page said: all the planner goes by.

    `started` holds the `started_at` (epoch ms) of the page's CDRs that lie inside
    the window, in the API's order.
    """

    count: int
    total: int | None
    cursor: bool
    started: tuple[int, ...] = ()


@dataclass(frozen=True)
class Done:
    """The first page was the whole window."""


@dataclass(frozen=True)
class AtOnce:
    """Request the window's other pages together, at these offsets, then go on as `Follow`."""

    offsets: tuple[int, ...]


@dataclass(frozen=True)
class Follow:
    """Page on one page at a time: by cursor, or by offset when none came back."""


@dataclass(frozen=True)
class Cut:
    """Read the window as these parts instead (they cover it exactly, in order)."""

    parts: tuple[Window, ...]
    holds: str  # what the window was found to hold, for the log


Plan = Done | AtOnce | Follow | Cut


@dataclass(frozen=True)
class Planner:
    """The decisions for one run's windows, from its settings."""

    page_size: int
    window_records: int

    @property
    def limit(self) -> int:
        """The most CDRs a window may hold and be read whole: within offset's reach."""
        return min(self.window_records, OFFSET_CAP - 1)

    @property
    def target(self) -> int:
        """CDRs a part is cut to hold."""
        return max(1, math.floor(self.limit * FILL))

    def opening(self, window: Window, concurrency: int) -> tuple[Window, ...]:
        """The windows a range is read as before anything is known of it.

        One, unless the range is long (and not a range of late CDRs, which holds what
        ended since the previous run): then several, evenly in time, as many as half
        the requests in flight allow.
        """
        count = min(OPENING_WINDOWS, concurrency // 2)
        span = window.end_ms - window.start_ms
        if count < 2 or span < OPENING_SPAN_MS or window.ended_from_ms is not None:
            return (window,)
        edges = [window.start_ms + span * i // count for i in range(count + 1)]
        return tuple(Window(a, b) for a, b in pairwise(edges))

    def first(self, window: Window, page: FirstPage, parent_total: int | None = None) -> Plan:
        """What to do after a window's first page."""
        full = page.count >= self.page_size
        total = page.total
        if total is not None and page.count > total:
            total = None  # a page past the total: the count is wrong, go by the pages
        if not full and (not page.cursor if total is None else page.count >= total):
            return Done()
        if total is None:
            return self._without_total(window, page)
        if total <= self.limit:
            return self._rest(page, total, full=full)
        return self._over(window, page, total, parent_total, full=full)

    def _over(
        self, window: Window, page: FirstPage, total: int, parent_total: int | None, *, full: bool
    ) -> Plan:
        """A window whose total says it holds more than `limit`: cut it, or read it whole."""
        capped = total >= OFFSET_CAP
        concentrated = parent_total is not None and total >= CONCENTRATED * parent_total
        if window.splittable and (capped or not concentrated):
            if total == OFFSET_CAP:  # the cap itself: any number of CDRs from there on
                holding = max(total, self.estimate(window, page) or 0)
                described = f"{total:,} or more CDRs"
                return self.cut(window, holding, page, described, CAPPED_PARTS, claimed=total)
            return self.cut(window, total, page, f"{total:,} CDRs", claimed=total)
        if not capped:  # crowded into a few milliseconds: offset reaches it all
            return self._rest(page, total, full=full)
        if page.cursor:  # one millisecond, or cut as far as it goes: only a cursor reaches it
            return Follow()
        msg = (
            f"Cannot read started_at in {window}: it holds {total} CDRs in one millisecond "
            f"(or more: a count of {OFFSET_CAP} or more is a lower bound), and without a "
            f"cursor the API pages only the first {OFFSET_CAP}."
        )
        raise OffsetCapError(msg)

    def _rest(self, page: FirstPage, total: int, *, full: bool) -> Plan:
        """The pages after a full first page, by offset; after a short one, page on."""
        offsets = tuple(range(self.page_size, total, self.page_size)) if full else ()
        return AtOnce(offsets) if offsets else Follow()

    def _without_total(self, window: Window, page: FirstPage) -> Plan:
        """No total (or a wrong one): cut by the page's density if it says the window is big."""
        estimate = self.estimate(window, page)
        if estimate is not None and estimate > self.limit and window.splittable:
            return self.cut(window, estimate, page, f"about {estimate:,} CDRs (estimated)")
        return Follow()

    def overflow(self, window: Window, received: int, page: FirstPage) -> Cut | None:
        """Paging without a total: a window found to hold more than `limit` is cut then.

        What it holds beyond `received` is unknown; its parts are cut for twice that.
        """
        if received < self.limit or not window.splittable:
            return None
        return self.cut(window, 2 * received, page, f"over {received:,} CDRs (no usable total)")

    def cut(
        self,
        window: Window,
        holds: int,
        page: FirstPage,
        described: str,
        least: int = 2,
        *,
        claimed: int | None = None,
    ) -> Cut:
        """`window`, holding about `holds` CDRs, as parts of about `target` each.

        A `claimed` total (`metadata.total`) that would take more than
        `MAX_SPLIT_WINDOWS` parts stops the run; an estimate is only held to the bound.
        """
        parts = max(least, math.ceil(holds / self.target))
        if claimed is not None and math.ceil(claimed / self.target) > MAX_SPLIT_WINDOWS:
            msg = (
                f"started_at in {window} claims {described} (metadata.total): reading it would "
                f"take {parts:,} windows, more than the {MAX_SPLIT_WINDOWS:,} a split may make. "
                "A count this large is not believable; if it is genuine, read the range in "
                "slices with start_date and end_date."
            )
            raise TooManyWindowsError(msg)
        parts = min(parts, MAX_SPLIT_WINDOWS if claimed is not None else MAX_ESTIMATED_PARTS)
        edges = cut_edges(window, holds, page.started, parts, self.target)
        return Cut(tuple(Window(a, b, window.ended_from_ms) for a, b in pairwise(edges)), described)

    def estimate(self, window: Window, page: FirstPage) -> int | None:
        """What a window holds, from a full first page in ascending or descending order.

        The page is the window's first (or last) page's worth: its span and count give
        a density for the rest of the window. None for any other order: a sample's
        spread says nothing of how many it was drawn from.
        """
        started, count = page.started, len(page.started)
        if count < 2 or page.count < self.page_size or len(set(started)) < count // 2:
            return None  # a crowded page's span says nothing of the window's density
        if _ascending(started):
            span, rest = started[-1] - started[0] + 1, window.end_ms - started[-1]
        elif _ascending(started[::-1]):
            span, rest = started[0] - started[-1] + 1, started[-1] - window.start_ms
        else:
            return None
        return count + math.ceil(count * max(0, rest - 1) / span)

    def last_page(
        self, count: int, cursor: bool, received: int, total: int | None, *, cursors: bool
    ) -> bool:
        """Whether a page ends its window: the pages say so, not the total alone.

        With a cursor, only a short page that reaches the total ends it (an empty
        page with a cursor may come before more). Without one, where earlier pages of
        the window had cursors (`cursors`), the cursor has run out: the end. Where none
        did, a short (or empty) page ends it, unless the total says more are due: those
        are paged for by offset, as is whatever follows a full page.
        """
        if cursor:
            return total is not None and received >= total and count < self.page_size
        if count == 0 or cursors:
            return True
        return count < self.page_size and (total is None or received >= total)


def _ascending(values: Sequence[int]) -> bool:
    return all(a <= b for a, b in pairwise(values))


def cut_edges(
    window: Window, holds: int, started: Sequence[int], parts: int, target: int
) -> list[int]:
    """Edges `[start, ..., end]` cutting `window` into about `parts` parts of equal CDRs.

    By the model of the module docstring: cumulative CDRs against time, piecewise
    linear through the page's CDRs. A millisecond the model puts `target` or more
    CDRs in gets a part of its own (it cannot be cut further).
    """
    a, b = window.start_ms, window.end_ms
    times, masses, heavy = _model(a, b, holds, [t for t in started if a <= t < b], target)
    edges = {a, b}
    for i in range(1, parts):
        edges.add(_inverse(times, masses, i * masses[-1] / parts))
    for moment in heavy:
        edges.update((moment, moment + 1))
    return sorted(edge for edge in edges if a <= edge <= b)


def _model(
    a: int, b: int, holds: int, inside: list[int], target: int
) -> tuple[list[float], list[float], list[int]]:
    """Knots of cumulative CDRs over `[a, b)`, and the milliseconds that hold `target` or more."""
    count = len(inside)
    holds = max(holds, count, 1)
    if count < 2:
        return [float(a), float(b)], [0.0, float(holds)], []
    ascending, descending = _ascending(inside), _ascending(inside[::-1])
    ordered = ascending or descending
    scale = 1.0 if ordered else holds / count
    # An ordered page shows one edge of the window: half a page in one millisecond
    # there likely goes on past the page.
    crowded = min(target, max(2, count // 2)) if ordered else target
    before = float(holds - count) if descending and not ascending else 0.0
    times, masses, heavy = [float(a)], [0.0], []
    seen = 0
    for moment, group in groupby(sorted(inside)):
        crowd = sum(1 for _ in group)
        times += [float(moment), float(moment + 1)]
        masses += [before + seen * scale, before + (seen + crowd) * scale]
        seen += crowd
        if crowd * scale >= crowded:
            heavy.append(moment)
    times.append(float(b))
    masses.append(float(holds) if ordered else masses[-1])
    # Where an ordered page ends, a millisecond it holds several CDRs of (a burst) may
    # go on past the page: it gets a part of its own while much is still to come.
    edge = inside[-1]
    if ordered and holds - count >= target and inside.count(edge) > 1 and edge not in heavy:
        heavy.append(edge)
    return times, masses, heavy


def _inverse(times: list[float], masses: list[float], mass: float) -> int:
    """The moment (whole ms) by which the model has `mass` CDRs."""
    index = bisect.bisect_left(masses, mass)
    if index == 0:
        return int(times[0])
    if index >= len(masses):
        return int(times[-1])
    low, high = masses[index - 1], masses[index]
    share = 0.0 if high == low else (mass - low) / (high - low)
    return math.floor(times[index - 1] + share * (times[index] - times[index - 1]))
