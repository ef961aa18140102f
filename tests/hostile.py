"""Small hostile servers on loopback, for what the simulator cannot be made to do.

A `HostileServer` answers every request with one `respond(handler)` function: a body
dripped a byte at a time, a gzip bomb, a page of giant records, JSON nested 10,000
deep, a redirect loop, a redirect from https to http. `tls_context` serves one of
them, or the simulator, over https with a throwaway self-signed certificate.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Respond = Callable[[BaseHTTPRequestHandler], None]


class HostileServer(ThreadingHTTPServer):
    """Answers every GET with `respond`, over https when given a TLS context."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, respond: Respond, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.respond = respond
        self.paths: list[str] = []  # every request's path and query, in order
        self.scheme = "http"
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"

    @property
    def url(self) -> str:
        """The base URL to give the tap as `api_url`."""
        host, port = self.server_address[:2]
        return f"{self.scheme}://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileServer

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        try:
            self.server.respond(self)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True  # the tap hung up: what some tests expect

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """Serve on a background thread for the duration of the block."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    """One whole response."""
    handler.send_response(status)
    for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


EMPTY_PAGE = b'{"cdrs":[],"metadata":{"total":0,"next_cursor":null}}'


class Drip:
    """A valid (empty) page sent one byte every `interval` seconds; counts what went out."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.sent = 0

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(EMPTY_PAGE)))
        handler.end_headers()
        for byte in EMPTY_PAGE:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            self.sent += 1
            time.sleep(self.interval)


@cache
def gzip_bomb_body(expanded: int) -> bytes:
    """A valid empty page padded with whitespace to `expanded` bytes, gzip-compressed."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    chunk = b" " * 2**20
    parts = [compressor.compress(b'{"cdrs":[')]
    parts += [compressor.compress(chunk) for _ in range(expanded // len(chunk))]
    parts += [compressor.compress(EMPTY_PAGE[len(b'{"cdrs":[') :]), compressor.flush()]
    return b"".join(parts)


def gzip_bomb(expanded: int) -> Respond:
    """A 200 whose gzip body expands to `expanded` bytes of (valid) JSON."""
    body = gzip_bomb_body(expanded)
    return lambda handler: send(handler, 200, body, {"Content-Encoding": "gzip"})


def giant_records(count: int, size: int) -> Respond:
    """A page of `count` valid-looking CDRs of `size` bytes each, written as it goes."""
    filler = "x" * size

    def respond(handler: BaseHTTPRequestHandler) -> None:
        record = json.dumps(
            {"id": "giant", "started_at": "2026-01-01T00:00:00.000Z", "summary": filler}
        ).encode()
        tail = b'],"metadata":{"total":%d,"next_cursor":null}}' % count
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        length = len(b'{"cdrs":[') + count * (len(record) + 1) - 1 + len(tail)
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        handler.wfile.write(b'{"cdrs":[')
        for i in range(count):
            handler.wfile.write((b"," if i else b"") + record)
        handler.wfile.write(tail)

    return respond


def nested(depth: int, status: int = 200) -> Respond:
    """A body holding JSON nested `depth` deep (inside a CDR for a 200)."""
    deep = b"[" * depth + b"]" * depth
    if status == 200:
        body = b'{"cdrs":[{"id":"deep","data":' + deep + b'}],"metadata":{"total":1}}'
    else:
        body = b'{"errors":{"type":' + deep + b"}}"
    return lambda handler: send(handler, status, body)


def redirect(to: Callable[[BaseHTTPRequestHandler], str]) -> Respond:
    """A 302 to `to(handler)`."""
    return lambda handler: send(handler, 302, b"", {"Location": to(handler)})


def tls_context(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a self-signed certificate for 127.0.0.1, and the cert's path."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    if not cert.exists():
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert
