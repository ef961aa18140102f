"""The Voiso REST base stream: URL, auth, one page per request, errors and retries.

Everything about talking to the API lives here; `chain.py` decides *what* to ask
for (which window, which cursor or offset) and never sees HTTP; `retries.py` paces
the requests; `pages.py` reads what comes back.
"""

from __future__ import annotations

import contextlib
import json
import queue
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from singer_sdk import metrics
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import PageContext

from tap_voiso.errors import (
    BadResponseError,
    RateLimitError,
    ResponseTooLargeError,
    RetriesExhaustedError,
    VoisoAPIError,
)
from tap_voiso.failures import causes, describe, describe_certificate, unresolved
from tap_voiso.pages import Page, PageToken, parse_page
from tap_voiso.redact import display_url
from tap_voiso.retries import (
    TRANSIENT_ERRORS,
    RateLimit,
    RateLimitStalled,
    RequestSlots,
    Retrier,
)
from tap_voiso.settings import Settings

# Statuses worth retrying besides 5xx.
RETRY_STATUSES = (408, 429)


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


class VoisoStream(RESTStream[PageToken]):
    """Base stream for `GET /api/v4/reporting/cdrs`."""

    path = "/api/v4/reporting/cdrs"

    @cached_property
    def settings(self) -> Settings:
        """The tap's validated settings, typed, read once."""
        return Settings.from_config(self.config)

    @cached_property
    def retrier(self) -> Retrier:
        """Retries for this stream's readers, sharing one pace under the rate limit."""
        patience = self.settings.rate_limit_patience_seconds
        rate_limit = RateLimit(patience, self.request_slots, self.logger)
        return Retrier(self.backoff_max_tries(), rate_limit, self.logger)

    @cached_property
    def request_slots(self) -> RequestSlots:
        """The cap on this stream's requests in flight: `concurrency`."""
        return RequestSlots(self.settings.concurrency)

    @cached_property
    def _idle_sessions(self) -> queue.SimpleQueue[requests.Session]:
        return queue.SimpleQueue()

    @contextmanager
    def _sending_session(self) -> Iterator[requests.Session]:
        """A session to send one request on, and give back for the next one.

        Taken while a request slot is held: there are never more sessions than
        `concurrency`, whichever thread sends (sessions are not thread-safe), and each
        keeps its connection open, so later requests skip the TCP and TLS handshakes.
        The SDK's own `requests_session` only prepares requests.
        """
        try:
            session = self._idle_sessions.get_nowait()
        except queue.Empty:
            session = ApiSession(self.url_base)
        try:
            yield session
        finally:
            self._idle_sessions.put(session)

    @property
    def url_base(self) -> str:
        """`api_url`, or `https://{cluster_id}.voiso.com`."""
        return self.settings.base_url

    @property
    def authenticator(self) -> BearerAuth:
        """Bearer auth that keeps the query string as built."""
        return BearerAuth(self.settings.api_key)

    @property
    def timeout(self) -> float:  # type: ignore[override]
        """Seconds a whole response may take before it is cut and retried (the SDK: 300)."""
        return self.settings.request_timeout

    def get_url_params(
        self, context: Mapping[str, Any] | None, next_page_token: PageToken | None
    ) -> dict[str, Any]:
        """Window bounds, the configured filters, `limit`, and the cursor and offset if any.

        Every page repeats the filters: the cursor is a keyset position that carries
        none of them. A cursor goes with the offset it stands for, which the API falls
        back to if the cursor has expired.
        """
        params: dict[str, Any] = {}
        if next_page_token is not None:
            params.update(next_page_token.window.params)
        params.update(self.settings.filters)
        params["limit"] = self.settings.page_size
        if next_page_token is not None:
            if next_page_token.cursor is not None:
                params["cursor"] = next_page_token.cursor
            if next_page_token.offset:
                params["offset"] = next_page_token.offset
        return params

    def prepare_page_request(self, token: PageToken) -> requests.PreparedRequest:
        """The exact request for one page (no I/O: tests assert on it directly).

        Brackets go out percent-encoded (`type%5B%5D=call`): urllib3 encodes them
        whatever the caller builds, and servers decode both forms alike.
        """
        http_request = self.get_http_request(
            page=PageContext(stream_context=None, next_page_token=token)
        )
        return self.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
        )

    def fetch_page(self, token: PageToken, stop: threading.Event) -> Page:
        """Request and parse one page, retrying transient failures, unless `stop` is set."""
        prepared = self.prepare_page_request(token)
        try:
            return self.retrier.call(lambda: self._send_and_parse(prepared, stop), stop)
        except RateLimitStalled as exc:
            msg = (
                f"Voiso's rate limit (HTTP 429, too many requests) let no request through for "
                f"{exc.seconds:.0f} s, and its Retry-After would take that past {exc.patience:g} "
                f"s (the `rate_limit_patience_seconds` setting), reading started_at in "
                f"{token.window}. Another job may be using the same API key; "
                "lower `concurrency`, or raise the setting. The bookmark stays at the last "
                "completed window; the next run resumes from there."
            )
            raise RateLimitError(msg) from exc
        except TRANSIENT_ERRORS as exc:
            if unresolved(exc):
                msg = (
                    f"Cannot reach the Voiso API: {describe(exc)}. Check `cluster_id` (the API "
                    "is https://{cluster_id}.voiso.com) or `api_url`."
                )
            else:
                msg = (
                    f"Gave up after {self.retrier.max_tries} tries (the `max_tries` setting) "
                    f"reading started_at in {token.window}: {describe(exc)}. The bookmark stays "
                    "at the last completed window; the next run resumes from there."
                )
            raise RetriesExhaustedError(msg) from exc
        except BodyTooLarge:
            msg = (
                f"A response for started_at in {token.window} holds more than "
                f"{MAX_BODY_BYTES // 2**20} MB (decompressed), the most the tap reads in one "
                f"page ({self.settings.page_size} CDRs are normally about 1 MB): it stopped "
                "reading. If your CDRs really are this large, lower `page_size`."
            )
            raise ResponseTooLargeError(msg) from None

    def _send_and_parse(self, prepared: requests.PreparedRequest, stop: threading.Event) -> Page:
        with self.retrier.rate_limit.turn(stop), self._sending_session() as session:
            try:
                response = session.send(prepared, timeout=self.timeout, stream=True)
            except requests.exceptions.TooManyRedirects as exc:
                last = exc.response.url if exc.response is not None else self.url_base
                msg = (
                    f"Bad response: the API redirected more than {session.max_redirects} times "
                    f"(a redirect loop, last at {display_url(last.split('?')[0])}). "
                    "Check `api_url`."
                )
                raise BadResponseError(msg) from None
            except requests.exceptions.SSLError as exc:
                if not any(isinstance(c, ssl.SSLCertVerificationError) for c in causes(exc)):
                    raise
                msg = (
                    f"The certificate of {display_url(self.url_base)} is not trusted "
                    f"({describe_certificate(exc)}); retrying cannot change that. If a proxy "
                    "inspects TLS on your network, set REQUESTS_CA_BUNDLE to a PEM file "
                    "holding its CA (see docs/security.md)."
                )
                raise BadResponseError(msg) from None
            body = read_body(response, self.timeout)
            self.retrier.rate_limit.answered(response)
            # Judged before the slot is let go: a request waiting for it must not go
            # out after an answer that stops the run (a window's pages wait together).
            self._time_request(response)
            self.check_answer(response, body)
        return parse_page(response, body)

    def _time_request(self, response: requests.Response) -> None:
        """The `http_request_duration` METRIC line other SDK taps log for each request."""
        status = response.status_code
        metrics.log(
            self.metrics_logger,
            metrics.Point(
                "timer",
                metric=metrics.Metric.HTTP_REQUEST_DURATION,
                value=response.elapsed.total_seconds(),
                tags={
                    metrics.Tag.STREAM: self.name,
                    metrics.Tag.ENDPOINT: self.path,
                    metrics.Tag.HTTP_STATUS_CODE: status,
                    metrics.Tag.STATUS: (
                        metrics.Status.SUCCEEDED if status < 400 else metrics.Status.FAILED
                    ),
                },
            ),
        )

    def check_answer(self, response: requests.Response, body: bytes) -> None:
        """Turn error statuses into messages that say what to fix, never with the key."""
        status = response.status_code
        if status < 400:
            return
        said = api_error_text(body)
        prefix = f"HTTP {status} {response.reason or ''}".rstrip()
        if status in RETRY_STATUSES or status >= 500:
            raise RetriableAPIError(f"{prefix} from the Voiso API: {said}", response)
        if status == 401:
            msg = (
                f"{prefix}: Voiso refused the API key, or {display_url(self.url_base)} is not "
                "your cluster. "
                "Check the `api_key` setting, and `cluster_id` (or `api_url`). "
                f"The API said: {said}"
            )
        elif status == 403:
            msg = (
                f"{prefix}: the API key is valid but may not read CDRs here. Give the key the "
                f"`reporting.cdrs.read` scope in Voiso. The API said: {said}"
            )
        elif status == 422:
            msg = (
                f"{prefix}: the API rejected a filter value. Its field errors: {said}. "
                "Check the matching setting (types, subtypes, dispositions, start_date, ...)."
            )
        else:
            msg = f"{prefix} from the Voiso API: {said}"
        raise VoisoAPIError(msg)

    def backoff_max_tries(self) -> int:
        """Tries per request, from the `max_tries` setting."""
        return self.settings.max_tries
