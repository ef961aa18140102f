"""Cursor paging edge cases, each against a simulator switched to that behaviour.

Tests that count requests read one window at a time (`concurrency: 1`): they are
about one cursor chain; tests/test_concurrency.py covers parallel windows.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.conftest import (
    assert_exactly_once,
    parse_messages,
    run_cli,
    run_tap,
    singer_lines,
    tap_config,
)


@pytest.mark.parametrize("last_page", ["null", "absent", "present"])
def test_last_page_cursor_null_absent_or_present(make_sim, last_page):
    server = make_sim(records=1000, burst=0, last_page=last_page)
    result = run_tap(tap_config(server, page_size=300, concurrency=1))
    assert_exactly_once(result, server)
    assert len(server.simulator.requests) == 4  # 300, 300, 300, 100


def test_full_last_page_with_a_cursor_ends_on_the_empty_page_after_it(make_sim):
    server = make_sim(records=900, burst=0, last_page="present")
    result = run_tap(tap_config(server, page_size=300, concurrency=1))
    assert_exactly_once(result, server)
    statuses = server.simulator.statuses
    assert len(statuses) == 4  # three full pages, then one empty page with a null cursor


def test_empty_page_that_still_carries_a_cursor_is_followed(make_sim):
    # No total: paged by cursor (with one, the pages go out by offset).
    server = make_sim(records=1000, burst=0, empty_page_every=2, send_total=False)
    result = run_tap(tap_config(server, page_size=100))
    assert_exactly_once(result, server)
    assert len(server.simulator.requests) > 10  # the empty pages were requested and passed


def test_many_records_in_one_millisecond_across_page_boundaries(make_sim):
    server = make_sim(records=1200, burst=450)
    burst = Counter(r["started_at"] for r in server.simulator.visible_records()).most_common(1)[0]
    assert burst[1] == 450
    result = run_tap(tap_config(server, page_size=100))
    assert_exactly_once(result, server)


@pytest.mark.parametrize("order", ["asc", "desc", "shuffle"])
def test_any_record_order(make_sim, order):
    server = make_sim(records=1500, burst=300, order=order)
    result = run_tap(tap_config(server, page_size=200, window_records=1000))
    assert_exactly_once(result, server)


@pytest.mark.parametrize("fault", ["repeat", "cycle"])
def test_cursor_loop_stops_with_an_error_naming_the_cursor(make_sim, tmp_path, fault):
    # No total: the window is paged by cursor (with one, its pages go out by offset).
    server = make_sim(records=1000, burst=0, cursor_fault=fault, send_total=False)
    result = run_cli(tap_config(server, page_size=100, concurrency=1), tmp_path, timeout=60)
    assert result.returncode != 0
    assert "Cursor loop" in result.stderr
    looped = server.simulator.requests[-1].split("cursor=")[1]
    assert looped[:20] in result.stderr
    assert len(server.simulator.requests) <= 4
    # Nothing past the last completed window: no bookmark moved in this single-window run.
    states = [line for line in singer_lines(result.stdout) if '"STATE"' in line]
    assert all("replication_key_value" not in line for line in states)


def test_a_cursor_in_a_message_is_cut_to_a_readable_length(make_sim, tmp_path):
    server = make_sim(
        records=1000, burst=0, cursor_fault="repeat", send_total=False, cursor_bytes=50_000
    )
    result = run_cli(tap_config(server, page_size=100, concurrency=1), tmp_path, timeout=60)
    assert result.returncode != 0
    (line,) = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert "Cursor loop" in line
    looped = server.simulator.requests[-1].split("cursor=")[1]
    assert len(looped) > 50_000
    assert looped[:20] in line
    assert len(line) < 500, len(line)


def intruder(server, **changes):
    """A copy of one of the API's CDRs, changed: what a broken API adds to every page."""
    record = dict(server.simulator.visible_records()[0])
    record.update(changes)
    return record


def test_a_record_outside_its_window_is_reported_once_and_never_emitted(make_sim, tmp_path):
    server = make_sim(records=3000, burst=0)
    stray = intruder(server, id="stray-from-2035", started_at="2035-01-01T00:00:00.000Z")
    server.simulator.configure(intruder=stray)
    result = run_cli(tap_config(server, page_size=500, window_records=1000), tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    records = parse_messages(result.stdout).records
    assert "stray-from-2035" not in {r["id"] for r in records}
    assert sorted(r["id"] for r in records) == sorted(
        r["id"] for r in server.simulator.visible_records()
    )
    warnings = [line for line in result.stderr.splitlines() if "stray-from-2035" in line]
    assert len(warnings) == 1
    assert "WARNING" in warnings[0]
    assert "outside started_at in [" in warnings[0]


def test_a_cdr_the_api_repeats_in_every_window_is_emitted_once(make_sim):
    server = make_sim(records=3000, burst=0)
    repeated = intruder(server)
    server.simulator.configure(intruder=repeated)
    result = run_tap(tap_config(server, page_size=500, window_records=1000))
    assert_exactly_once(result, server)
    assert [r["id"] for r in result.records].count(repeated["id"]) == 1
