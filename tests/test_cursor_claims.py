"""An end that only a cursor vouches for is confirmed; a cursor serves one window only.

Two API behaviours the reference allows (it says neither what an expired cursor gets
nor that `metadata.total` is always sent), each a simulator switch:

- `expired_cursor="empty"`: an expired cursor is answered as a last page,
  `{"cdrs": [], "metadata": {"next_cursor": null}}`. Without a total nothing but a
  second look tells it from the real end.
- `cursor_mix_every`: a cursor cache that mixes requests hands one window's cursor to
  another read at the same time.

Every CDR the simulator lists comes exactly once, or the run stops non-zero naming the
cursor: never exit 0 with less.
"""

from __future__ import annotations

import logging
import re

import pytest

from tests.conftest import (
    SHORT_END,
    assert_exactly_once,
    parse_messages,
    run_cli,
    run_tap,
    tap_config,
)

CLOSING = re.compile(
    r"(\d+) window end\(s\) that only a cursor vouched for confirmed with a request by "
    r"offset \((\d+) found more CDRs\)"
)


def end_checks(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    """What the run's closing lines say of its window-end checks (0, 0: none)."""
    checked = found = 0
    for record in caplog.records:
        match = CLOSING.search(record.getMessage())
        if match:
            checked, found = checked + int(match[1]), found + int(match[2])
    return checked, found


@pytest.mark.parametrize(
    ("order", "send_total", "concurrency", "empty_page_every"),
    [
        ("asc", False, 12, 0),
        ("desc", False, 12, 0),
        ("shuffle", False, 12, 0),
        ("asc", False, 1, 0),
        ("asc", True, 1, 0),  # one at a time: pages by cursor even with a total
        ("shuffle", True, 1, 0),
        # Empty pages that carry a cursor on: the full page before them still counts.
        ("asc", False, 12, 2),
    ],
)
def test_an_expired_cursor_answered_as_a_last_page_is_confirmed_and_read_on(
    make_sim, caplog, order, send_total, concurrency, empty_page_every
):
    server = make_sim(
        records=20_000,
        burst=0,
        order=order,
        send_total=send_total,
        cursor_expire_every=5,
        expired_cursor="empty",
        empty_page_every=empty_page_every,
    )
    caplog.set_level(logging.INFO, logger="tap-voiso")
    result = run_tap(tap_config(server, end_date=SHORT_END, concurrency=concurrency))
    assert_exactly_once(result, server)
    sim = server.simulator
    assert sim.expired_empty >= 3  # the switch bit, several times
    # Every empty answer came right after a full page (the simulator sends a cursor on
    # full pages only): each is one end the tap checked, with one request.
    checked, found = end_checks(caplog)
    assert checked == sim.expired_empty
    assert 0 < found <= checked
    assert result.bookmark == SHORT_END.replace("Z", ".000Z")


def test_without_expired_cursors_no_end_is_checked(make_sim, caplog):
    # The checks cost nothing on an API that keeps its cursors: a short last page ends
    # a window on its own.
    server = make_sim(records=20_000, burst=0, send_total=False)
    caplog.set_level(logging.INFO, logger="tap-voiso")
    result = run_tap(tap_config(server, end_date=SHORT_END))
    assert_exactly_once(result, server)
    assert end_checks(caplog) == (0, 0)


@pytest.mark.parametrize("send_total", [False, True])
def test_a_cursor_handed_to_another_window_is_never_trusted(make_sim, tmp_path, send_total):
    # The race: which window gets which cursor depends on timing, so read it several
    # times; each run delivers every CDR once or stops naming the cursor.
    outcomes = []
    mixed = 0
    for attempt in range(6):
        server = make_sim(
            records=5_000,
            burst=0,
            send_total=send_total,
            cursor_mix_every=10,
            latency_ms=3,
            fault_seed=attempt,
        )
        # Windows of about 500 CDRs: ten read at once, each a chain of cursors.
        config = tap_config(
            server, end_date=SHORT_END, page_size=100, window_records=1000, concurrency=12
        )
        run = run_cli(config, tmp_path, timeout=120)
        mixed += server.simulator.cursors_mixed
        if run.returncode == 0:
            assert_exactly_once(parse_messages(run.stdout), server)
            outcomes.append("once")
        else:
            assert run.returncode == 1, run.stderr[-2000:]
            assert re.search(r"Cursor (loop|went backwards).*cursor '", run.stderr), run.stderr[
                -2000:
            ]
            outcomes.append("stop")
    assert mixed > 0  # the cache did mix cursors
    if not send_total:
        assert "stop" in outcomes  # without a total nothing else gives the mix away


def test_a_cursor_two_windows_follow_stops_the_run_naming_both(make_sim, tmp_path):
    # One window at a time: the cursor a window is handed is the previous window's,
    # which that window followed. Without the run-wide check, it would lead back to
    # this window's start ("went backwards") or past its end (an empty last page).
    server = make_sim(records=3_000, burst=0, send_total=False, cursor_mix_every=15)
    config = tap_config(
        server, end_date=SHORT_END, page_size=50, window_records=1000, concurrency=1
    )
    run = run_cli(config, tmp_path, timeout=120)
    assert run.returncode == 1
    assert server.simulator.cursors_mixed >= 1
    message = re.search(
        r"Cursor loop: the API returned cursor ('[^']+'\S*) .*for started_at in (\[[^)]+\)), "
        r"and the same cursor earlier for started_at in (\[[^)]+\))",
        run.stderr,
    )
    assert message, run.stderr[-2000:]
    assert message[2] != message[3]
