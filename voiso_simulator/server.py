"""A loopback HTTP server that behaves like Voiso's v4 API: the HTTP layer.

What every endpoint shares lives here: routing, Bearer auth with per-key scopes
(401/403), latency, fault injection (429 with or without `Retry-After`, 5xx, dropped
connections, hangs, malformed 200s), one rate-limit token bucket for every endpoint,
and the request log (`Simulator.requests`, `statuses`, `started`, `answered`). The
endpoints themselves: the CDR list in `voiso_simulator.cdrs` (from
`shared/reference/voiso-cdrs-api.md`), users, campaigns and queues in
`voiso_simulator.directory` (from `voiso-v4-directory-api.md`); the switches in
`voiso_simulator.config.SimConfig`, which tests flip on a running server through
`Simulator.configure` or `POST /_sim/config`.
"""

from __future__ import annotations

import json
import math
import random
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import urlsplit

from voiso_simulator import directory
from voiso_simulator.cdrs import CdrListing
from voiso_simulator.config import (
    ALL_SCOPES,
    API_PATH,
    CDR_ONLY_KEY,
    CDR_SCOPE,
    DEFAULT_KEY,
    FORBIDDEN_KEY,
    ApiError,
    SimConfig,
)
from voiso_simulator.data import Dataset, DatasetSpec
from voiso_simulator.directory import Directory

# Names older imports reach through this module.
__all__ = [
    "CDR_ONLY_KEY",
    "DEFAULT_KEY",
    "FORBIDDEN_KEY",
    "ApiError",
    "SimConfig",
    "SimServer",
    "Simulator",
    "serving",
    "start",
]


class Simulator(CdrListing):
    """The data set, the switches, and the request log behind one server."""

    def __init__(self, spec: DatasetSpec | None = None, config: SimConfig | None = None) -> None:
        self.dataset = Dataset(spec or DatasetSpec())
        self.config = config or SimConfig()
        self.lock = threading.Lock()
        self.requests: list[str] = []  # path and raw query of every API request
        self.statuses: list[int] = []
        self.faults: Counter[str] = Counter()  # faults served, by kind
        self.started: list[float] = []  # monotonic time each API request arrived
        self.answered: list[tuple[float, int]] = []  # (monotonic time, status) of each answer
        self.inflight = 0
        self.connections = 0  # TCP connections accepted
        self.max_inflight = 0  # most API requests served at the same time
        self._rng = random.Random(self.config.fault_seed)
        self._tokens = 0.0
        self._refilled: float | None = None  # when the bucket was last topped up
        self._init_cdrs()
        # Tests may set a function that rewrites each served record (hostile content).
        self.rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self._directory: Directory | None = None
        self._directory_lock = threading.Lock()

    @property
    def directory(self) -> Directory:
        """Users, campaigns and queues, derived from the CDRs on first use."""
        with self._directory_lock:
            if self._directory is None:
                config = self.config
                self._directory = Directory(self.dataset, config.extra_users, config.extra_queues)
            return self._directory

    # -- control -------------------------------------------------------------------

    def configure(self, **changes: Any) -> None:
        """Change switches on the running server (unknown names are refused)."""
        known = {f.name for f in fields(SimConfig)}
        unknown = set(changes) - known
        if unknown:
            msg = f"unknown simulator settings: {sorted(unknown)}"
            raise ValueError(msg)
        with self.lock:
            for name, value in changes.items():
                setattr(self.config, name, value)
            if "fault_seed" in changes:
                self._rng = random.Random(self.config.fault_seed)
            self._totals.clear()

    def reset_log(self) -> None:
        """Forget logged requests and per-query paging history."""
        with self.lock:
            self.requests.clear()
            self.statuses.clear()
            self.started.clear()
            self.answered.clear()
            self.max_inflight = 0
            self._cursor_history.clear()
            self._page_counts.clear()

    # -- request handling ----------------------------------------------------------

    def fault_for_request(self) -> tuple[str | None, float]:
        """The fault (status or kind) this request suffers, if any, and its Retry-After."""
        cfg = self.config
        with self.lock:
            if cfg.fail_next:
                return cfg.fail_next.pop(0), cfg.retry_after_seconds
            if cfg.rate_limit_per_second:
                wait = self._take_token(cfg.rate_limit_per_second)
                if wait:
                    return "429", max(cfg.retry_after_seconds, math.ceil(wait))
            if cfg.fault_rate and self._rng.random() < cfg.fault_rate:
                return self._rng.choice(cfg.fault_mix), cfg.retry_after_seconds
            if cfg.hang_rate and self._rng.random() < cfg.hang_rate:
                return "hang", 0
        return None, 0

    def _take_token(self, rate: float) -> float:
        """0 if the bucket lets this request through, else the seconds until it would."""
        now = time.monotonic()
        capacity = max(1.0, rate)
        if self._refilled is None:
            tokens = capacity
        else:
            tokens = min(capacity, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if tokens >= 1:
            self._tokens = tokens - 1
            return 0.0
        self._tokens = tokens
        return (1 - tokens) / rate

    def authorize(self, header: str | None, scope: str = CDR_SCOPE) -> None:
        """Raise the API's 401 or 403 for a missing, wrong or unscoped key."""
        token = (
            (header or "").removeprefix("Bearer ").strip()
            if header and header.startswith("Bearer ")
            else None
        )
        if token == self.config.forbidden_key:
            if scope != CDR_SCOPE:
                raise ApiError(403, {"error": "Forbidden"})
            raise ApiError(
                403, {"error": "Forbidden: the API key lacks the reporting.cdrs.read scope"}
            )
        scopes = self.scopes_of(token)
        if scopes is None:
            raise ApiError(401, {"error": "Unauthorized"})
        if scope not in scopes:
            raise ApiError(403, {"error": "Forbidden"})

    def scopes_of(self, token: str | None) -> list[str] | None:
        """The scopes of a key, None for a key the API does not know (`key_scopes`)."""
        cfg = self.config
        if token is not None and token == cfg.api_key:
            return cfg.key_scopes.get(token, ALL_SCOPES)
        if token is not None and token != DEFAULT_KEY and token in cfg.key_scopes:
            return cfg.key_scopes[token]
        return None


class Handler(BaseHTTPRequestHandler):
    """One request; the simulator is reached through `self.server.simulator`."""

    protocol_version = "HTTP/1.1"
    server: SimServer

    def setup(self) -> None:
        """Count TCP connections (a client that reuses its connections opens few)."""
        super().setup()
        with self.server.simulator.lock:
            self.server.simulator.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read the simulator's own request log instead."""

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        echo = self.server.simulator.config.echo_auth
        if status >= 400 and echo != "none":
            body, content_type = self._echo_auth(echo, status, body, content_type)
        if status >= 400 and echo == "reason":
            self.send_response(status, f"Denied for {self.headers.get('Authorization')}")
        else:
            self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _echo_auth(
        self, echo: str, status: int, body: bytes, content_type: str
    ) -> tuple[bytes, str]:
        """An error body that repeats the request's Authorization header (`echo_auth`)."""
        auth = self.headers.get("Authorization", "")
        if echo == "html":
            page = (
                f"<html><body><h1>Error {status}</h1><pre>Authorization: {auth}</pre></body></html>"
            )
            return page.encode(), "text/html"
        if echo != "body":
            return body, content_type
        try:
            payload = json.loads(body)
        except ValueError:
            return body + f" (Authorization: {auth})".encode(), content_type
        if isinstance(payload.get("errors"), dict):
            payload["errors"]["authorization"] = [f"{auth} was sent"]
        else:
            payload["error"] = f"{payload.get('error', 'error')} (Authorization: {auth})"
        return json.dumps(payload).encode(), "application/json"

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def do_POST(self) -> None:
        """Admin endpoints: `/_sim/config` (JSON of SimConfig fields) and `/_sim/reset`."""
        sim = self.server.simulator
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        path = urlsplit(self.path).path
        try:
            if path == "/_sim/config":
                sim.configure(**payload)
            elif path == "/_sim/reset":
                sim.reset_log()
            else:
                self._send_json(404, {"error": "Not Found"})
                return
        except (ValueError, TypeError) as exc:
            self._send_json(400, {"error": str(exc)})
            return
        self._send_json(200, {"config": asdict(sim.config)})

    def do_GET(self) -> None:
        """The API's endpoints (CDRs, the directory), plus `/_sim/stats` for scripts
        outside the test process."""
        sim = self.server.simulator
        parts = urlsplit(self.path)
        if parts.path == "/_sim/stats":
            with sim.lock:
                self._send_json(
                    200,
                    {
                        "requests": len(sim.requests),
                        "statuses": sim.statuses[-1000:],
                        "records": len(sim.dataset),
                        "max_inflight": sim.max_inflight,
                        "by_status": Counter(sim.statuses),
                    },
                )
            return
        request = None if parts.path == API_PATH else directory.match(parts.path)
        if parts.path != API_PATH and request is None:
            self._send_json(404, {"error": "Not Found"})
            return
        with sim.lock:
            sim.requests.append(self.path)
            sim.started.append(time.monotonic())
            sim.inflight += 1
            sim.max_inflight = max(sim.max_inflight, sim.inflight)
        try:
            status = self._serve(sim, parts.query, request)
        finally:
            with sim.lock:
                sim.inflight -= 1
        with sim.lock:
            sim.statuses.append(status)
            sim.answered.append((time.monotonic(), status))

    def _serve(self, sim: Simulator, raw_query: str, request: directory.Request | None) -> int:
        """Latency, faults and the rate limit (shared by every endpoint), then the answer."""
        cfg = sim.config
        if cfg.latency_ms:
            time.sleep(cfg.latency_ms / 1000)
        fault, retry_after = sim.fault_for_request()
        if fault == "ok":  # a placeholder in `fail_next`: this request is served as usual
            fault = None
        if fault is not None:
            with sim.lock:
                sim.faults[fault] += 1
        if fault is not None and fault != "hang":
            return self._fault(fault, retry_after)
        if fault == "hang":
            time.sleep(cfg.hang_seconds)
        auth = self.headers.get("Authorization")
        try:
            if request is None:
                sim.authorize(auth)
                body = sim.cdr_body(raw_query)
            else:
                sim.authorize(auth, request.scope)
                payload = directory.respond(sim.directory, cfg, request, raw_query)
                body = json.dumps(payload, ensure_ascii=False).encode()
        except ApiError as exc:
            self._send_json(exc.status, exc.body)
            return exc.status
        self._send(200, body)
        return 200

    def _fault(self, fault: str, retry_after: float) -> int:
        cfg = self.server.simulator.config
        if fault == "429":
            headers = {}
            if cfg.retry_after == "seconds":
                headers["Retry-After"] = str(retry_after)
            elif cfg.retry_after == "date":
                headers["Retry-After"] = formatdate(time.time() + retry_after, usegmt=True)
            self._send_json(429, {"error": "Too Many Requests"}, headers=headers)
            return 429
        if fault == "drop":
            # Promise a full body, send half of it, then drop the connection.
            body = b'{"cdrs":[{"id":"' + b"x" * 200
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) * 2))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return -1
        if fault == "html":
            self._send(
                200, b"<html><body><h1>502 Bad Gateway</h1>proxy error</body></html>", "text/html"
            )
            return 200
        if fault == "truncated":
            self._send(200, b'{"cdrs":[{"id":"3f18')
            return 200
        if fault == "no_cdrs":
            self._send_json(200, {"metadata": {"total": 1, "next_cursor": None}})
            return 200
        if fault == "null_cdrs":
            self._send_json(200, {"cdrs": None, "metadata": {"total": 1, "next_cursor": None}})
            return 200
        if fault == "no_metadata":
            self._send_json(200, {"cdrs": []})
            return 200
        status = int(fault)
        if status == 502:
            self._send(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        else:
            self._send_json(status, {"error": f"simulated {status}"})
        return status


class SimServer(ThreadingHTTPServer):
    """A threading HTTP server that carries its `Simulator`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        super().__init__(address, Handler)
        self.simulator = simulator

    @property
    def url(self) -> str:
        """The base URL to give the tap as `api_url`."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


ServerT = TypeVar("ServerT", bound=socketserver.BaseServer)


@contextmanager
def serving(server: ServerT) -> Iterator[ServerT]:
    """Serve `server` (bound, not yet serving) on a background thread for the block, then
    stop it and close its socket."""
    thread = threading.Thread(target=server.serve_forever, name="voiso-simulator", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def start(simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> SimServer:
    """Serve `simulator` on a background thread; `server.shutdown()` stops it."""
    server = SimServer((host, port), simulator)
    threading.Thread(target=server.serve_forever, name="voiso-simulator", daemon=True).start()
    return server
