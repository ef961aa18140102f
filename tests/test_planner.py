"""The read planner alone: made-up first pages in, decisions out, no HTTP.

The property test reads random data shapes through the planner's decisions against an
in-memory API (every order, capped counts, bursts) and checks that every plan covers
its range exactly once and that every CDR is read exactly once.
"""

from __future__ import annotations

import bisect
import random
from collections import Counter
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_voiso.cdrs.planner import (
    CAPPED_PARTS,
    MAX_SPLIT_WINDOWS,
    OPENING_SPAN_MS,
    OPENING_WINDOWS,
    AtOnce,
    Cut,
    Done,
    FirstPage,
    Follow,
    Planner,
)
from tap_voiso.cdrs.windows import Window
from tap_voiso.settings import OFFSET_CAP
from tap_voiso.shared.errors import OffsetCapError, TooManyWindowsError

HOUR = 3_600_000
DAY = 24 * HOUR
PLANNER = Planner(page_size=1000, window_records=10_000)


def first_page(data: list[int], window: Window, *, order: str = "asc", cap: int = 0) -> FirstPage:
    """What the API's first page says for `window` over `data` (epoch ms, any order)."""
    inside = sorted(t for t in data if window.start_ms <= t < window.end_ms)
    if order == "desc":
        inside.reverse()
    elif order == "shuffle":
        random.Random(window.start_ms).shuffle(inside)  # noqa: S311
    page = inside[: PLANNER.page_size]
    total = min(len(inside), cap) if cap else len(inside)
    return FirstPage(len(page), total, cursor=len(inside) > len(page), started=tuple(page))


def held(data: list[int], part: Window) -> int:
    ordered = sorted(data)
    return bisect.bisect_left(ordered, part.end_ms) - bisect.bisect_left(ordered, part.start_ms)


def assert_covers(parts: tuple[Window, ...], window: Window) -> None:
    assert parts[0].start_ms == window.start_ms
    assert parts[-1].end_ms == window.end_ms
    assert all(a.end_ms == b.start_ms for a, b in pairwise(parts))
    assert all(p.start_ms < p.end_ms for p in parts)


def spread(count: int, start: int, span: int, seed: int = 1) -> list[int]:
    rng = random.Random(seed)  # noqa: S311
    return [start + rng.randrange(span) for _ in range(count)]


def test_a_short_page_is_the_whole_window():
    window = Window(0, DAY)
    assert PLANNER.first(window, first_page(spread(400, 0, DAY), window)) == Done()


def test_a_total_under_10000_has_its_other_pages_requested_together_by_offset():
    window = Window(0, DAY)
    plan = PLANNER.first(window, first_page(spread(3500, 0, DAY), window))
    assert plan == AtOnce((1000, 2000, 3000))


def test_a_full_page_past_the_total_is_paged_on_not_taken_as_the_end():
    window = Window(0, DAY)
    page = FirstPage(1000, 500, cursor=False, started=tuple(range(0, DAY, DAY // 1000)))
    assert PLANNER.first(window, page) == Follow()
    # And no page ends the window on the total's word: a full page is never the last.
    assert not PLANNER.last_page(1000, cursor=False, received=3000, total=3000, cursors=False)
    assert PLANNER.last_page(999, cursor=False, received=2999, total=500, cursors=False)
    # Where the API pages by cursor, a page without one is where its cursors run out.
    assert PLANNER.last_page(1000, cursor=False, received=3000, total=3000, cursors=True)


def test_a_total_of_10000_is_a_lower_bound_and_is_cut_never_read_as_exact():
    window = Window(0, 30 * DAY)
    data = spread(40_000, 0, 30 * DAY)
    plan = PLANNER.first(window, first_page(data, window, cap=OFFSET_CAP))
    assert isinstance(plan, Cut)
    assert len(plan.parts) >= CAPPED_PARTS
    assert_covers(plan.parts, window)
    # In ascending order the page's density says how much more there is: one step.
    assert all(held(data, part) < OFFSET_CAP for part in plan.parts)


def test_empty_months_before_the_data_cost_no_window():
    """start_date 11 months before the CDRs: no part lies in the empty stretch."""
    window = Window(0, 330 * DAY)
    data = spread(50_000, 270 * DAY, 60 * DAY)
    plan = PLANNER.first(window, first_page(data, window))
    assert isinstance(plan, Cut)
    assert_covers(plan.parts, window)
    assert all(held(data, part) > 0 for part in plan.parts)
    assert all(held(data, part) <= PLANNER.limit for part in plan.parts)


@pytest.mark.parametrize("order", ["asc", "desc", "shuffle"])
def test_a_campaign_hour_is_cut_out_in_one_step(order):
    """A window of 4 days holding 1,000 CDRs a day and 7,000 in one campaign hour."""
    window = Window(0, 4 * DAY)
    data = spread(4000, 0, 4 * DAY) + spread(7000, 2 * DAY + 5 * HOUR, HOUR, seed=2)
    plan = PLANNER.first(window, first_page(data, window, order=order))
    assert isinstance(plan, Cut)
    assert_covers(plan.parts, window)
    assert all(held(data, part) <= PLANNER.limit for part in plan.parts), [
        held(data, p) for p in plan.parts
    ]


def test_a_burst_at_the_end_of_an_ascending_page_gets_a_window_of_its_own():
    window = Window(0, DAY)
    data = spread(900, 0, HOUR) + [HOUR + 5] * 11_000
    plan = PLANNER.first(window, first_page(data, window))
    assert isinstance(plan, Cut)
    assert Window(HOUR + 5, HOUR + 6) in plan.parts


def test_a_millisecond_over_the_cap_follows_its_cursor_or_stops_without_one():
    window = Window(5, 6)
    page = FirstPage(1000, 12_000, cursor=True, started=(5,) * 1000)
    assert PLANNER.first(window, page) == Follow()
    with pytest.raises(OffsetCapError, match="holds 12000 CDRs in one millisecond"):
        PLANNER.first(window, FirstPage(1000, 12_000, cursor=False, started=(5,) * 1000))


def test_an_absurd_total_stops_instead_of_building_windows_without_end():
    window = Window(0, 180 * DAY)
    page = FirstPage(1000, 10**30, cursor=True, started=tuple(range(0, 1000 * HOUR, HOUR)))
    with pytest.raises(TooManyWindowsError, match=f"more than the {MAX_SPLIT_WINDOWS:,}"):
        PLANNER.first(window, page)


def test_without_a_total_an_ordered_page_estimates_and_a_sample_follows():
    window = Window(0, 30 * DAY)
    data = spread(30_000, 0, 30 * DAY)
    asc = first_page(data, window)
    no_total = FirstPage(asc.count, None, cursor=True, started=asc.started)
    plan = PLANNER.first(window, no_total)
    assert isinstance(plan, Cut)
    assert all(held(data, part) <= PLANNER.limit for part in plan.parts)
    shuffled = first_page(data, window, order="shuffle")
    sample = FirstPage(shuffled.count, None, cursor=True, started=shuffled.started)
    assert PLANNER.first(window, sample) == Follow()
    cut = PLANNER.overflow(window, PLANNER.limit, sample)
    assert cut is not None
    assert_covers(cut.parts, window)


# -- how a range opens -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "concurrency", "windows"),
    [
        (OPENING_SPAN_MS, 12, OPENING_WINDOWS),
        (3 * 365 * DAY, 12, OPENING_WINDOWS),
        (OPENING_SPAN_MS, 100, OPENING_WINDOWS),
        (OPENING_SPAN_MS, 4, 2),  # at most half the requests in flight
        (OPENING_SPAN_MS - 1, 12, 1),  # shorter: an hourly or daily run's one first request
        (OPENING_SPAN_MS, 3, 1),
        (OPENING_SPAN_MS, 1, 1),  # one request at a time: more windows only cost requests
    ],
)
def test_a_long_range_opens_as_windows_evenly_in_time(span, concurrency, windows):
    window = Window(5 * DAY, 5 * DAY + span)
    opening = PLANNER.opening(window, concurrency)
    assert len(opening) == windows
    assert_covers(opening, window)
    lengths = [part.end_ms - part.start_ms for part in opening]
    assert max(lengths) - min(lengths) <= 1


def test_a_range_of_late_cdrs_opens_as_one_window():
    """It holds what ended since the previous run, whatever the lookback: few CDRs."""
    late = Window(0, 2 * OPENING_SPAN_MS, ended_from_ms=2 * OPENING_SPAN_MS)
    assert PLANNER.opening(late, 12) == (late,)


# -- the property: every plan covers its range exactly once ---------------------------


@st.composite
def shapes(draw: st.DrawFn) -> tuple[list[int], Window]:
    """A range and CDRs in it: even, in a few clusters, bursts of one millisecond."""
    span = draw(st.integers(10, 400)) * DAY
    rng = random.Random(draw(st.integers(0, 10**6)))  # noqa: S311
    data: list[int] = []
    for _ in range(draw(st.integers(1, 4))):
        start = rng.randrange(span)
        width = rng.choice([1, 1000, HOUR, DAY, 30 * DAY])
        data += [min(span - 1, start + rng.randrange(width)) for _ in range(rng.randrange(3000))]
    data += [rng.randrange(span) for _ in range(draw(st.integers(0, 30_000)))]
    return data, Window(0, span)


def read_by_plan(
    planner: Planner,
    data: list[int],
    window: Window,
    order: str,
    cap: int,
    with_total: bool,
    concurrency: int = 1,
) -> tuple[Counter[int], list[Window]]:
    """Read `window` as the planner says, against an in-memory API; CDRs read and windows."""
    ordered = sorted(data)
    read: Counter[int] = Counter()
    leaves: list[Window] = []
    opening = planner.opening(window, concurrency)
    assert_covers(opening, window)
    todo: list[tuple[Window, int | None, int]] = [(part, None, 0) for part in reversed(opening)]
    while todo:
        current, parent_total, depth = todo.pop()
        assert depth < 80, "the plan does not converge"
        lo = bisect.bisect_left(ordered, current.start_ms)
        hi = bisect.bisect_left(ordered, current.end_ms)
        inside = ordered[lo:hi]
        page = first_page(inside, current, order=order, cap=cap)
        if not with_total:
            page = FirstPage(page.count, None, page.cursor, page.started)
        plan = planner.first(current, page, parent_total)
        if isinstance(plan, Cut):
            assert_covers(plan.parts, current)
            todo += [(part, page.total, depth + 1) for part in reversed(plan.parts)]
            continue
        if isinstance(plan, AtOnce):
            assert page.total is not None
            assert page.total < OFFSET_CAP
            assert max(plan.offsets) < OFFSET_CAP
        if isinstance(plan, Follow) and not with_total and len(inside) > planner.limit:
            cut = planner.overflow(current, planner.limit, page)
            if cut is not None:
                assert_covers(cut.parts, current)
                todo += [(part, None, depth + 1) for part in reversed(cut.parts)]
                continue
        read.update(inside)  # the window's pages, read to their end
        leaves.append(current)
    return read, leaves


@settings(max_examples=60, deadline=None)
@given(
    shape=shapes(),
    order=st.sampled_from(["asc", "desc", "shuffle"]),
    cap=st.sampled_from([0, OFFSET_CAP]),
    with_total=st.booleans(),
    page_size=st.sampled_from([100, 1000]),
    window_records=st.sampled_from([1000, 10_000]),
    concurrency=st.sampled_from([1, 12]),
)
def test_every_plan_covers_the_range_exactly_once(
    shape, order, cap, with_total, page_size, window_records, concurrency
):
    data, window = shape
    planner = Planner(page_size=page_size, window_records=window_records)
    global PLANNER  # noqa: PLW0603 (first_page pages by the planner under test)
    saved, PLANNER = PLANNER, planner
    try:
        read, leaves = read_by_plan(planner, data, window, order, cap, with_total, concurrency)
    finally:
        PLANNER = saved
    assert read == Counter(data)  # every CDR once: no gap, no overlap
    leaves.sort(key=lambda w: w.start_ms)
    assert_covers(tuple(leaves), window)
