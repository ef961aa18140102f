"""Local stand-ins for a warehouse (fakesnow, bqemulator): a process on a loopback port.

The tests and benchmarks start one per module, wait until its port answers, and stop it
at the end, so that no test depends on a server left running by another.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The columns of the tap's streams that the loaders' layouts hold, by the kind of JSON
# Schema value the tap declares (string, integer, number, date-time, object or array):
# each stand-in's module types them as its loader does.
STREAMS: dict[str, tuple[tuple[str, str], ...]] = {
    "cdrs": (
        ("id", "uuid"), ("type", "string"), ("subtype", "string"), ("disposition", "string"),
        ("from", "json"), ("to", "json"), ("user", "json"), ("cost", "number"),
        ("tags", "json"), ("started_at", "date-time"), ("ended_at", "date-time"),
        ("data", "json"),
    ),
    "users": (
        ("id", "string"), ("name", "string"), ("email", "string"), ("sip_account", "string"),
        ("extension", "string"), ("caller_id", "string"), ("employee_id", "string"),
        ("timezone", "string"), ("security_access_group", "json"), ("teams", "json"),
        ("supervised_teams", "json"),
    ),
    "campaigns": (
        ("id", "integer"), ("name", "string"), ("status", "string"), ("strategy", "string"),
        ("dial_level", "number"), ("max_dial_time", "integer"), ("created_at", "date-time"),
        ("updated_at", "date-time"),
    ),
}  # fmt: skip


def typed(stream: str, types: dict[str, str], upper: bool = False) -> tuple[tuple[str, str], ...]:
    """A stream's columns typed by a loader (`types`: kind to its type; `upper`: names
    upper-cased, as Snowflake folds them)."""
    return tuple((n.upper() if upper else n, types[kind]) for n, kind in STREAMS[stream])


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_server(command: list[str], port: int, name: str, wait: float = 120) -> Iterator[None]:
    """Run `command` until the block ends, once `port` on loopback accepts connections
    (`name` says which server did not start, when it exits or `wait` seconds pass)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start") from None
                time.sleep(0.2)
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_client(python: Path, script: str, request: dict[str, Any]) -> dict[str, Any]:
    """Run a server's client `script` with the Python of the environment that has its
    client library, `request` as its JSON argument; its JSON answer (stdout)."""
    result = subprocess.run(
        [str(python), "-c", script, json.dumps(request)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(result.stderr[-3000:])
    return dict(json.loads(result.stdout))
