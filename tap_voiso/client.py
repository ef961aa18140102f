"""The Voiso REST base stream: URL, auth, one page per request, errors and retries.

Everything about talking to the API lives here; `streams.py` decides *what* to ask
for (which window, which cursor) and never sees HTTP.
"""

from __future__ import annotations

import email.utils
import queue
import random
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

import backoff
import msgspec
import requests
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import PageContext

from tap_voiso import settings
from tap_voiso.errors import RetriesExhaustedError, VoisoAPIError
from tap_voiso.windows import Window

# First wait between tries (doubling each time), the longest such wait, and the
# most of a server's Retry-After we honour.
BACKOFF_BASE_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 600.0
# Statuses worth retrying besides 5xx.
RETRY_STATUSES = (408, 429)


# Failures worth another try: the next attempt may well succeed.
TRANSIENT_ERRORS = (
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
)


@dataclass(frozen=True)
class PageToken:
    """What one request asks for: a window, a cursor within it (None: its first page)."""

    window: Window
    cursor: str | None = None


@dataclass
class Page:
    """One response, checked for shape but not yet decoded record by record.

    Readers hold pages while the stream emits earlier windows, so a page keeps its
    body as the bytes received (about a third of the decoded size) and is decoded
    when its turn comes.
    """

    body: bytes
    count: int  # CDRs on the page
    total: int | None  # metadata.total
    next_cursor: str | None  # metadata.next_cursor
    extracted_at: datetime  # when the page arrived: the records' time_extracted

    def records(self) -> list[dict[str, Any]]:
        """The page's CDRs as dicts, exactly as the API sent them."""
        return msgspec.json.decode(self.body)["cdrs"]  # type: ignore[no-any-return]


class _Metadata(msgspec.Struct):
    total: Any = None
    next_cursor: Any = None


class _Envelope(msgspec.Struct):
    """The response's outline: its CDRs left undecoded, so checking costs ~0.5 ms a page."""

    cdrs: list[msgspec.Raw]
    metadata: _Metadata


_ENVELOPE = msgspec.json.Decoder(_Envelope)


class RateGate:
    """Holds every reader back after a 429, for as long as the server asked.

    Readers share one API key, hence one rate limit: when one of them is told to
    wait, the others would only collect 429s of their own by carrying on.
    """

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """Let no request out for `seconds` from now."""
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def wait(self) -> None:
        """Sleep until requests may go out again."""
        delay = self._until - time.monotonic()
        if delay > 0:
            time.sleep(delay)


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


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """The wait a 429/503 asks for, from `Retry-After` in seconds or as an HTTP date."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def api_error_text(response: requests.Response) -> str:
    """The API's own words from an error body (`error` or `errors`), else a short excerpt."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("errors"), dict):
            return "; ".join(
                f"{name}: {', '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                for name, msgs in body["errors"].items()
            )
        if body.get("error") is not None:
            return str(body["error"])
    text = response.text.strip().replace("\n", " ")
    return text[:300] + ("..." if len(text) > 300 else "") if text else "(empty body)"


class VoisoStream(RESTStream[PageToken]):
    """Base stream for `GET /api/v4/reporting/cdrs`."""

    path = "/api/v4/reporting/cdrs"

    @cached_property
    def rate_gate(self) -> RateGate:
        """The pause shared by this stream's readers after a 429."""
        return RateGate()

    @cached_property
    def _thread_local(self) -> threading.local:
        return threading.local()

    @cached_property
    def _idle_sessions(self) -> queue.SimpleQueue[requests.Session]:
        return queue.SimpleQueue()

    @property
    def requests_session(self) -> requests.Session:
        """One session per thread: windows are read in parallel; sessions are not thread-safe.

        A thread takes an idle session (and its open connection) when there is one, so
        a new window's reader skips the TCP and TLS handshakes.
        """
        local = self._thread_local
        if not hasattr(local, "session"):
            try:
                local.session = self._idle_sessions.get_nowait()
            except queue.Empty:
                local.session = requests.Session()
        return local.session  # type: ignore[no-any-return]

    def release_session(self) -> None:
        """Hand this thread's session to the next reader (a reader calls this when done)."""
        session = getattr(self._thread_local, "session", None)
        if session is not None:
            del self._thread_local.session
            self._idle_sessions.put(session)

    @property
    def url_base(self) -> str:
        """`api_url`, or `https://{cluster_id}.voiso.com`."""
        return settings.base_url(self.config)

    @property
    def authenticator(self) -> BearerAuth:
        """Bearer auth that keeps the query string as built."""
        return BearerAuth(self.config["api_key"])

    @property
    def timeout(self) -> int:
        """Seconds before a hung request is cut and retried (the SDK waits 300)."""
        return self.config.get("request_timeout", settings.DEFAULT_REQUEST_TIMEOUT)

    @property
    def page_size(self) -> int:
        """`limit` for every request."""
        return int(self.config.get("page_size", settings.MAX_PAGE_SIZE))

    def get_url_params(
        self, context: Mapping[str, Any] | None, next_page_token: PageToken | None
    ) -> dict[str, Any]:
        """Window bounds, the configured filters, `limit`, and the cursor if any.

        Every page repeats the filters: the cursor is a keyset position that carries
        none of them.
        """
        params: dict[str, Any] = {}
        if next_page_token is not None:
            params.update(next_page_token.window.params)
        params.update(settings.filter_params(self.config))
        params["limit"] = self.page_size
        if next_page_token is not None and next_page_token.cursor is not None:
            params["cursor"] = next_page_token.cursor
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

    def fetch_page(self, token: PageToken) -> Page:
        """Request and parse one page, retrying transient failures with backoff."""
        prepared = self.prepare_page_request(token)
        fetch: Callable[[requests.PreparedRequest], Page] = self.request_decorator(
            self._send_and_parse
        )
        try:
            return fetch(prepared)
        except TRANSIENT_ERRORS as exc:
            msg = (
                f"Gave up after {self.backoff_max_tries()} tries (the `max_tries` setting) reading "
                f"started_at in {token.window}: {_describe(exc)}. The bookmark stays at the last "
                "completed window; the next run resumes from there."
            )
            raise RetriesExhaustedError(msg) from exc

    def _send_and_parse(self, prepared: requests.PreparedRequest) -> Page:
        self.rate_gate.wait()
        response = self.requests_session.send(prepared, timeout=self.timeout)
        self.validate_response(response)
        return self.parse_page(response)

    def parse_page(self, response: requests.Response) -> Page:
        """Check the body's outline; a 200 that is not a CDR list is retried like a 5xx.

        Proxies and load balancers answer 200 with HTML, and connections cut
        mid-body leave truncated JSON: neither may pass as an empty page.
        """
        body = response.content
        try:
            envelope = _ENVELOPE.decode(body)
        except msgspec.ValidationError:  # JSON, but not shaped like a CDR list
            problem = _shape_problem(msgspec.json.decode(body))
            msg = f"HTTP {response.status_code} but the body is not a CDR list: {problem}"
            raise RetriableAPIError(msg, response) from None
        except msgspec.DecodeError as exc:
            kind = response.headers.get("Content-Type", "unknown content type")
            msg = f"HTTP {response.status_code} but the body is not JSON ({kind}): {exc}"
            raise RetriableAPIError(msg, response) from None
        total, cursor = envelope.metadata.total, envelope.metadata.next_cursor
        if cursor is not None and not isinstance(cursor, str):
            msg = f"HTTP {response.status_code} but `metadata.next_cursor` is not a string"
            raise RetriableAPIError(msg, response)
        return Page(
            body=body,
            count=len(envelope.cdrs),
            total=total if isinstance(total, int) and not isinstance(total, bool) else None,
            next_cursor=cursor or None,
            extracted_at=datetime.now(timezone.utc),
        )

    def validate_response(self, response: requests.Response) -> None:
        """Turn error statuses into messages that say what to fix, never with the key."""
        status = response.status_code
        if status < 400:
            return
        said = api_error_text(response)
        prefix = f"HTTP {status} {response.reason or ''}".rstrip()
        if status in RETRY_STATUSES or status >= 500:
            raise RetriableAPIError(f"{prefix} from the Voiso API: {said}", response)
        if status == 401:
            msg = (
                f"{prefix}: Voiso refused the API key, or {self.url_base} is not your cluster. "
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

    # -- retries -------------------------------------------------------------------

    def request_decorator(self, func: Callable) -> Callable:
        """Retry transient failures: exponential backoff, `Retry-After` when the server sends it."""
        return backoff.on_exception(
            self.backoff_wait_generator,
            TRANSIENT_ERRORS,
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=None,
            logger=None,
        )(func)

    def backoff_wait_generator(self) -> Generator[float, Any, None]:  # type: ignore[override]
        """Waits of 1, 2, 4, ... up to 60 s (plus up to 25% jitter), or what `Retry-After` asks."""
        exception = yield  # type: ignore[misc]
        attempt = 0
        while True:
            response = getattr(exception, "response", None)
            asked = retry_after_seconds(response)
            if asked is None:
                # Up to a quarter more, at random, so parallel runs do not retry in step.
                wait = min(MAX_BACKOFF_SECONDS, BACKOFF_BASE_SECONDS * 2.0**attempt)
                wait *= 1 + random.random() / 4  # noqa: S311
            else:
                wait = asked
            if response is not None and response.status_code == 429:
                self.rate_gate.pause(wait)
            attempt += 1
            exception = yield wait

    def backoff_max_tries(self) -> int:
        """Tries per request, from the `max_tries` setting."""
        return int(self.config.get("max_tries", settings.DEFAULT_MAX_TRIES))

    def backoff_handler(self, details: Any) -> None:
        """One WARNING per retry: what failed, which try, how long until the next."""
        self.logger.warning(
            "Retrying in %.1f s (try %d of %d failed): %s",
            details.get("wait") or 0.0,
            details.get("tries", 0),
            self.backoff_max_tries(),
            _describe(details.get("exception")),
        )


def _describe(exc: BaseException | None) -> str:
    """One line about a failure, free of headers (and so of the API key)."""
    if exc is None:
        return "unknown error"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no response within the timeout ({type(exc).__name__})"
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionResetError)):
        return f"connection failed or dropped ({type(exc).__name__})"
    return str(exc) or type(exc).__name__


def _shape_problem(body: Any) -> str | None:
    """What is wrong with a 200 body, or None when it has the documented shape."""
    if not isinstance(body, dict):
        return f"expected a JSON object, got {type(body).__name__}"
    if not isinstance(body.get("cdrs"), list):
        return "`cdrs` is missing or null" if body.get("cdrs") is None else "`cdrs` is not a list"
    if not isinstance(body.get("metadata"), dict):
        return "`metadata` is missing"
    cursor = body["metadata"].get("next_cursor")
    if cursor is not None and not isinstance(cursor, str):
        return "`metadata.next_cursor` is not a string"
    return None
