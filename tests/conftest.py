"""Shared fixtures: simulators on loopback and a way to run the tap and read its output."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tap_voiso import retries
from tap_voiso.tap import TapVoiso
from voiso_simulator import DEFAULT_KEY, DatasetSpec, SimConfig, SimServer, Simulator, serving

ROOT = Path(__file__).resolve().parent.parent
# Wide enough to hold every simulator data set the tests build (January 2026 onward).
START = "2025-12-01T00:00:00Z"
END = "2026-06-01T00:00:00Z"
# An end for a range shorter than `planner.OPENING_SPAN_MS`, past the simulator's default
# data (30 days from 2026-01-01): the range opens with one request, for tests whose
# faults (`fail_next`) or request counts are counted from the run's first request. From
# START to END, a range opens as several windows, their first requests together.
SHORT_END = "2026-02-01T00:00:00Z"


@dataclass
class SyncResult:
    """What one run of the tap wrote to stdout, split by message type."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD"]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def schemas(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "SCHEMA"]

    @property
    def bookmark(self) -> str | None:
        return bookmark_of(self.states[-1])

    @property
    def bookmarks(self) -> list[str]:
        """The `cdrs` bookmark of every STATE that has one, in order."""
        return [b for b in map(bookmark_of, self.states) if b]


def bookmark_of(state: dict[str, Any], stream: str = "cdrs") -> str | None:
    """The bookmark a Singer state holds for `stream`, if any."""
    return state["bookmarks"][stream].get("replication_key_value")


def queries(server: SimServer) -> list[dict[str, list[str]]]:
    """The query parameters of every request the simulator answered, in order."""
    return [parse_qs(urlsplit(path).query) for path in server.simulator.requests]


def assert_exactly_once(result: SyncResult, server: SimServer) -> None:
    """Every CDR the simulator lists was emitted, none twice, and nothing else."""
    ids = Counter(r["id"] for r in result.records)
    assert [i for i, n in ids.items() if n > 1] == []
    assert set(ids) == {r["id"] for r in server.simulator.visible_records()}


def tap_config(server: SimServer, **overrides: Any) -> dict[str, Any]:
    """A valid config for `server`, with `overrides` applied (None removes a key)."""
    config: dict[str, Any] = {
        "api_key": DEFAULT_KEY,
        "api_url": server.url,
        "start_date": START,
        "end_date": END,
    }
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


def singer_lines(text: str) -> list[str]:
    """Singer's lines, split at newlines only.

    Not `str.splitlines`: it also splits at U+0085 and U+2028, which a JSON string may
    hold unescaped (the API's bytes pass through as they are).
    """
    return [line for line in text.split("\n") if line.strip()]


# The one bookmark format (docs/incremental-sync.md): `2026-12-01T07:17:24.609Z`.
BOOKMARK_FORMAT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def check_bookmarks(state: dict[str, Any]) -> None:
    """Every bookmark of a STATE value has the one format (milliseconds and `Z`)."""
    for stream, bookmark in state.get("bookmarks", {}).items():
        value = bookmark.get("replication_key_value")
        assert value is None or BOOKMARK_FORMAT.fullmatch(value), (stream, value)


def parse_messages(text: str) -> SyncResult:
    """Singer messages, each STATE's bookmarks checked for the one format."""
    result = SyncResult([json.loads(line) for line in singer_lines(text)])
    for state in result.states:
        check_bookmarks(state)
    return result


def run_tap(
    config: dict[str, Any], state: dict[str, Any] | None = None, catalog: dict | None = None
) -> SyncResult:
    """Sync in-process and return the Singer messages written."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap = TapVoiso(config=config, state=state, catalog=catalog)
        try:
            tap.sync_all()
        finally:  # what a CLI run writes at exit, even after an error
            tap.message_writer.flush()
    return parse_messages(out.getvalue())


def write_json(folder: Path, value: Any, name: str = "config.json") -> Path:
    """`value` as a JSON file in `folder` (a config, by default): the file's path."""
    path = folder / name
    path.write_text(json.dumps(value))
    return path


def run_cli(
    config: dict[str, Any],
    tmp_path: Path,
    *args: str,
    state: dict | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `tap-voiso` as a user would, in a subprocess, at DEBUG log level (`env` added)."""
    config_path = write_json(tmp_path, config)
    command = [sys.executable, "-m", "tap_voiso", "--config", str(config_path), *args]
    if state is not None:
        command += ["--state", str(write_json(tmp_path, state, "state.json"))]
    environ = {**os.environ, "TAP_VOISO_LOGLEVEL": "DEBUG", "LOGLEVEL": "DEBUG", **(env or {})}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=environ, cwd=ROOT, check=False
    )


# The start of a log record as the SDK's handler writes it: `2026-12-01 10:00:28,456 | ERROR |`.
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \| (\w+)\s*\|", re.MULTILINE)


def log_records(stderr: str) -> list[tuple[str, str]]:
    """`(level, text)` of each log record in a CLI run's stderr, its continuation lines
    (a traceback logged with it) included."""
    starts = list(LOG_RECORD.finditer(stderr))
    ends = [m.start() for m in starts[1:]] + [len(stderr)]
    return [(m.group(1), stderr[m.start() : end]) for m, end in zip(starts, ends, strict=True)]


def catalog_selecting(config: dict[str, Any], *streams: str) -> dict[str, Any]:
    """The tap's catalog with exactly `streams` selected."""
    catalog = TapVoiso(config=config).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def start_cli(
    config: dict[str, Any], tmp_path: Path, *, stderr: int = subprocess.DEVNULL
) -> subprocess.Popen[str]:
    """`tap-voiso` running in the background, its stdout a pipe to read messages from."""
    command = [sys.executable, "-m", "tap_voiso", "--config", str(write_json(tmp_path, config))]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)


def read_until_checkpoint(
    process: subprocess.Popen[str], count: int, lines: list[str]
) -> dict[str, Any] | None:
    """Collect stdout lines until the `count`-th STATE with a bookmark; return that state.

    None if the process ended first (its remaining output is collected all the same).
    """
    assert process.stdout is not None
    seen = 0
    for line in process.stdout:
        lines.append(line)
        message = json.loads(line)
        if message["type"] == "STATE":
            check_bookmarks(message["value"])
        if message["type"] == "STATE" and bookmark_of(message["value"]):
            seen += 1
            if seen == count:
                return message["value"]
    return None


def sim_server(**options: Any) -> SimServer:
    """A simulator bound to a free loopback port, not serving yet (see `serving`):
    `DatasetSpec` fields pick its data, `SimConfig` fields its behaviour."""
    spec = {k: v for k, v in options.items() if k in DatasetSpec.__dataclass_fields__}
    config = {k: v for k, v in options.items() if k not in spec}
    return SimServer(("127.0.0.1", 0), Simulator(DatasetSpec(**spec), SimConfig(**config)))


@pytest.fixture
def make_sim() -> Iterator[Callable[..., SimServer]]:
    """Build simulators for one test: `make_sim(records=..., order="desc", ...)`."""
    with contextlib.ExitStack() as servers:
        yield lambda **options: servers.enter_context(serving(sim_server(**options)))


@pytest.fixture(scope="session")
def shared_sim() -> Iterator[SimServer]:
    """One read-only simulator for tests that only read (do not reconfigure it)."""
    with serving(sim_server(records=6000, seed=11)) as server:
        yield server


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry in milliseconds, not seconds; tests of the real waits opt out by patching back."""
    monkeypatch.setattr(retries, "BACKOFF_BASE_SECONDS", 0.01)


@pytest.fixture(autouse=True)
def _quiet_sdk_logs() -> None:
    logging.getLogger("singer_sdk.metrics").setLevel(logging.WARNING)
