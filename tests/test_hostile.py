"""Hostile and broken input (issue 19): each case is one CLI run at DEBUG, as a user runs it.

Every case runs once (`outcome`), against the simulator or a small hostile server
(`tests/hostile.py`), with the key `SECRET` and an `api_url` carrying `PASSWORD`. One
test per row checks what the tap did; `test_no_line_the_tap_writes_holds_a_secret`
greps every line of every case for both.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tap_voiso.client import MAX_BODY_BYTES
from tests.conftest import END, ROOT, SHORT_END, START, run_cli, sim_server
from tests.hostile import (
    Drip,
    HostileServer,
    giant_records,
    gzip_bomb,
    nested,
    redirect,
    tls_context,
)
from tests.test_first_hour import error_lines
from voiso_simulator import SimServer, serving

# A key with characters that JSON and URLs escape, and a password for `api_url`.
SECRET = "sk-live-hostile-7Qz/9+Ab"
PASSWORD = "pw-Hunter2-s3cr3t"
RECORDS = 120


@dataclass
class Outcome:
    """One CLI run, and what the servers saw."""

    result: subprocess.CompletedProcess[str]
    seconds: float
    requests: list[str] = field(default_factory=list)  # what the API (simulator) received
    facts: dict[str, Any] = field(default_factory=dict)  # a case's own ground truth

    @property
    def errors(self) -> list[str]:
        return error_lines(self.result.stderr)

    @property
    def records(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.result.stdout.splitlines() if line.strip()]
        return [m["record"] for m in lines if m["type"] == "RECORD"]


def with_password(url: str) -> str:
    return url.replace("://", f"://tapuser:{PASSWORD}@", 1)


def config_for(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "api_key": SECRET,
        "api_url": with_password(url),
        "start_date": START,
        "end_date": END,
        "max_tries": 2,
        **overrides,
    }


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("certs")


def simulator(records: int = RECORDS, **switches: Any) -> SimServer:
    """The simulator with `switches`, bound and not serving yet (see `serving`)."""
    return sim_server(records=records, seed=19, api_key=SECRET, **switches)


def tls_simulator(certs: Path) -> SimServer:
    """The simulator over https, with a certificate no default bundle trusts."""
    context, _ = tls_context(certs)
    server = simulator()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def run_against(
    server: SimServer, url: str, tmp_path: Path, *args: str, env: dict | None = None, **config: Any
) -> Outcome:
    """The CLI against the simulator `server` (reached at `url`), timed, with what it saw."""
    began = time.monotonic()
    result = run_cli(config_for(url, **config), tmp_path, *args, env=env)
    return Outcome(
        result,
        time.monotonic() - began,
        list(server.simulator.requests),
        {"visible": server.simulator.visible_records()},
    )


def sim_case(
    *args: str,
    config: dict[str, Any] | None = None,
    state_text: str | None = None,
    rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    **switches: Any,
) -> Callable[[Path, Path], Outcome]:
    """A run against the simulator with `switches`, `config` overrides and CLI `args`."""

    def run(tmp_path: Path, certs: Path) -> Outcome:
        extra = list(args)
        if state_text is not None:
            (tmp_path / "state.json").write_text(state_text)
            extra += ["--state", str(tmp_path / "state.json")]
        with serving(simulator(**switches)) as server:
            server.simulator.rewrite = rewrite
            return run_against(server, server.url, tmp_path, *extra, **(config or {}))

    return run


def hostile_case(
    respond: Callable[..., Any], *, tls: bool = False, **config: Any
) -> Callable[[Path, Path], Outcome]:
    def run(tmp_path: Path, certs: Path) -> Outcome:
        context, cert = tls_context(certs) if tls else (None, None)
        server = HostileServer(respond, context)
        env = {"REQUESTS_CA_BUNDLE": str(cert)} if cert else None
        with serving(server):
            began = time.monotonic()
            result = run_cli(config_for(server.url, **config), tmp_path, env=env)
            return Outcome(
                result, time.monotonic() - began, list(server.paths), {"respond": respond}
            )

    return run


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def url_case(url: str, *args: str) -> Callable[[Path, Path], Outcome]:
    def run(tmp_path: Path, certs: Path) -> Outcome:
        began = time.monotonic()
        result = run_cli(config_for(url), tmp_path, *args)
        return Outcome(result, time.monotonic() - began)

    return run


def tls_case(variable: str | None) -> Callable[[Path, Path], Outcome]:
    """The simulator over https, its CA named by `variable` (None: by neither variable)."""

    def run(tmp_path: Path, certs: Path) -> Outcome:
        server = tls_simulator(certs)
        _, cert = tls_context(certs)
        with serving(server):
            host, port = server.server_address[:2]
            # Empty, a variable gives way to the other (requests takes the first one set).
            env = {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": ""}
            if variable is not None:
                env[variable] = str(cert)
            return run_against(server, f"https://{host}:{port}", tmp_path, env=env)

    return run


def downgrade_case(tmp_path: Path, certs: Path) -> Outcome:
    """An https API that redirects to the (plain http) simulator."""
    context, cert = tls_context(certs)
    with serving(simulator()) as target:
        server = HostileServer(redirect(lambda handler: target.url + handler.path), context)
        with serving(server):
            began = time.monotonic()
            result = run_cli(
                config_for(server.url), tmp_path, env={"REQUESTS_CA_BUNDLE": str(cert)}
            )
            return Outcome(result, time.monotonic() - began, list(target.simulator.requests))


def bookmark_state(value: str, *, wrapped: bool = False) -> str:
    state = {
        "bookmarks": {"cdrs": {"replication_key": "started_at", "replication_key_value": value}}
    }
    return json.dumps({"singer_state": state} if wrapped else state)


MID = "2026-01-15T00:00:00.000Z"
NULLS = dict.fromkeys(
    (
        "page_size",
        "concurrency",
        "window_records",
        "max_tries",
        "progress_seconds",
        "lookback_minutes",
        "request_timeout",
    )
)
ECHOES = [
    ("body", "400"), ("body", "401"), ("body", "403"), ("body", "404"), ("body", "422"),
    ("body", "500"), ("html", "401"), ("html", "500"), ("reason", "401"), ("reason", "500"),
]  # fmt: skip
CASES: dict[str, Callable[[Path, Path], Outcome]] = {
    **{
        f"echo-{mode}-{status}": (
            sim_case(echo_auth=mode, config={"types": ["call", "fax"]})
            if status == "422"
            else sim_case(echo_auth=mode, fail_next=[status] * 2, config={"end_date": SHORT_END})
        )
        for mode, status in ECHOES
    },
    "echo-in-records": sim_case(rewrite=lambda cdr: {**cdr, "tags": [f"Bearer {SECRET}"]}),
    "password-401": sim_case(config={"api_key": SECRET + "-revoked"}),
    "password-refused": url_case(f"http://127.0.0.1:{closed_port()}"),
    "password-unresolved": url_case("http://no-such-host.invalid:9"),
    "password-test-passed": sim_case("--test"),
    "password-test-failed": sim_case("--test", config={"api_key": SECRET + "-revoked"}),
    "api-url-query": sim_case(config={"api_url": with_password("http://127.0.0.1:9/api?x=1")}),
    "api-url-fragment": sim_case(config={"api_url": with_password("http://127.0.0.1:9/#top")}),
    "bookmark-2099": sim_case(state_text=bookmark_state("2099-01-01T00:00:00.000Z")),
    "state-empty": sim_case(state_text=""),
    "state-not-json": sim_case(state_text="{bookmarks: cdrs}"),
    "state-a-list": sim_case(state_text="[]"),
    "state-bookmarks-a-list": sim_case(state_text='{"bookmarks": []}'),
    "state-bookmark-not-a-date": sim_case(state_text=bookmark_state("not-a-date")),
    "state-singer-state-wrapper": sim_case(state_text=bookmark_state(MID, wrapped=True)),
    "nulls": sim_case(config=NULLS),
    "drip": hostile_case(Drip(0.5), request_timeout=1, max_tries=1),
    "gzip-bomb": hostile_case(gzip_bomb(2 * 2**30)),
    "giant-records": hostile_case(giant_records(1000, 2**20)),
    "nested-200": hostile_case(nested(10_000)),
    "nested-422": hostile_case(nested(10_000, status=422)),
    "redirect-loop": hostile_case(redirect(lambda handler: handler.path)),
    "https-to-http": downgrade_case,
    "REQUESTS_CA_BUNDLE": tls_case("REQUESTS_CA_BUNDLE"),
    "CURL_CA_BUNDLE": tls_case("CURL_CA_BUNDLE"),
    "untrusted-certificate": tls_case(None),
}


@pytest.fixture(scope="module")
def outcome(
    tmp_path_factory: pytest.TempPathFactory, certs: Path
) -> Iterator[Callable[[str], Outcome]]:
    """Each case's run, made once and shared by the tests that read it."""
    done: dict[str, Outcome] = {}

    def get(name: str) -> Outcome:
        if name not in done:
            done[name] = CASES[name](tmp_path_factory.mktemp(name), certs)
        return done[name]

    return get


def the_error(found: Outcome) -> str:
    """The run's one ERROR line (a stop is one line)."""
    assert found.result.returncode == 1, found.result.stderr[-3000:]
    (line,) = found.errors
    return line


# -- secrets -----------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "status"), ECHOES)
def test_a_key_the_server_echoes_is_redacted_from_the_error_and_each_retry(outcome, mode, status):
    found = outcome(f"echo-{mode}-{status}")
    line = the_error(found)
    assert f"HTTP {status}" in line
    assert "Bearer <redacted>" in line  # the echo was there, and was scrubbed
    retries = [text for text in found.result.stderr.splitlines() if "Retrying in" in text]
    assert len(retries) == (1 if status == "500" else 0)
    assert all("Bearer <redacted>" in text for text in retries)


def test_a_key_the_server_copies_into_cdrs_is_redacted_from_the_records(outcome):
    found = outcome("echo-in-records")
    assert found.result.returncode == 0, found.result.stderr[-3000:]
    assert len(found.records) == len(found.facts["visible"]) == RECORDS
    assert all(r["tags"] == ["Bearer <redacted>"] for r in found.records)


@pytest.mark.parametrize(
    "name", ["password-401", "password-refused", "password-unresolved", "password-test-failed"]
)
def test_a_password_in_api_url_is_not_shown_by_any_stop(outcome, name):
    line = the_error(outcome(name))
    assert "tapuser" not in line  # the URL is shown without its userinfo
    assert ("127.0.0.1" in line) or ("no-such-host.invalid" in line)


def test_the_connection_test_shows_the_url_without_its_password(outcome):
    found = outcome("password-test-passed")
    assert found.result.returncode == 0, found.result.stderr[-3000:]
    (line,) = [
        text for text in found.result.stderr.splitlines() if "Connection test passed" in text
    ]
    assert "answered" in line
    assert "http://127.0.0.1:" in line
    assert "tapuser" not in line


@pytest.mark.parametrize(
    ("name", "problem"), [("api-url-query", "query"), ("api-url-fragment", "fragment")]
)
def test_api_url_with_a_query_or_fragment_is_refused_naming_it(outcome, name, problem):
    found = outcome(name)
    assert found.result.returncode == 1
    (line,) = [text for text in found.errors if "`api_url`" in text]
    assert problem in line
    assert found.requests == []


# -- stops: one ERROR line saying what is wrong -------------------------------------

BOUND = f"more than {MAX_BODY_BYTES // 2**20} MB (decompressed)"
STATE_PROBLEMS = {
    "bookmark-2099": ["2099-01-01T00:00:00.000Z", "meltano state clear", "`--state`"],
    "state-empty": ["state.json", "is empty"],
    "state-not-json": ["state.json", "is not JSON"],
    "state-a-list": ["state.json", "not a list"],
    "state-bookmarks-a-list": ["state.json", "`bookmarks` must be an object"],
    "state-bookmark-not-a-date": ["state.json", "'not-a-date', not an ISO 8601 date time"],
}
STOPS = {
    **STATE_PROBLEMS,
    "drip": ["`request_timeout`"],
    "gzip-bomb": [BOUND, "`page_size`"],
    "giant-records": [BOUND, "`page_size`"],
    "nested-200": ["nested too deeply"],
    "nested-422": ["HTTP 422"],
    "redirect-loop": ["redirect loop"],
    "https-to-http": ["refuses a redirect from https to http"],
    "untrusted-certificate": ["is not trusted", "self-signed certificate", "REQUESTS_CA_BUNDLE"],
}


@pytest.mark.parametrize("name", sorted(STOPS))
def test_each_stop_is_one_error_line_saying_what_is_wrong(outcome, name):
    line = the_error(outcome(name))
    for said in STOPS[name]:
        assert said in line


@pytest.mark.parametrize("name", sorted(STATE_PROBLEMS))
def test_a_state_it_cannot_use_stops_the_run_before_any_request(outcome, name):
    assert outcome(name).requests == []


def test_meltanos_singer_state_wrapper_is_read_as_the_state(outcome):
    found = outcome("state-singer-state-wrapper")
    assert found.result.returncode == 0, found.result.stderr[-3000:]
    emitted = {r["id"] for r in found.records}
    after = {r["id"] for r in found.facts["visible"] if r["started_at"] >= MID}
    assert after <= emitted
    assert len(emitted) < len(found.facts["visible"])  # not a full re-read


def test_request_timeout_cuts_a_body_that_is_still_arriving(outcome):
    found = outcome("drip")
    assert found.facts["respond"].sent < 20  # cut long before the 55-byte body was through


@pytest.mark.parametrize("name", ["nested-200", "nested-422", "redirect-loop"])
def test_deep_nesting_and_redirect_loops_leave_no_traceback_noise(outcome, name):
    stderr = outcome(name).result.stderr
    for noise in ("maximum recursion depth", "Exceeded 30 redirects", "RecursionError"):
        assert noise not in stderr


def test_an_untrusted_certificate_is_not_retried(outcome):
    assert "Retrying in" not in outcome("untrusted-certificate").result.stderr


def test_nothing_is_sent_over_http_after_a_redirect_from_https(outcome):
    assert outcome("https-to-http").requests == []


# -- settings and TLS ----------------------------------------------------------------


def test_null_settings_mean_their_defaults(outcome):
    found = outcome("nulls")
    assert found.result.returncode == 0, found.result.stderr[-3000:]
    assert {r["id"] for r in found.records} == {r["id"] for r in found.facts["visible"]}
    assert "limit=1000" in found.requests[0]  # page_size: null is 1000


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_from_the_environment_is_trusted(outcome, variable):
    found = outcome(variable)
    assert found.result.returncode == 0, found.result.stderr[-3000:]
    assert {r["id"] for r in found.records} == {r["id"] for r in found.facts["visible"]}


# -- the grep ----------------------------------------------------------------------


def test_no_line_the_tap_writes_holds_a_secret(outcome):
    """Every case's stdout and stderr (at DEBUG), for the key and the password."""
    reached_api = 0
    for name in CASES:
        found = outcome(name)
        written = found.result.stdout + found.result.stderr
        assert SECRET not in written, name
        assert PASSWORD not in written, name
        if found.requests:
            reached_api += 1
            assert " DEBUG " in found.result.stderr, name  # the most verbose level was on
    assert reached_api >= 20
    security = " ".join((ROOT / "docs" / "security.md").read_text().split())
    assert f"`tests/test_hostile.py` runs {len(CASES)} hostile cases" in security
