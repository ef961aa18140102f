"""Under a rate limit the run slows down and never stops, unless nothing gets through.

The simulator's limit is a token bucket (N requests a second, 429 with `Retry-After`
beyond). These run the real CLI, with real waits, against it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from contextlib import ExitStack

import pytest
import requests

from tap_voiso.shared.retries import RateLimit, RequestSlots, Stopped
from tests.conftest import SHORT_END, parse_messages, run_cli, run_tap, tap_config
from voiso_simulator import DEFAULT_KEY


def test_the_simulator_limit_is_a_token_bucket_holding_a_seconds_worth(make_sim):
    server = make_sim(records=10, rate_limit_per_second=0.5)
    url = server.url + "/api/v4/reporting/cdrs"
    headers = {"Authorization": f"Bearer {DEFAULT_KEY}"}
    first = requests.get(url, headers=headers, timeout=10)
    refused = requests.get(url, headers=headers, timeout=10)
    assert (first.status_code, refused.status_code) == (200, 429)
    assert refused.headers["Retry-After"] == "2"  # a token every 2 s
    time.sleep(2.05)
    assert requests.get(url, headers=headers, timeout=10).status_code == 200


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| WARNING " in line]


@pytest.mark.parametrize("rate", [5, 10])
def test_a_sustained_rate_limit_slows_the_run_and_every_cdr_arrives_once(make_sim, tmp_path, rate):
    server = make_sim(records=4000, burst=0, latency_ms=20, rate_limit_per_second=rate)
    sim = server.simulator
    # 40 pages, twelve readers; one try per request: a 429 must not use it up. The range
    # is the data's month, so that few requests find empty windows.
    config = tap_config(
        server,
        start_date="2026-01-01T00:00:00Z",
        end_date="2026-02-01T00:00:00Z",
        page_size=100,
        max_tries=1,
    )
    result = run_cli(config, tmp_path, timeout=120)

    assert result.returncode == 0, result.stderr[-3000:]
    emitted = Counter(r["id"] for r in parse_messages(result.stdout).records)
    assert emitted == Counter(r["id"] for r in sim.visible_records())
    limited = sim.statuses.count(429)
    assert limited > 0  # the limit was met
    assert limited <= len(sim.statuses) / 4
    assert sim.max_inflight > 1  # several readers all the same
    assert len(warnings(result.stderr)) <= 5
    # One WARNING when it begins, and a summary that counts what the API answered.
    assert sum("its rate limit is reached" in line for line in warnings(result.stderr)) == 1
    summary = re.search(
        r"Rate limit: (\d+) of (\d+) requests were answered HTTP 429", result.stderr
    )
    assert summary, result.stderr[-3000:]
    assert (int(summary[1]), int(summary[2])) == (limited, len(sim.statuses))


def test_429s_in_a_row_cost_no_tries_and_log_one_warning(make_sim, tmp_path):
    server = make_sim(records=300, burst=0, fail_next=["429"] * 4, retry_after_seconds=0)
    result = run_cli(tap_config(server, page_size=100, max_tries=2), tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    emitted = Counter(r["id"] for r in parse_messages(result.stdout).records)
    assert emitted == Counter(r["id"] for r in server.simulator.visible_records())
    assert server.simulator.statuses.count(429) == 4
    assert len(warnings(result.stderr)) == 1
    assert "Rate limit: 4 of" in result.stderr


def test_a_run_that_gets_nothing_through_for_its_patience_stops_naming_the_rate_limit(
    make_sim, tmp_path
):
    server = make_sim(records=300, fault_rate=1.0, fault_mix=["429"], retry_after_seconds=1)
    began = time.monotonic()
    config = tap_config(server, rate_limit_patience_seconds=3, end_date=SHORT_END)
    result = run_cli(config, tmp_path, timeout=60)
    took = time.monotonic() - began
    assert result.returncode == 1
    assert "Voiso's rate limit (HTTP 429, too many requests) let no request through" in (
        result.stderr
    )
    assert "(the `rate_limit_patience_seconds` setting)" in result.stderr
    assert '"RECORD"' not in result.stdout
    assert 2 <= took < 30
    # It waited as asked (one request a second), rather than hammering the API.
    assert len(server.simulator.requests) <= 5


def test_a_run_opens_with_12_requests_in_flight_at_most_and_grows_to_concurrency(make_sim):
    # A bounded first burst: against a rate limit, 12 requests at most find it, not 24.
    server = make_sim(records=9000, burst=0, latency_ms=300)
    sim = server.simulator
    result = run_tap(tap_config(server, page_size=100, concurrency=24))
    assert len({r["id"] for r in result.records}) == 9000
    for began in sim.started:
        in_flight = sum(t <= began for t in sim.started) - sum(t < began for t, _ in sim.answered)
        through = sum(t < began and status == 200 for t, status in sim.answered)
        assert in_flight <= 12 + through
    assert sim.max_inflight == 24


def held_at_once(slots: RequestSlots) -> int:
    """How many requests the slots let into flight together right now."""
    full = threading.Event()
    full.set()  # a hold that would have to wait raises Stopped instead
    with ExitStack() as stack:
        count = 0
        try:
            while True:
                stack.enter_context(slots.hold(full))
                count += 1
        except Stopped:
            return count


def test_requests_in_flight_start_at_12_grow_per_request_through_and_halve_on_a_429():
    slots = RequestSlots(24)
    assert held_at_once(slots) == 12
    for _ in range(7):
        slots.grow()
    assert held_at_once(slots) == 19
    for _ in range(6):
        slots.grow()
    assert held_at_once(slots) == 24  # never above `concurrency`
    slots.shrink()
    assert held_at_once(slots) == 12
    for _ in range(12):
        slots.grow()  # after a 429, about one more a round trip: 1/12, 1/12.08, ... a request
    assert held_at_once(slots) == 12
    slots.grow()
    assert held_at_once(slots) == 13
    assert held_at_once(RequestSlots(4)) == 4  # never above `concurrency` either


def response(status: int, retry_after: str | None = None) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    if retry_after is not None:
        answer.headers["Retry-After"] = retry_after
    return answer


def _through(limit: RateLimit, stop: threading.Event, times: int) -> float:
    """Seconds that `times` requests answered 200 took to get their turns."""
    began = time.monotonic()
    for _ in range(times):
        with limit.turn(stop):
            limit.answered(response(200))
    return time.monotonic() - began


def test_after_the_first_429_the_pace_starts_at_090_times_the_rate_through_and_doubles_a_second():
    limit = RateLimit(60, RequestSlots(12), logging.getLogger("test"))
    stop = threading.Event()
    _through(limit, stop, 8)  # 8 through in well under a second: 8 a second (at least a second)
    with limit.turn(stop):
        limit.answered(response(429, "0"))
    # 7.2 a second, each request through multiplying it by 2 ** (1 / pace): gaps of
    # 1/7.2, 1/7.93, 1/8.65 s (the first turn at once), ending at 10.09 a second.
    gaps = 1 / 7.2 + 1 / 7.928 + 1 / 8.653
    assert gaps - 0.02 <= _through(limit, stop, 4) < gaps + 0.3
    assert "1 of 13 requests were answered HTTP 429" in (limit.summary() or "")
    assert "ending at a pace of 10.09 requests a second" in (limit.summary() or "")


def test_after_a_later_429_the_pace_climbs_by_002_a_request():
    limit = RateLimit(60, RequestSlots(12), logging.getLogger("test"))
    stop = threading.Event()
    _through(limit, stop, 8)
    with limit.turn(stop):
        limit.answered(response(429, "0"))  # from the burst: 7.2 a second, then probing
    with limit.turn(stop):
        limit.answered(response(429, "0"))  # at the pace: measured, no more probing
    # Nothing got through since the first pause: the pace stays, 7.2 a second, and
    # then climbs by 0.02 for each request through.
    gaps = 1 / 7.2 + 1 / 7.22 + 1 / 7.24
    assert gaps - 0.02 <= _through(limit, stop, 4) < gaps + 0.3
    assert "ending at a pace of 7.28 requests a second" in (limit.summary() or "")
