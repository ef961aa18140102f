"""Parallel windows: really parallel, output in order, bounded, and polite on 429."""

from __future__ import annotations

import contextlib
import gc
import threading
import time
import weakref
from collections import Counter
from datetime import datetime, timezone

import msgspec
import pytest

from tap_voiso.cdrs.chain import Chain, PageRead, WindowDone
from tap_voiso.cdrs.pages import Page, PageToken
from tap_voiso.cdrs.planner import Planner
from tap_voiso.cdrs.scheduler import PagesInMemory, read_windows
from tap_voiso.cdrs.windows import PAGES_HELD_PER_READER, Window
from tap_voiso.shared.errors import VoisoAPIError
from tap_voiso.shared.retries import Stopped
from tests.conftest import queries, run_tap, tap_config
from voiso_simulator.data import parse_iso


def test_windows_are_fetched_in_parallel(make_sim):
    server = make_sim(records=6000, burst=0, latency_ms=150)
    result = run_tap(tap_config(server, concurrency=8, page_size=500))
    assert len({r["id"] for r in result.records}) == 6000
    assert server.simulator.max_inflight >= 4


def test_concurrency_1_sends_one_request_at_a_time(make_sim):
    server = make_sim(records=3000, burst=0, latency_ms=20)
    run_tap(tap_config(server, concurrency=1, page_size=500))
    assert server.simulator.max_inflight == 1


def test_parallel_output_is_the_sequential_output_in_the_same_order(make_sim):
    server = make_sim(records=5000, burst=700)
    parallel = run_tap(tap_config(server, concurrency=8, page_size=250, window_records=1000))
    sequential = run_tap(tap_config(server, concurrency=1, page_size=250, window_records=1000))
    assert [r["id"] for r in parallel.records] == [r["id"] for r in sequential.records]
    started = [r["started_at"] for r in parallel.records]
    assert started == sorted(started)  # window after window, each in the API's order
    assert parallel.bookmark == sequential.bookmark


def test_a_429_pauses_every_reader_for_the_retry_after(make_sim):
    server = make_sim(
        records=8000, burst=0, latency_ms=30, retry_after="seconds", retry_after_seconds=2
    )
    sim = server.simulator
    config = tap_config(server, concurrency=8, page_size=250)
    thread = threading.Thread(target=lambda: holder.append(run_tap(config)))
    holder: list = []
    thread.start()
    while len(sim.requests) < 12:  # the readers are under way
        time.sleep(0.005)
    sim.configure(fail_next=["429"])
    thread.join(timeout=60)
    result = holder[0]
    assert len({r["id"] for r in result.records}) == 8000
    (answered_429,) = [t for t, status in sim.answered if status == 429]
    # Requests already on the wire finish; no reader starts a new one during the pause.
    started_during_pause = [t for t in sim.started if answered_429 + 0.2 < t < answered_429 + 1.8]
    assert started_during_pause == []
    assert any(t >= answered_429 + 1.8 for t in sim.started)  # and then they recover


def page_of(ids: list[str], total: int | None, next_cursor: str | None = None) -> Page:
    """A page of the fake API: CDRs with these ids."""
    return Page(
        body=msgspec.json.encode({"cdrs": [{"id": i} for i in ids]}),
        ids=list(ids),
        total=total,
        next_cursor=next_cursor,
        extracted_at=datetime.now(timezone.utc),
    )


def pages_in(window: Window) -> int:
    """How many full pages the fake API holds for a window: 1 to 4, varying by window."""
    return 1 + window.start_ms % 4


def fake_pages(page_size: int, full: Window, delay: float = 0.0):
    """A fetch function serving `pages_in(window)` full pages, counting live reader threads.

    The whole range holds 12 windows' worth, so it is cut before anything is read.
    """
    live: Counter[str] = Counter()

    def fetch(token: PageToken, _stop) -> Page:
        live["max"] = max(
            live["max"], sum(t.name.startswith("window ") for t in threading.enumerate())
        )
        if token.window == full:
            return Page(b'{"cdrs":[]}', [], 12 * 4 * page_size, None, datetime.now(timezone.utc))
        time.sleep(delay)
        index = (token.offset or 0) // page_size if token.cursor is None else int(token.cursor) + 1
        pages = pages_in(token.window)
        if index >= pages:  # an offset past the end
            return page_of([], pages * page_size)
        ids = [f"{token.window.start_ms}-{index}-{i}" for i in range(page_size)]
        return page_of(ids, pages * page_size, str(index) if index + 1 < pages else None)

    return fetch, live


class FakeSource:
    """A page source without HTTP."""

    def __init__(self, fetch) -> None:
        self.fetch_page = fetch


def test_read_windows_keeps_order_and_at_most_concurrency_readers():
    page_size = 10
    full = Window(0, 120)
    fetch, live = fake_pages(page_size, full, delay=0.002)
    planner, concurrency = Planner(page_size=page_size, window_records=40), 3
    order: list[Window] = []
    pages_seen: Counter[Window] = Counter()
    source = FakeSource(fetch)
    for event in read_windows(source, full, planner, concurrency, lambda _: None):
        if isinstance(event, PageRead):
            pages_seen[event.window] += event.page.count > 0
            time.sleep(0.003)  # a consumer slower than the readers
        else:
            assert isinstance(event, WindowDone)
            order.append(event.window)
            assert event.received == pages_in(event.window) * page_size
    assert order == sorted(order, key=lambda w: w.start_ms)
    assert [w.start_ms for w in order[1:]] == [w.end_ms for w in order[:-1]]  # no gap
    assert (order[0].start_ms, order[-1].end_ms) == (0, 120)
    assert len(order) > 3  # the whole range was cut
    assert all(pages_seen[w] == pages_in(w) for w in order)
    assert live["max"] <= concurrency


def test_requests_reuse_connections_one_per_request_in_flight(make_sim):
    # A burst makes a window's other pages go out together, on threads of their own.
    server = make_sim(records=6000, burst=900)
    result = run_tap(tap_config(server, concurrency=2, page_size=250, window_records=1000))
    assert len(result.bookmarks) >= 6
    assert any("offset=" in p and "cursor=" not in p for p in server.simulator.requests)
    # One connection per request in flight (at most `concurrency`), not one per window.
    assert server.simulator.connections <= 2


def test_a_window_over_its_size_has_its_other_pages_requested_together():
    """35 CDRs, windows of one page of 10: the range is read whole, 3 pages at once.

    Each of the pages at offsets 10, 20 and 30 is answered only once all three have
    been asked for (a barrier): read one after the other, the run would fail.
    """
    page_size, total = 10, 35
    full = Window(0, 100)
    barrier = threading.Barrier(3, timeout=5)
    asked: list[PageToken] = []

    def fetch(token: PageToken, _stop) -> Page:
        asked.append(token)
        if token.offset:
            barrier.wait()
        start = token.offset or 0
        ids = [f"cdr-{i}" for i in range(start, min(start + page_size, total))]
        return page_of(ids, total)

    planner = Planner(page_size=page_size, window_records=1000)
    source = FakeSource(fetch)
    events = list(read_windows(source, full, planner, 4, lambda _: None))
    pages = [e for e in events if isinstance(e, PageRead)]
    assert [i for p in pages for i in p.page.ids] == [f"cdr-{i}" for i in range(total)]
    assert events[-1] == WindowDone(full, total)
    assert sorted(t.offset or 0 for t in asked) == [0, 10, 20, 30]
    assert all(t.cursor is None and t.window == full for t in asked)


@pytest.mark.parametrize("order", ["asc", "desc", "shuffle"])
def test_a_burst_is_read_whole_by_offset_not_cut(make_sim, order):
    """1,200 CDRs in one millisecond: the window holding them is read whole, not cut.

    Cut by time, its parts would take a round trip each, and the one holding the burst
    another one per page; read whole, its other pages go out together, by offset.
    """
    server = make_sim(records=20_000, burst=1200, order=order)
    served = server.simulator.visible_records()
    burst_ms, crowd = Counter(parse_iso(r["started_at"]) for r in served).most_common(1)[0]
    assert crowd == 1200
    # The range the data spans, cut into windows of a few thousand CDRs.
    config = tap_config(
        server,
        concurrency=4,
        page_size=500,
        start_date="2026-01-01T00:00:00Z",
        end_date="2026-01-31T00:00:00Z",
    )
    result = run_tap(config)
    assert Counter(r["id"] for r in result.records) == Counter(r["id"] for r in served)
    sent = queries(server)
    windows = [(q["started_at[gte]"][0], q["started_at[lt]"][0]) for q in sent]
    holding = {w for w in windows[1:] if parse_iso(w[0]) <= burst_ms < parse_iso(w[1])}
    assert len(holding) == 1, holding  # after the whole range's request: one window, not cut
    ((gte, lt),) = holding
    inside = sum(1 for r in served if parse_iso(gte) <= parse_iso(r["started_at"]) < parse_iso(lt))
    assert inside > 1200
    offsets = [
        int(q["offset"][0])
        for q, w in zip(sent, windows, strict=True)
        if w in holding and "offset" in q and "cursor" not in q
    ]
    assert sorted(offsets) == list(range(500, inside, 500))


def test_an_offset_page_that_leaves_a_cdr_out_gets_the_window_read_again():
    """Read at once, a window short of its total is re-read; each CDR is handed over once."""
    page_size, total = 10, 35
    full = Window(0, 100)
    served: Counter[int] = Counter()
    warnings: list[str] = []

    def fetch(token: PageToken, _stop) -> Page:
        start = token.offset or 0
        served[start] += 1
        ids = [f"cdr-{i}" for i in range(start, min(start + page_size, total))]
        if start == 20 and served[start] == 1:
            ids.remove("cdr-25")  # the first time only
        return page_of(ids, total)

    planner = Planner(page_size=page_size, window_records=1000)
    events = list(
        read_windows(FakeSource(fetch), full, planner, 4, lambda _: None, warn=warnings.append)
    )
    handed = [
        i
        for e in events
        if isinstance(e, PageRead)
        for i, fresh in zip(e.page.ids, e.fresh, strict=True)
        if fresh
    ]
    assert Counter(handed) == Counter(f"cdr-{i}" for i in range(total))
    assert events[-1] == WindowDone(full, total)
    assert any("gave 34 of its 35 CDRs" in w for w in warnings), warnings
    assert served[20] == 2  # the re-read came back for it


def test_a_failing_offset_page_stops_the_window_with_its_error():
    page_size, total = 10, 35
    full = Window(0, 100)

    def fetch(token: PageToken, _stop) -> Page:
        if token.offset == 20:
            raise VoisoAPIError("HTTP 401 Unauthorized: Voiso refused the API key")
        start = token.offset or 0
        ids = [f"cdr-{i}" for i in range(start, min(start + page_size, total))]
        return page_of(ids, total)

    planner = Planner(page_size=page_size, window_records=1000)
    events: list = []
    with pytest.raises(VoisoAPIError, match="401"):
        events.extend(read_windows(FakeSource(fetch), full, planner, 4, lambda _: None))
    assert not any(isinstance(e, WindowDone) for e in events)  # no checkpoint past it


def test_readers_past_a_stalled_head_stop_at_the_page_budget():
    """The window being emitted hangs on its first page; the readers after it run ahead.

    They stop once the pages in memory reach the budget, and a reader that has read
    its whole window keeps its pages but not its window's ids (its `Chain`). The test
    counts pages itself: every page the fake API made that something still refers to.
    Once the head answers, every window comes out whole and in order.
    """
    page_size = 10
    full = Window(10**9, 10**9 + 120)  # its own range: the test counts its own chains
    fetch, _ = fake_pages(page_size, full)
    planner, concurrency = Planner(page_size=page_size, window_records=40), 4
    budget = concurrency * PAGES_HELD_PER_READER
    made: list[weakref.ref[Page]] = []

    def alive() -> int:
        return sum(ref() is not None for ref in made)

    most_alive = 0
    last_fetch = time.monotonic()
    head_answers = threading.Event()

    def stalling_fetch(token: PageToken, stop) -> Page:
        nonlocal most_alive, last_fetch
        if token.window != full and token.window.start_ms == full.start_ms:
            head_answers.wait(timeout=10)
        page = fetch(token, stop)
        made.append(weakref.ref(page))
        most_alive = max(most_alive, alive())
        last_fetch = time.monotonic()
        return page

    emitted: list[tuple[Window, int]] = []  # no page kept: that would hold them in memory
    done: list[Window] = []

    def consume() -> None:
        source = FakeSource(stalling_fetch)
        for event in read_windows(source, full, planner, concurrency, lambda _: None):
            if isinstance(event, PageRead):
                emitted.append((event.window, event.page.count))
            else:
                done.append(event.window)

    consumer = threading.Thread(target=consume)
    consumer.start()
    while time.monotonic() - last_fetch < 0.3:  # until the readers have settled
        time.sleep(0.05)
    held_pages, most_held = alive(), most_alive
    chains = sum(
        isinstance(o, Chain) and o.window.start_ms >= full.start_ms for o in gc.get_objects()
    )
    head_answers.set()
    consumer.join(timeout=10)

    # Then the head, which never waits, may go past the budget by its own pages.
    assert 0 < held_pages <= most_held <= budget
    assert chains <= concurrency  # only readers still reading hold their window's ids
    assert done == sorted(done, key=lambda w: w.start_ms)
    assert [w.start_ms for w in done[1:]] == [w.end_ms for w in done[:-1]]
    assert (done[0].start_ms, done[-1].end_ms) == (full.start_ms, full.end_ms)
    # (A window of one full page without a cursor ends on an empty page after it.)
    pages = Counter(window for window, count in emitted if count)
    assert all(pages[w] == pages_in(w) for w in done)
    assert all(count in (0, page_size) for _, count in emitted)


def _granted_in_turn(pages: PagesInMemory, asks: list[tuple[PageToken, bool]]) -> list[PageToken]:
    """The order `pages` lets `asks` (token, whether it waits for memory) go, one slot free.

    Each ask is queued while a request holds the only slot; each lets go of its slot
    once granted, so the next in turn goes.
    """
    stop, order = threading.Event(), []
    holding = pages.request(PageToken(Window(0, 1)), lambda: False, stop)
    holding.__enter__()

    def ask(token: PageToken, waits: bool) -> None:
        with contextlib.suppress(Stopped), pages.request(token, lambda: waits, stop):
            order.append(token)

    threads = [threading.Thread(target=ask, args=pair) for pair in asks]
    for thread in threads:
        thread.start()
        time.sleep(0.05)  # queued in this order
    holding.__exit__(None, None, None)
    time.sleep(0.3)
    stop.set()  # whatever still waits gives up
    for thread in threads:
        thread.join(timeout=5)
    return order


def test_windows_first_pages_go_before_pages_of_earlier_windows():
    # A later window's first page may cut it into windows of their own: it must not
    # wait behind the other pages of an earlier window.
    earlier_page = PageToken(Window(0, 100), offset=1000)
    later_first = PageToken(Window(100, 200))
    order = _granted_in_turn(PagesInMemory(budget=36, in_flight=1), [
        (earlier_page, True), (later_first, True),
    ])  # fmt: skip
    assert order == [later_first, earlier_page]


def test_the_heads_pages_go_while_the_next_in_turn_waits_for_memory():
    pages = PagesInMemory(budget=4, in_flight=1)
    pages.count = 4  # the budget is spent
    later_first = PageToken(Window(100, 200))  # first in turn, but must wait for memory
    head_page = PageToken(Window(0, 100), offset=1000)  # the head's: never waits
    order = _granted_in_turn(pages, [(later_first, True), (head_page, False)])
    assert order == [head_page]  # and the page that must wait still waits
