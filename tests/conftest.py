"""Shared fixtures: simulators on loopback and a way to run the tap and read its output."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tap_voiso import retries
from tap_voiso.tap import TapVoiso
from voiso_simulator import DEFAULT_KEY, DatasetSpec, SimConfig, SimServer, Simulator, start

ROOT = Path(__file__).resolve().parent.parent
# Wide enough to hold every simulator data set the tests build (January 2026 onward).
START = "2025-12-01T00:00:00Z"
END = "2026-06-01T00:00:00Z"


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
        return self.states[-1]["bookmarks"]["cdrs"].get("replication_key_value")


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


def parse_messages(text: str) -> SyncResult:
    return SyncResult([json.loads(line) for line in singer_lines(text)])


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


def run_cli(
    config: dict[str, Any],
    tmp_path: Path,
    *args: str,
    state: dict | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `tap-voiso` as a user would, in a subprocess, at DEBUG log level (`env` added)."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    command = [sys.executable, "-m", "tap_voiso", "--config", str(config_path), *args]
    if state is not None:
        state_path = tmp_path / "state.json"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    environ = {**os.environ, "TAP_VOISO_LOGLEVEL": "DEBUG", "LOGLEVEL": "DEBUG", **(env or {})}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=environ, cwd=ROOT, check=False
    )


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
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    command = [sys.executable, "-m", "tap_voiso", "--config", str(config_path)]
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
        if message["type"] == "STATE" and message["value"]["bookmarks"]["cdrs"].get(
            "replication_key_value"
        ):
            seen += 1
            if seen == count:
                return message["value"]
    return None


@pytest.fixture
def make_sim() -> Iterator[Callable[..., SimServer]]:
    """Build simulators for one test: `make_sim(records=..., order="desc", ...)`."""
    servers: list[SimServer] = []
    spec_fields = set(DatasetSpec.__dataclass_fields__)

    def factory(**options: Any) -> SimServer:
        spec = DatasetSpec(**{k: v for k, v in options.items() if k in spec_fields})
        config = SimConfig(**{k: v for k, v in options.items() if k not in spec_fields})
        server = start(Simulator(spec, config))
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def shared_sim() -> Iterator[SimServer]:
    """One read-only simulator for tests that only read (do not reconfigure it)."""
    server = start(Simulator(DatasetSpec(records=6000, seed=11)))
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry in milliseconds, not seconds; tests of the real waits opt out by patching back."""
    monkeypatch.setattr(retries, "BACKOFF_BASE_SECONDS", 0.01)


@pytest.fixture(autouse=True)
def _quiet_sdk_logs() -> None:
    logging.getLogger("singer_sdk.metrics").setLevel(logging.WARNING)
