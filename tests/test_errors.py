"""Every error path: what stops a run (and says how to fix it), what is retried."""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections import Counter
from email.utils import formatdate

import pytest
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_voiso.shared import retries
from tap_voiso.shared.errors import VoisoError
from tap_voiso.shared.retries import next_wait, retry_after_seconds
from tests.conftest import SHORT_END, log_records, run_cli, run_tap, tap_config

SECRET = "sk-live-9f8e7d6c5b4a-DO-NOT-LOG"


def test_401_names_the_key_and_cluster_settings(make_sim, tmp_path):
    server = make_sim(records=50)
    result = run_cli(tap_config(server, api_key="wrong-key"), tmp_path)
    assert result.returncode == 1
    assert "HTTP 401" in result.stderr
    assert "`api_key`" in result.stderr
    assert "`cluster_id`" in result.stderr
    assert "`api_url`" in result.stderr
    records = log_records(result.stderr)
    assert [level for level, _ in records].count("ERROR") == 1
    # The traceback is logged, but only at DEBUG (the level of this run), never with the ERROR.
    assert any("Traceback" in text for level, text in records if level == "DEBUG")
    assert not [text for level, text in records if level != "DEBUG" and "Traceback" in text]


def test_403_names_the_missing_scope(make_sim, tmp_path):
    server = make_sim(records=50)
    result = run_cli(tap_config(server, api_key=server.simulator.config.forbidden_key), tmp_path)
    assert result.returncode == 1
    assert "HTTP 403" in result.stderr
    assert "reporting.cdrs.read" in result.stderr


def test_422_shows_the_apis_own_field_errors(make_sim, tmp_path):
    server = make_sim(records=50)
    result = run_cli(tap_config(server, types=["call", "fax"]), tmp_path)
    assert result.returncode == 1
    assert "HTTP 422" in result.stderr
    assert "type: 'fax' is not included in the list" in result.stderr


def test_400_shows_the_apis_message(make_sim, tmp_path):
    server = make_sim(records=50, fail_next=["400"])
    result = run_cli(tap_config(server, end_date=SHORT_END), tmp_path)
    assert result.returncode == 1
    assert "HTTP 400" in result.stderr
    assert "simulated 400" in result.stderr
    assert len(server.simulator.requests) == 1  # a 400 is not retried


@pytest.mark.parametrize(
    "faults",
    [
        ["500"],
        ["502"],
        ["503"],
        ["drop"],
        ["html"],
        ["truncated"],
        ["no_cdrs"],
        ["null_cdrs"],
        ["no_metadata"],
    ],
)
def test_transient_failures_are_retried_and_lose_nothing(make_sim, faults, caplog):
    server = make_sim(records=600, burst=0, fail_next=list(faults), retry_after_seconds=0)
    result = run_tap(tap_config(server, page_size=200))
    ids = Counter(r["id"] for r in result.records)
    assert len(ids) == 600
    assert max(ids.values()) == 1
    retries = [r for r in caplog.records if r.levelname == "WARNING" and "Retrying in" in r.message]
    assert len(retries) == len(faults)


def test_retry_after_in_seconds_is_honoured(make_sim, caplog):
    server = make_sim(records=100, fail_next=["429"], retry_after="seconds", retry_after_seconds=1)
    began = time.monotonic()
    result = run_tap(tap_config(server))
    assert time.monotonic() - began >= 1.0
    assert len(result.records) == 100
    assert any(
        "HTTP 429" in r.message and "waits 1.0 s as its Retry-After asks" in r.message
        for r in caplog.records
    )


def test_retry_after_as_an_http_date_is_honoured(make_sim):
    server = make_sim(records=100, fail_next=["429"], retry_after="date", retry_after_seconds=2)
    result = run_tap(tap_config(server))
    assert len(result.records) == 100


def fake_response(retry_after: str | None) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


def test_retry_after_parsing():
    assert retry_after_seconds(fake_response("7")) == 7.0
    assert retry_after_seconds(fake_response(None)) is None
    assert retry_after_seconds(fake_response("soon")) is None
    in_ten = retry_after_seconds(fake_response(formatdate(time.time() + 10, usegmt=True)))
    assert in_ten is not None
    assert 8.0 <= in_ten <= 10.0
    assert retry_after_seconds(fake_response(formatdate(time.time() - 60, usegmt=True))) == 0.0
    assert retry_after_seconds(fake_response("99999")) == retries.MAX_RETRY_AFTER_SECONDS


def test_backoff_doubles_without_retry_after_and_obeys_it_when_present(monkeypatch):
    monkeypatch.setattr(retries, "BACKOFF_BASE_SECONDS", 1.0)
    no_header = RetriableAPIError("x", fake_response(None))
    first, second, third = (next_wait(no_header, attempt) for attempt in range(3))
    assert 1.0 <= first <= 1.25
    assert 2.0 <= second <= 2.5
    assert 4.0 <= third <= 5.0
    assert next_wait(RetriableAPIError("x", fake_response("3")), 0) == 3.0
    late = next_wait(requests.exceptions.ConnectionError(), 30)
    assert retries.MAX_BACKOFF_SECONDS <= late <= retries.MAX_BACKOFF_SECONDS * 1.25


def test_a_hung_request_is_cut_by_the_timeout_and_retried(make_sim):
    server = make_sim(records=100, fail_next=["hang"], hang_seconds=3)
    began = time.monotonic()
    result = run_tap(tap_config(server, request_timeout=1))
    assert len(result.records) == 100
    assert time.monotonic() - began < 3


def test_retries_exhausted_stop_the_run_with_the_status_and_the_setting(make_sim, tmp_path):
    server = make_sim(records=50, fail_next=["503"] * 5, retry_after="none")
    result = run_cli(tap_config(server, max_tries=3, end_date=SHORT_END), tmp_path)
    assert result.returncode == 1
    assert "Gave up after 3 tries (the `max_tries` setting)" in result.stderr
    assert "HTTP 503" in result.stderr
    assert len(server.simulator.requests) == 3
    assert result.stderr.count("Retrying in") == 2


@pytest.mark.parametrize(
    "scenario",
    [
        {"fail_next": ["429", "500", "drop", "html"]},
        {"fail_next": ["401"]},
        {"fail_next": ["422"]},
        {"fail_next": ["503"] * 3},
        {"cursor_fault": "repeat"},
    ],
)
def test_the_api_key_never_appears_in_any_output(make_sim, tmp_path, scenario):
    server = make_sim(records=300, api_key=SECRET, **scenario)
    result = run_cli(tap_config(server, api_key=SECRET, page_size=100, max_tries=3), tmp_path)
    assert "DEBUG" in result.stderr  # the most verbose logging was on
    assert SECRET not in result.stdout
    assert SECRET not in result.stderr
    assert SECRET[:12] not in result.stderr


def test_the_key_is_absent_from_every_logger_at_debug_including_http_libraries(make_sim, caplog):
    server = make_sim(records=300, api_key=SECRET, fail_next=["500", "drop", "429"])
    caplog.set_level(logging.DEBUG)  # the root logger: urllib3, requests, the SDK, the tap
    for name in ("urllib3", "requests", "singer_sdk", "tap-voiso"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    result = run_tap(tap_config(server, api_key=SECRET, page_size=100))
    assert len(result.records) == 300
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # HTTP debug logs were on
    assert SECRET not in caplog.text
    assert all(SECRET not in json.dumps(m) for m in result.messages)
    with pytest.raises(VoisoError) as raised:
        run_tap(tap_config(server, api_key=SECRET + "-revoked"))
    assert SECRET not in str(raised.value)
    assert SECRET not in "".join(traceback.format_exception(raised.value))
