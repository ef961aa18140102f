"""HTTP to the Voiso API: the bearer key, a session that never downgrades, a bounded body.

What is sent and how a body is read, for every endpoint. `api.Api` sends through
these (retries and pacing); streams say what to ask for (`stream.VoisoStream`).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from tap_voiso.shared.errors import BadResponseError
from tap_voiso.shared.redact import display_url


class BearerAuth(requests.auth.AuthBase):
    """Sets `Authorization: Bearer <key>` and nothing else.

    The SDK's authenticators re-encode the query string (turning `type[]` into
    `type%5B%5D`); this one leaves the request exactly as built. Its repr never
    shows the key, so it is safe in tracebacks and debug logs.
    """

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the header to an outgoing request."""
        request.headers["Authorization"] = f"Bearer {self._api_key}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(api_key=<redacted>)"


def api_error_text(content: bytes) -> str:
    """The API's own words from an error body (`error` or `errors`), else a short excerpt."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to be an error
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("errors"), dict):
            return "; ".join(
                f"{name}: {', '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                for name, msgs in body["errors"].items()
            )
        if body.get("error") is not None:
            return str(body["error"])
    text = content.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:300] + ("..." if len(text) > 300 else "") if text else "(empty body)"


# What requests raises for each failure of reading a body (its `iter_content`).
BODY_ERRORS: dict[type[Exception], type[Exception]] = {
    urllib3.exceptions.ProtocolError: requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.DecodeError: requests.exceptions.ContentDecodingError,
    urllib3.exceptions.ReadTimeoutError: requests.exceptions.ConnectionError,
    urllib3.exceptions.SSLError: requests.exceptions.SSLError,
}


# The most a response body may hold, decompressed. A page of 1,000 CDRs is about 1 MB;
# a gzip body can expand a thousandfold, and a server can send what it likes.
MAX_BODY_BYTES = 32 * 1024 * 1024


class BodyTooLarge(Exception):
    """A body past `MAX_BODY_BYTES`: read no further (`fetch_page` says which window)."""


@dataclass(eq=False)
class _Guarded:
    """A response being read, and when its time is up."""

    response: requests.Response
    deadline: float
    fired: bool = False


class _Watchdog:
    """Cuts each response still arriving at its deadline, so no body takes forever.

    requests' timeout bounds each read of the socket, not the whole response: a server
    sending a byte every half second would never trip it. One thread for the process
    watches every response being read (a thread per request cost 15 to 30 MB of peak
    memory in a 200,000-CDR run).
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._guarded: set[_Guarded] = set()
        self._thread: threading.Thread | None = None

    @contextmanager
    def guard(self, response: requests.Response, seconds: float) -> Iterator[_Guarded]:
        """Watch `response` for the block; `fired` says whether its time ran out."""
        guarded = _Guarded(response, time.monotonic() + seconds)
        with self._changed:
            self._guarded.add(guarded)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
                self._thread.start()
            self._changed.notify()
        try:
            yield guarded
        finally:
            with self._changed:
                self._guarded.discard(guarded)

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for guarded in [g for g in self._guarded if g.deadline <= now]:
                    self._guarded.discard(guarded)
                    guarded.fired = True
                    # Wakes the blocked read (urllib3 2.3+); fails once the read is over.
                    with contextlib.suppress(ValueError, RuntimeError, OSError, AttributeError):
                        guarded.response.raw.shutdown()
                deadlines = [g.deadline for g in self._guarded]
                self._changed.wait(min(deadlines) - now if deadlines else None)


WATCHDOG = _Watchdog()


def read_body(response: requests.Response, timeout: float) -> bytes:
    """The whole body, read in one call within `timeout` seconds of sending the request.

    At most `MAX_BODY_BYTES` (decompressed) are read; a larger body raises
    `BodyTooLarge`. A body still arriving at the deadline raises requests'
    `ReadTimeout`, retried like any timeout.

    requests reads a body in 10 KB pieces, each a trip through the GIL: with a dozen
    readers receiving 1 MB pages while the main thread emits, that was some 50,000
    context switches in a 200,000-CDR run (8,000 this way) and a third of its system
    time. Failures are raised as requests would raise them. The body is handed on as
    it is (`response.content` is not used: it would read the stream again).
    """
    remaining = timeout - response.elapsed.total_seconds()
    # Decoding with a size copies the body once more through urllib3's buffer (40 MB
    # more at peak in a 200,000-CDR run): only a compressed body takes that path.
    decode = bool(response.headers.get("Content-Encoding"))
    with WATCHDOG.guard(response, remaining) as watchdog:
        try:
            body = response.raw.read(MAX_BODY_BYTES + 1, decode_content=decode)
        except tuple(BODY_ERRORS) as exc:
            response.close()
            if watchdog.fired:
                raise _timed_out(response, timeout) from exc
            ours = next(ours for raw, ours in BODY_ERRORS.items() if isinstance(exc, raw))
            raise ours(exc) from exc
    if watchdog.fired:
        response.close()
        raise _timed_out(response, timeout)
    if len(body) > MAX_BODY_BYTES:
        response.close()  # the rest is never read: the connection cannot be reused
        raise BodyTooLarge
    return body


def _timed_out(response: requests.Response, timeout: float) -> requests.exceptions.ReadTimeout:
    msg = f"the whole response did not arrive within {timeout:g} s (`request_timeout`)"
    return requests.exceptions.ReadTimeout(msg, request=response.request)


class ApiSession(requests.Session):
    """A requests session that sends as `Session.request` would, and never downgrades.

    The tap sends prepared requests with `Session.send`, which skips what `request`
    takes from the environment: a CA bundle in `REQUESTS_CA_BUNDLE` or `CURL_CA_BUNDLE`
    (a TLS-inspecting corporate proxy) was ignored. And a redirect from https to http
    would carry the CDRs in clear: it is refused.
    """

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.verify = self.merge_environment_settings(base_url, {}, None, None, None)["verify"]

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        """The redirect target requests finds, unless it leaves https for http."""
        target = super().get_redirect_target(resp)
        if target is not None and resp.url.startswith("https:"):
            absolute = urljoin(resp.url, target)
            if urlsplit(absolute).scheme == "http":
                msg = (
                    f"{display_url(resp.url.split('?')[0])} redirected to "
                    f"{display_url(absolute.split('?')[0])}: the tap refuses a redirect from "
                    "https to http, which would send the API key's requests and the CDRs in "
                    "clear. Check `api_url` (or the proxy in front of the API)."
                )
                raise BadResponseError(msg)
        return target
