"""Every API behaviour the reference allows: every CDR exactly once, or a non-zero exit.

No cursor at all, cursors that expire, no `metadata.total`, a listing short of its
total, and readers kept under control (the cap on requests in flight, a failure or
a signal stopping them all). Each test checks the output against what the simulator
holds, not against another run of the tap.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from itertools import pairwise

import pytest

from tap_voiso.cdrs.windows import iso_ms
from tap_voiso.shared.errors import IncompleteWindowError, VoisoAPIError
from tests.conftest import (
    END,
    SHORT_END,
    START,
    assert_exactly_once,
    parse_messages,
    queries,
    run_cli,
    run_tap,
    singer_lines,
    start_cli,
    tap_config,
)
from voiso_simulator.data import parse_iso


def test_no_cursor_at_all_reads_every_window_by_offset(make_sim):
    server = make_sim(records=30_000, burst=0, cursors=False)
    result = run_tap(tap_config(server))
    assert_exactly_once(result, server)
    requests = server.simulator.requests
    assert not any("cursor=" in r for r in requests)
    assert any("offset=" in r for r in requests)  # windows went on past their first page


def test_no_cursor_and_a_millisecond_over_10000_stops_naming_it(make_sim, tmp_path):
    server = make_sim(records=21_000, burst=10_500, cursors=False)
    result = run_cli(tap_config(server), tmp_path, timeout=120)
    assert result.returncode == 1
    assert "holds 10500 CDRs in one millisecond" in result.stderr
    assert "first 10000" in result.stderr


@pytest.mark.parametrize("order", ["asc", "desc", "shuffle"])
def test_expiring_cursors_fall_back_to_the_offset_sent_with_them(make_sim, order):
    # No total: windows are paged by cursor (with one, their pages go out by offset).
    server = make_sim(
        records=8000, burst=1500, order=order, cursor_expire_every=3, send_total=False
    )
    # Two readers: windows of several pages each, so chains of cursors.
    result = run_tap(tap_config(server, page_size=200, window_records=2000, concurrency=2))
    assert_exactly_once(result, server)
    cursor_requests = [r for r in server.simulator.requests if "cursor=" in r]
    assert len(cursor_requests) >= 9  # so at least three cursors expired on the way
    assert all("offset=" in r for r in cursor_requests)


def test_no_total_sizes_windows_from_the_data_checkpoints_often_and_reads_in_parallel(make_sim):
    server = make_sim(records=20_000, burst=0, send_total=False, latency_ms=20)
    result = run_tap(tap_config(server, page_size=250, window_records=1000, concurrency=4))
    assert_exactly_once(result, server)
    marks = result.bookmarks
    assert marks == sorted(marks)
    assert len(marks) >= 20_000 / 2500
    # CDRs emitted between two checkpoints stay near window_records.
    emitted_since, most = 0, 0
    for message in result.messages:
        if message["type"] == "RECORD":
            emitted_since += 1
        elif message["type"] == "STATE":
            most, emitted_since = max(most, emitted_since), 0
    assert most <= 2.5 * 1000, most
    assert server.simulator.max_inflight > 1


def test_no_total_and_no_cursor(make_sim):
    server = make_sim(records=12_000, burst=600, send_total=False, cursors=False)
    result = run_tap(tap_config(server, page_size=500, window_records=2000))
    assert_exactly_once(result, server)


def test_no_total_and_desc_order_with_expiring_cursors(make_sim):
    server = make_sim(records=6000, burst=0, send_total=False, order="desc", cursor_expire_every=2)
    result = run_tap(tap_config(server, page_size=300, window_records=1500))
    assert_exactly_once(result, server)


def test_a_window_short_of_its_total_is_read_again_before_its_checkpoint(make_sim, caplog):
    server = make_sim(records=3000, burst=0, omit_next=2)
    result = run_tap(tap_config(server, concurrency=1))
    assert_exactly_once(result, server)
    assert "reading it again before its checkpoint" in caplog.text


def test_a_window_that_stays_short_stops_the_run_and_the_bookmark_stays_before_it(
    make_sim, tmp_path
):
    server = make_sim(records=3000, burst=0, total_bias=5)
    config = tap_config(server, window_records=1000, page_size=500)
    result = run_cli(config, tmp_path, timeout=120)
    assert result.returncode == 1
    assert "Incomplete window: started_at in [" in result.stderr
    assert "read twice it gave" in result.stderr
    assert not parse_messages(result.stdout).bookmarks  # the first window never completed
    with pytest.raises(IncompleteWindowError):
        run_tap(config)


def test_requests_in_flight_never_exceed_concurrency_through_splits(make_sim):
    server = make_sim(records=20_000, burst=3000, latency_ms=40)
    result = run_tap(tap_config(server, concurrency=3, page_size=250, window_records=1000))
    assert_exactly_once(result, server)
    assert 2 <= server.simulator.max_inflight <= 3


def test_a_failing_window_stops_every_reader_at_once(make_sim):
    # The first request (the whole range) is served; the next three readers get a 503
    # asking for 30 s; the fourth gets a 401, which no retry can mend.
    server = make_sim(
        records=6000,
        burst=0,
        latency_ms=50,
        fail_next=["ok", "503", "503", "503", "401"],
        retry_after="seconds",
        retry_after_seconds=30,
    )
    sim = server.simulator
    began = time.monotonic()
    with pytest.raises(VoisoAPIError, match="HTTP 401"):
        run_tap(tap_config(server, concurrency=4, page_size=500))
    assert time.monotonic() - began < 10  # nobody sat out the 30 s
    (refused_at,) = [t for t, status in sim.answered if status == 401]
    # A window's pages wait for slots together: one freed by a 503 answered in the same
    # instant may go out while the tap is still reading the 401. Nothing after that.
    assert [t - refused_at for t in sim.started if t > refused_at + 0.02] == []


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_stdout_is_blocked_leaves_whole_lines_ending_with_a_state(
    make_sim, tmp_path, signum, code
):
    server = make_sim(records=30_000, burst=0, latency_ms=10)
    config = tap_config(server, page_size=500, window_records=2000, concurrency=4)
    with start_cli(config, tmp_path) as process:
        assert process.stdout is not None
        head = [process.stdout.readline() for _ in range(2000)]
        time.sleep(3)  # nothing reads: the pipe fills and the tap blocks writing
        process.send_signal(signum)
        time.sleep(1)
        rest = process.stdout.read()
        process.wait(timeout=30)
    assert process.returncode == code
    text = "".join(head) + rest
    messages = [json.loads(line) for line in singer_lines(text)]  # every line is whole JSON
    assert messages[-1]["type"] == "STATE"
    first = parse_messages(text)
    ids = Counter(r["id"] for r in first.records)
    assert max(ids.values()) == 1  # nothing written twice
    for state in first.states:  # the SDK's standard shape, mid-run too
        assert set(state["bookmarks"]["cdrs"]) <= {"replication_key", "replication_key_value"}
    served = {r["id"] for r in server.simulator.visible_records()}
    assert set(ids) < served  # it stopped early
    second = run_tap(config, state=first.states[-1])
    assert set(ids) | {r["id"] for r in second.records} == served


# -- counts: metadata.total is a claim, the pages are the facts ---------------------


def test_a_capped_total_with_cursors_is_cut_until_its_parts_report_less(make_sim):
    server = make_sim(records=30_000, burst=0, total_cap=10_000)
    result = run_tap(tap_config(server))
    assert_exactly_once(result, server)


def test_a_capped_total_without_cursors_is_cut_until_offset_reaches_every_part(make_sim):
    server = make_sim(records=30_000, burst=0, total_cap=10_000, cursors=False)
    result = run_tap(tap_config(server))
    assert_exactly_once(result, server)
    assert not any("cursor=" in r for r in server.simulator.requests)


def test_a_capped_total_with_cursors_that_expire(make_sim):
    server = make_sim(records=30_000, burst=0, total_cap=10_000, cursor_expire_every=2)
    result = run_tap(tap_config(server))
    assert_exactly_once(result, server)


def test_a_total_below_what_the_api_holds_is_paged_past_without_a_cursor(make_sim):
    """500 reported, 3,000 held, no cursor: a full page past the total is not the end."""
    server = make_sim(records=3000, burst=0, total_cap=500, cursors=False)
    # The range the data spans: one window, paged by offset.
    span = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-01-31T00:00:00Z"}
    result = run_tap(tap_config(server, **span))
    assert len(server.simulator.requests) == 4  # 1,000, 1,000, 1,000, then an empty page
    assert_exactly_once(result, server)


def test_an_absurd_total_stops_the_run_instead_of_building_windows(make_sim, tmp_path):
    server = make_sim(records=2000, burst=0, total_bias=10**30)
    began = time.monotonic()
    result = run_cli(tap_config(server, end_date=SHORT_END), tmp_path, timeout=60)
    assert result.returncode == 1
    assert "claims 1,000,000,000,000,000,000,000,000,002,000 CDRs" in result.stderr
    assert "more than the 100,000 a split may make" in result.stderr
    assert time.monotonic() - began < 30
    assert len(server.simulator.requests) == 1


# The tests' range is 182 days, so at the default concurrency it opens as 6 windows. Here
# the data spans the whole range, with 1,200 CDRs in one millisecond exactly on the edge
# between the 3rd opening window and the 4th (the middle of the range).
@pytest.mark.parametrize(
    "mode",
    [
        {},
        {"order": "desc"},
        {"order": "shuffle"},
        {"cursors": False},
        {"cursor_expire_every": 2},
        {"send_total": False},
        {"total_cap": 10_000},
        {"total_cap": 10_000, "cursors": False},
    ],
    ids=lambda mode: ",".join(f"{k}={v}" for k, v in mode.items()) or "default",
)
def test_a_long_range_opens_as_windows_and_every_cdr_comes_once(make_sim, mode):
    server = make_sim(records=30_000, burst=1200, start=START, span_days=182, **mode)
    sim = server.simulator
    middle = (parse_iso(START) + parse_iso(END)) // 2
    assert sum(1 for t in sim.dataset.started if t == middle) == 1200  # the burst is on the edge
    result = run_tap(tap_config(server))
    assert_exactly_once(result, server)
    first_pages = {
        (q["started_at[gte]"][0], q["started_at[lt]"][0])
        for q in queries(server)
        if "offset" not in q and "cursor" not in q
    }
    start, span = parse_iso(START), parse_iso(END) - parse_iso(START)
    edges = [iso_ms(start + span * i // 6) for i in range(7)]
    assert edges[3] == iso_ms(middle)
    assert set(pairwise(edges)) <= first_pages  # the 6 opening windows
