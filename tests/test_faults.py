"""Fault injection: a misbehaving API, hostile responses and signals, end to end.

These run the real CLI (real backoff waits, real exit codes) against simulator
fault switches: fault rate and mix, rate limit, hangs, cursor misbehaviour.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections import Counter
from urllib.parse import unquote

import pytest

from tests.conftest import (
    SHORT_END,
    bookmark_of,
    parse_messages,
    read_until_checkpoint,
    run_cli,
    run_tap,
    start_cli,
    tap_config,
)


def test_30000_cdrs_through_10_percent_faults_and_a_rate_limit(make_sim, tmp_path):
    server = make_sim(
        records=30000,
        burst=0,
        fault_rate=0.10,
        fault_mix=["500", "502", "503", "drop", "html"],
        fault_seed=4,
        rate_limit_per_second=12,
        retry_after="seconds",
        retry_after_seconds=1,
    )
    result = run_cli(tap_config(server, page_size=200, window_records=10000), tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    output = parse_messages(result.stdout)
    ids = Counter(r["id"] for r in output.records)
    assert len(ids) == 30000
    assert max(ids.values()) == 1
    faults = server.simulator.faults
    assert set(faults) == {"429", "500", "502", "503", "drop", "html"}, faults
    # Every fault but a 429 cost exactly one retry, each logged once; 429s slowed the
    # run down, counted in its summary.
    assert result.stderr.count("Retrying in") == sum(faults.values()) - faults["429"]
    assert f"Rate limit: {faults['429']} of " in result.stderr


def test_sustained_429_stops_clearly_and_the_next_run_resumes_without_a_gap(make_sim, tmp_path):
    server = make_sim(records=20_000, burst=0, retry_after="none", latency_ms=20)
    sim = server.simulator
    # One reader, so that most of the range is still unread when the 429s begin; 429s
    # without Retry-After back off 1, 2, 4 s: past a patience of 2 s at the second.
    config = tap_config(
        server, window_records=2000, rate_limit_patience_seconds=2, max_tries=3, concurrency=1
    )
    lines: list[str] = []
    with start_cli(config, tmp_path, stderr=subprocess.PIPE) as process:
        assert read_until_checkpoint(process, 2, lines)
        sim.configure(fault_rate=1.0, fault_mix=["429"])
        lines.extend(process.stdout)  # type: ignore[arg-type]
        stderr = process.stderr.read()  # type: ignore[union-attr]
    assert process.returncode == 1
    assert "Voiso's rate limit (HTTP 429, too many requests) let no request through" in stderr
    assert "(the `rate_limit_patience_seconds` setting)" in stderr
    first = parse_messages("".join(lines))
    last_state = first.states[-1]
    assert bookmark_of(last_state)

    sim.configure(fault_rate=0.0)
    second = run_tap(config, state=last_state)
    served = {r["id"] for r in sim.visible_records()}
    assert {r["id"] for r in first.records} | {r["id"] for r in second.records} == served


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("html", "the body is not JSON (text/html)"),
        ("truncated", "the body is not JSON"),
        ("no_cdrs", "`cdrs` is missing or null"),
        ("null_cdrs", "`cdrs` is missing or null"),
        ("no_metadata", "`metadata` is missing"),
    ],
)
def test_a_malformed_200_is_retried_then_named(make_sim, tmp_path, fault, said):
    server = make_sim(records=50, fail_next=[fault] * 3)
    result = run_cli(tap_config(server, max_tries=3, end_date=SHORT_END), tmp_path)
    assert result.returncode == 1
    assert said in result.stderr
    assert "Gave up after 3 tries" in result.stderr
    assert '"RECORD"' not in result.stdout  # never a silent, empty success


def test_a_cursor_that_jumps_backwards_is_stopped_naming_it(make_sim, tmp_path):
    server = make_sim(records=1000, burst=0, cursor_fault="backwards")
    result = run_cli(tap_config(server, page_size=100, concurrency=1), tmp_path, timeout=60)
    assert result.returncode == 1
    assert "Cursor went backwards" in result.stderr
    named = re.search(r"the page for cursor '([^']+)'", result.stderr).group(1)
    assert any(named in unquote(path) for path in server.simulator.requests)
    # Stopped at once: the reader was at most a few pages ahead.
    assert len(server.simulator.requests) <= 12
    ids = Counter(r["id"] for r in parse_messages(result.stdout).records)
    assert max(ids.values()) == 1  # what was emitted was emitted once


def test_a_cursor_that_overlaps_the_page_before_is_handled_exactly_once(make_sim, caplog):
    server = make_sim(records=1000, burst=0, cursor_fault="overlap")
    served: list[list[str]] = []  # the CDR ids of each response the simulator sent
    page = server.simulator.page

    def logged(query):
        body = page(query)
        served.append([json.loads(cdr)["id"] for cdr in body["cdrs"]])
        return body

    server.simulator.page = logged
    result = run_tap(tap_config(server, page_size=100, concurrency=1))
    ids = Counter(r["id"] for r in result.records)
    assert set(ids) == {r["id"] for r in server.simulator.visible_records()}
    assert max(ids.values()) == 1
    # One WARNING for the first page holding repeats, one sum at the end: not one a page.
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len([m for m in warnings if "returned twice in [" in m]) == 1, warnings
    (summary,) = [m for m in warnings if m.startswith("The API returned")]
    said = re.search(r"returned (\d+) CDR\(s\) twice in (\d+) pages", summary)
    seen: set[str] = set()
    repeated, pages = 0, 0
    for response in served:
        again = sum(1 for cdr_id in response if cdr_id in seen)
        repeated, pages = repeated + again, pages + (again > 0)
        seen.update(response)
    assert pages >= 5
    assert (int(said.group(1)), int(said.group(2))) == (repeated, pages)


def test_sigterm_exits_promptly_with_a_state_that_resumes_without_a_gap(make_sim, tmp_path):
    server = make_sim(records=12000, burst=0, latency_ms=20)
    config = tap_config(server, page_size=500, window_records=2000)
    lines: list[str] = []
    with start_cli(config, tmp_path) as process:
        assert read_until_checkpoint(process, 2, lines)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        lines.extend(process.stdout)  # type: ignore[arg-type]
        process.wait(timeout=15)
    assert time.monotonic() - sent < 5
    assert process.returncode == 128 + signal.SIGTERM  # the run did not finish
    first = parse_messages("".join(lines))
    final = first.states[-1]
    assert bookmark_of(final)
    served = {r["id"] for r in server.simulator.visible_records()}
    assert {r["id"] for r in first.records} < served  # it stopped early
    second = run_tap(config, state=final)
    assert {r["id"] for r in first.records} | {r["id"] for r in second.records} == served


def test_rate_limit_without_retry_after_backs_off_and_completes(make_sim, tmp_path):
    server = make_sim(records=3000, burst=0, rate_limit_per_second=3, retry_after="none")
    result = run_cli(tap_config(server, page_size=500), tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-1500:]
    assert len({r["id"] for r in parse_messages(result.stdout).records}) == 3000
    assert 429 in server.simulator.statuses
