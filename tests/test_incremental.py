"""Incremental sync over time: windows, checkpoints, the late-CDR bounds, resume after SIGKILL.

Late CDRs across scheduled runs (a clock, listing delays) are in test_late_cdrs.py.
"""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from tap_voiso.cdrs.windows import iso_ms
from tests.conftest import (
    bookmark_of,
    parse_messages,
    queries,
    read_until_checkpoint,
    run_tap,
    start_cli,
    tap_config,
)
from voiso_simulator.data import parse_iso

DAY_MS = 86_400_000


def at(text: str) -> int:
    return parse_iso(text)


def started_in(records, start_ms, end_ms):
    return {r["id"] for r in records if start_ms <= at(r["started_at"]) < end_ms}


def request_bounds(server):
    """`(started_at[gte], started_at[lt], ended_at[gte] or None)` of every request, in order."""
    bounds = []
    for query in queries(server):
        ended = query.get("ended_at[gte]", [None])[0]
        bounds.append((query["started_at[gte]"][0], query["started_at[lt]"][0], ended))
    return bounds


@pytest.mark.parametrize("order", ["asc", "desc", "shuffle"])
def test_no_state_ever_passes_a_record_not_yet_emitted(make_sim, order):
    server = make_sim(records=5000, burst=600, order=order)
    result = run_tap(tap_config(server, page_size=250, window_records=1000))
    served = server.simulator.visible_records()
    emitted: set[str] = set()
    checkpoints = 0
    for message in result.messages:
        if message["type"] == "RECORD":
            emitted.add(message["record"]["id"])
        elif message["type"] == "STATE":
            bookmark = bookmark_of(message["value"])
            if bookmark is None:
                continue
            checkpoints += 1
            assert started_in(served, 0, at(bookmark)) <= emitted
    assert checkpoints >= 5
    ids = Counter(r["id"] for r in result.records)
    assert max(ids.values()) == 1
    assert set(ids) == {r["id"] for r in served}


def test_end_date_is_an_exclusive_upper_bound(make_sim):
    server = make_sim(records=3000, burst=0)
    served = server.simulator.visible_records()
    end = at(served[1700]["started_at"])
    result = run_tap(tap_config(server, end_date=iso_ms(end), window_records=1000))
    assert {r["id"] for r in result.records} == started_in(served, 0, end)
    assert result.bookmark == iso_ms(end)


def test_a_crowded_millisecond_is_paged_whole_not_cut_level_after_level(make_sim):
    """2,500 CDRs in one millisecond, windows of at most 1,000: the crowd is paged through.

    Cut in halves, the crowd would take some 25 cuts, each a request in series, to
    isolate (100 requests in all here); a part that still holds nearly all of the
    window it was cut from is read whole instead (45).
    """
    server = make_sim(records=6000, burst=2500)
    served = server.simulator.visible_records()
    crowded_ms, crowd = Counter(at(r["started_at"]) for r in served).most_common(1)[0]
    assert crowd == 2500
    result = run_tap(tap_config(server, page_size=300, window_records=1000))
    assert Counter(r["id"] for r in result.records) == Counter(r["id"] for r in served)
    pages_per_window = Counter(bounds[:2] for bounds in request_bounds(server))
    crowded = [
        count for (gte, lt), count in pages_per_window.items() if at(gte) <= crowded_ms < at(lt)
    ]
    assert max(crowded) >= 2500 // 300  # one window paged through the crowd
    assert len(server.simulator.requests) <= 60, len(server.simulator.requests)


def test_sparse_three_year_range_costs_few_requests(make_sim):
    server = make_sim(records=5000, start="2025-01-01T00:00:00Z", span_days=60, burst=0)
    result = run_tap(
        tap_config(server, start_date="2023-03-01T00:00:00Z", end_date="2026-03-01T00:00:00Z")
    )
    assert len(result.records) == 5000
    requests = len(server.simulator.requests)
    # A calendar walk would cost ~1,096 day windows; reading 5,000 CDRs takes 5 pages.
    assert requests <= 15, requests


def test_without_start_date_the_tap_finds_where_data_begins(make_sim):
    server = make_sim(records=5000, start="2025-01-01T00:00:00Z", span_days=60, burst=0)
    result = run_tap(
        tap_config(server, start_date=None, end_date="2026-03-01T00:00:00Z", window_records=1000)
    )
    assert len(result.records) == 5000
    assert len(server.simulator.requests) <= 60, len(server.simulator.requests)


def test_bookmark_later_than_start_date_wins_and_start_date_bounds_the_late_cdrs(make_sim):
    server = make_sim(records=500)
    bookmark = "2026-01-10T00:00:00.000Z"
    state = {
        "bookmarks": {"cdrs": {"replication_key": "started_at", "replication_key_value": bookmark}}
    }
    run_tap(tap_config(server, start_date="2026-01-01T00:00:00Z"), state=state)
    late = request_bounds(server)[0]
    assert late == ("2026-01-01T00:00:00.000Z", bookmark, "2026-01-09T23:30:00.000Z")
    new = [bounds for bounds in request_bounds(server) if bounds[2] is None]
    assert min(bounds[0] for bounds in new) == bookmark  # (the range may open as windows)

    server.simulator.reset_log()
    run_tap(tap_config(server, start_date="2026-01-09T12:00:00Z"), state=state)
    assert request_bounds(server)[0][:2] == ("2026-01-09T12:00:00.000Z", bookmark)

    server.simulator.reset_log()  # a start_date after the bookmark leaves no late CDRs
    run_tap(tap_config(server, start_date="2026-01-15T00:00:00Z"), state=state)
    assert {b[2] for b in request_bounds(server)} == {None}
    assert min(b[0] for b in request_bounds(server)) == "2026-01-15T00:00:00.000Z"


def test_sigkill_mid_backfill_resumes_with_no_gap_and_a_bounded_reread(make_sim, tmp_path):
    server = make_sim(records=12000, burst=0, latency_ms=15)
    lookback_minutes = 60
    config = tap_config(
        server, page_size=500, window_records=2000, lookback_minutes=lookback_minutes
    )
    lines: list[str] = []
    with start_cli(config, tmp_path) as process:
        last_state = read_until_checkpoint(process, 3, lines)
        # Records emitted after that checkpoint, before the kill, belong to run one too.
        lines.extend(process.stdout.readline() for _ in range(300))  # type: ignore[union-attr]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    first_ids = [r["id"] for r in parse_messages("".join(lines)).records]
    assert last_state is not None

    served = server.simulator.visible_records()
    assert len(set(first_ids)) < len(served)  # killed mid-way
    second = run_tap(config, state=last_state)
    second_ids = [r["id"] for r in second.records]
    assert set(first_ids) | set(second_ids) == {r["id"] for r in served}
    assert max(Counter(second_ids).values()) == 1

    bookmark = at(last_state["bookmarks"]["cdrs"]["replication_key_value"])
    late = {
        r["id"]
        for r in served
        if at(r["started_at"]) < bookmark
        and at(r["ended_at"]) >= bookmark - lookback_minutes * 60_000
    }
    reread = set(first_ids) & set(second_ids)
    assert len(reread) <= len(late) + config["window_records"]
    assert reread - late  # the window in flight was re-read, not skipped


def test_windows_split_by_total_and_checkpoint_each(make_sim):
    server = make_sim(records=6000, burst=0)
    result = run_tap(tap_config(server, window_records=1000))
    bookmarks = result.bookmarks
    assert bookmarks == sorted(bookmarks)
    assert len(set(bookmarks)) >= 6
    assert len(result.records) == 6000


def test_state_resumes_in_the_standard_shape_after_a_full_run(make_sim):
    server = make_sim(records=800)
    first = run_tap(tap_config(server))
    assert first.states[-1] == {
        "bookmarks": {
            "cdrs": {
                "replication_key": "started_at",
                "replication_key_value": tap_config(server)["end_date"].replace("Z", ".000Z"),
            }
        }
    }
    second = run_tap(tap_config(server), state=first.states[-1])
    # Nothing new: only the lookback before end_date is read, and it holds no CDRs.
    assert second.records == []
