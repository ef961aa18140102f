"""What a new user meets in the first hour: every command, message and progress line."""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

from tap_voiso.shared.errors import VoisoError
from tests.conftest import (
    ROOT,
    catalog_selecting,
    queries,
    run_cli,
    run_tap,
    tap_config,
    write_json,
)

ERROR_LINE = re.compile(r"\|\s+ERROR\s+\|")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ERROR_LINE.search(line)]


def test_connection_test_with_a_wrong_key_is_one_line_naming_the_setting(make_sim, tmp_path):
    server = make_sim(records=100)
    result = run_cli(tap_config(server, api_key="wrong-key"), tmp_path, "--test")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result.stderr)
    assert "Connection test failed: HTTP 401" in line
    assert "`api_key`" in line
    assert result.stdout == ""


def test_connection_test_that_passes_says_so_in_one_line_and_syncs_nothing(make_sim, tmp_path):
    server = make_sim(records=1234, burst=0)
    result = run_cli(tap_config(server), tmp_path, "--test")
    assert result.returncode == 0, result.stderr[-2000:]
    assert error_lines(result.stderr) == []
    assert f"Connection test passed: {server.url} answered; this key can read 1,234 CDRs" in (
        result.stderr
    )
    assert "CDRs from 2025-12-01T00:00:00.000Z on" in result.stderr
    assert result.stdout == ""
    # One request for the CDRs, and one for each directory list the key may read.
    assert [urlsplit(r).path for r in server.simulator.requests] == [
        "/api/v4/reporting/cdrs",
        "/api/v4/campaigns",
        "/api/v4/routing/queues",
        "/api/v4/routing/queues",
        "/api/v4/users",
    ]
    said = re.findall(r"Can the key read (\w+): yes", result.stderr)
    assert sorted(said) == ["campaigns", "queue_members", "queues", "users"]


@pytest.mark.parametrize(
    ("start_date", "shown", "floor"),
    [
        (
            "2025-12-01T08:00:00+08:00",
            "from 2025-12-01T00:00:00.000Z on",
            "2025-12-01T00:00:00.000Z",
        ),
        (None, "from the beginning on", "2000-01-01T00:00:00.000Z"),  # the tap's own floor
    ],
)
def test_connection_test_names_the_start_the_tap_reads_from(
    make_sim, tmp_path, start_date, shown, floor
):
    """The start as the settings read it (the moment queried, in UTC), not the text given."""
    server = make_sim(records=50, burst=0)
    result = run_cli(tap_config(server, start_date=start_date), tmp_path, "--test")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"this key can read 50 CDRs {shown}" in result.stderr
    assert [query["started_at[gte]"] for query in queries(server, "/reporting/cdrs")] == [[floor]]


@pytest.mark.parametrize("fault", ["401", "422"])
def test_every_stop_is_one_error_line(make_sim, tmp_path, fault):
    server = make_sim(records=100, fail_next=[fault])
    result = run_cli(tap_config(server), tmp_path)
    assert result.returncode == 1
    assert len(error_lines(result.stderr)) == 1, error_lines(result.stderr)
    assert "An unhandled error occurred" not in result.stderr


def test_an_unexpected_crash_still_gets_the_sdks_line(make_sim, monkeypatch, caplog):
    """The filter drops the SDK's line only for the tap's own, explained stops."""
    server = make_sim(records=100)

    def boom(*_args, **_kwargs):
        raise RuntimeError("not a VoisoError")

    monkeypatch.setattr("tap_voiso.cdrs.streams.CdrsStream._fresh_records", boom)
    with pytest.raises(RuntimeError):
        run_tap(tap_config(server))
    assert "An unhandled error occurred while syncing 'cdrs'" in caplog.text


# 12: the range opens as 6 windows (5 of them empty), and pages go 12 at a time.
@pytest.mark.parametrize(("concurrency", "latency_ms"), [(2, 40), (12, 300)])
def test_a_long_run_logs_progress_with_total_percent_rate_time_left_and_bookmark(
    make_sim, tmp_path, concurrency, latency_ms
):
    """The total is the range's first page's, or the sum of its opening windows' first pages."""
    server = make_sim(records=30_000, burst=0, latency_ms=latency_ms)
    config = tap_config(server, concurrency=concurrency, page_size=500, progress_seconds=0.25)
    result = run_cli(config, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    progress = [line for line in result.stderr.splitlines() if "of 30,000 CDRs (" in line]
    assert len(progress) >= 3, result.stderr[-3000:]
    assert re.search(
        r"cdrs: [\d,]+ of 30,000 CDRs \(\d+(\.\d)?%\), [\d,]+ CDRs/s, about \d+ s left, "
        r"bookmark 2026-",
        progress[-1],
    ), progress[-1]
    counts = [int(re.search(r"cdrs: ([\d,]+) of", p).group(1).replace(",", "")) for p in progress]
    assert counts == sorted(counts)
    assert "done: 0 CDRs" not in "\n".join(
        line for line in result.stderr.splitlines() if "| INFO" in line
    )


def test_a_property_removed_from_the_catalog_schema_never_reaches_stdout(make_sim):
    server = make_sim(records=300, burst=0)
    config = tap_config(server)
    catalog = catalog_selecting(config, "cdrs")
    (cdrs,) = [s for s in catalog["streams"] if s["tap_stream_id"] == "cdrs"]
    del cdrs["schema"]["properties"]["user"]
    del cdrs["schema"]["properties"]["data"]["properties"]["durations"]
    result = run_tap(config, catalog=catalog)
    assert len(result.records) == 300
    assert all("user" not in r for r in result.records)
    assert all("durations" not in (r["data"] or {}) for r in result.records)
    assert any(r["from"] for r in result.records)  # what the schema keeps is still there


def test_a_host_that_does_not_resolve_stops_within_seconds_naming_it(monkeypatch):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host.endswith(".voiso.com"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    began = time.monotonic()
    with pytest.raises(VoisoError) as raised:
        run_tap({"api_key": "k", "cluster_id": "acme-typo", "start_date": "2026-01-01"})
    assert time.monotonic() - began < 10
    message = str(raised.value)
    assert "acme-typo.voiso.com" in message
    assert "`cluster_id`" in message
    assert "resolve" in message


def test_a_refused_connection_names_the_host_and_the_cause(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {"api_key": "k", "api_url": f"http://127.0.0.1:{port}", "max_tries": 2}
    result = run_cli(config, tmp_path)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert f"127.0.0.1:{port}" in line
    assert "refused" in line


def test_a_non_string_api_key_is_never_echoed(tmp_path):
    config = {"api_key": 12345678, "cluster_id": "acme"}
    result = run_cli(config, tmp_path)
    assert result.returncode != 0
    assert "12345678" not in result.stderr + result.stdout
    assert "api_key" in result.stderr


def test_a_misspelled_setting_is_named_with_the_closest_known_one(make_sim, tmp_path):
    server = make_sim(records=50)
    result = run_cli({**tap_config(server), "page_sise": 500}, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Unknown setting `page_sise`: did you mean `page_size`?" in result.stderr


def test_discover_leaves_no_resource_warning(make_sim, tmp_path):
    config_path = write_json(tmp_path, {"api_key": "k", "cluster_id": "acme"})
    result = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-X", "dev", "-m", "tap_voiso",
         "--config", str(config_path), "--discover"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ResourceWarning" not in result.stderr
    assert json.loads(result.stdout)["streams"]


def test_requests_are_timed_like_other_sdk_taps(make_sim, tmp_path):
    server = make_sim(records=1500, burst=0)
    result = run_cli(tap_config(server, page_size=500), tmp_path)
    timings = [
        json.loads(line.split("METRIC: ", 1)[1])
        for line in result.stderr.splitlines()
        if '"metric":"http_request_duration"' in line.replace(" ", "")
    ]
    assert len(timings) == len(server.simulator.requests)
    assert all(t["tags"]["http_status_code"] == 200 for t in timings)
    assert all(t["tags"]["endpoint"] == "/api/v4/reporting/cdrs" for t in timings)


@pytest.mark.parametrize(
    ("concurrency", "said"), [(1, "one request at a time"), (3, "3 at a time")]
)
def test_how_many_at_a_time_reads_as_english(make_sim, caplog, concurrency, said):
    server = make_sim(records=50)
    with caplog.at_level(logging.INFO, logger="tap-voiso"):
        run_tap(tap_config(server, concurrency=concurrency))
    (line,) = [m for m in caplog.messages if m.startswith("Reading new CDRs")]
    assert line.endswith(f", {said}")


def test_a_connection_test_against_a_refused_port_answers_within_seconds(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {"api_key": "k", "api_url": f"http://127.0.0.1:{port}"}  # default max_tries: 8
    started = time.monotonic()
    result = run_cli(config, tmp_path, "--test")
    assert time.monotonic() - started < 15  # not the minutes `max_tries` would take
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert f"Connection test failed: connection to 127.0.0.1:{port} refused" in line
    assert "bookmark" not in line
    assert result.stderr.count("Retrying in") <= 1
