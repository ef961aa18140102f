"""The Voiso REST base stream: URL, auth, one page per request, errors and retries.

Everything about talking to the API lives here; `chain.py` decides *what* to ask
for (which window, which cursor or offset) and never sees HTTP; `retries.py` paces
the requests; `pages.py` reads what comes back.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import requests
import urllib3
from singer_sdk import metrics
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import PageContext

from tap_voiso import settings
from tap_voiso.errors import RetriesExhaustedError, VoisoAPIError
from tap_voiso.pages import Page, PageToken, parse_page
from tap_voiso.retries import (
    TRANSIENT_ERRORS,
    RateGate,
    RequestSlots,
    Retrier,
    Stopped,
    describe,
    unresolved,
)

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


# What requests raises for each failure of reading a body (its `iter_content`).
BODY_ERRORS: dict[type[Exception], type[Exception]] = {
    urllib3.exceptions.ProtocolError: requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.DecodeError: requests.exceptions.ContentDecodingError,
    urllib3.exceptions.ReadTimeoutError: requests.exceptions.ConnectionError,
    urllib3.exceptions.SSLError: requests.exceptions.SSLError,
}


def read_body(response: requests.Response) -> None:
    """Read the whole body in one call; `response.content` then returns it.

    requests reads a body in 10 KB pieces, each a trip through the GIL: with a dozen
    readers receiving 1 MB pages while the main thread emits, that was some 50,000
    context switches in a 200,000-CDR run (8,000 this way) and a third of its system
    time. Failures are raised as requests would raise them. `_content` is requests'
    own store for the body: tests that read an error's body (a 422's field errors)
    fail if it moves.
    """
    try:
        body = response.raw.read(decode_content=True)
    except tuple(BODY_ERRORS) as exc:
        response.close()
        raise next(ours for raw, ours in BODY_ERRORS.items() if isinstance(exc, raw))(exc) from exc
    response._content = body  # requests' store for `content` (see above)


class VoisoStream(RESTStream[PageToken]):
    """Base stream for `GET /api/v4/reporting/cdrs`."""

    path = "/api/v4/reporting/cdrs"

    @cached_property
    def rate_gate(self) -> RateGate:
        """The pause after a 429 that every reader of this stream keeps."""
        return RateGate()

    @cached_property
    def retrier(self) -> Retrier:
        """Retries for this stream's readers, sharing one pause after a 429."""
        return Retrier(self.backoff_max_tries(), self.rate_gate, self.logger)

    @cached_property
    def request_slots(self) -> RequestSlots:
        """The cap on this stream's requests in flight: `concurrency`."""
        return RequestSlots(self.concurrency)

    @property
    def concurrency(self) -> int:
        """Windows read at once, and the cap on requests in flight."""
        return int(self.config.get("concurrency", settings.DEFAULT_CONCURRENCY))

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
            session = requests.Session()
        try:
            yield session
        finally:
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
        """Window bounds, the configured filters, `limit`, and the cursor and offset if any.

        Every page repeats the filters: the cursor is a keyset position that carries
        none of them. A cursor goes with the offset it stands for, which the API falls
        back to if the cursor has expired.
        """
        params: dict[str, Any] = {}
        if next_page_token is not None:
            params.update(next_page_token.window.params)
        params.update(settings.filter_params(self.config))
        params["limit"] = self.page_size
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

    def _send_and_parse(self, prepared: requests.PreparedRequest, stop: threading.Event) -> Page:
        with self.request_slots.hold(stop), self._sending_session() as session:
            if stop.is_set():  # stopped while this request waited for its slot
                raise Stopped
            self.rate_gate.wait(stop)  # or a 429 came meanwhile: its pause holds here too
            response = session.send(prepared, timeout=self.timeout, stream=True)
            read_body(response)
            # Judged before the slot is let go: a request waiting for it must not go
            # out after an answer that stops the run (a window's pages wait together).
            self._time_request(response)
            self.validate_response(response)
        return parse_page(response)

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

    def backoff_max_tries(self) -> int:
        """Tries per request, from the `max_tries` setting."""
        return int(self.config.get("max_tries", settings.DEFAULT_MAX_TRIES))
