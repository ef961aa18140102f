"""One API key's connection to Voiso, shared by every stream of a run.

Voiso counts every endpoint against one rate limit per key. So one pace under it
(`RateLimit`), one cap on requests in flight (`RequestSlots`, the `concurrency`
setting) and one pool of sessions serve the CDR windows and the directory lists
alike: a run that reads both learns the limit once, and the directory's requests
do not collect 429s the CDRs' already taught it to avoid.

`send` is one try; `call` retries it and turns a failure that outlasted the tries
into a stop that says what was being read and what to do.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import requests

from tap_voiso.settings import Settings
from tap_voiso.shared.errors import (
    BadResponseError,
    RateLimitError,
    ResponseTooLargeError,
    RetriesExhaustedError,
)
from tap_voiso.shared.failures import causes, describe, describe_certificate, unresolved
from tap_voiso.shared.http import MAX_BODY_BYTES, ApiSession, BodyTooLarge, read_body
from tap_voiso.shared.redact import display_url
from tap_voiso.shared.retries import (
    TRANSIENT_ERRORS,
    RateLimit,
    RateLimitStalled,
    RequestSlots,
    Retrier,
)

T = TypeVar("T")
# Judges an answer (raises for an error status) while its request slot is still held.
Check = Callable[[requests.Response, bytes], None]


class Api:
    """Sessions, the cap on requests in flight, the pace and the retries of one run."""

    def __init__(self, settings: Settings, logger: logging.Logger) -> None:
        self.settings = settings
        self.slots = RequestSlots(settings.concurrency)
        self.rate_limit = RateLimit(settings.rate_limit_patience_seconds, self.slots, logger)
        self.retrier = Retrier(settings.max_tries, self.rate_limit, logger)
        self._idle: queue.SimpleQueue[requests.Session] = queue.SimpleQueue()

    @contextmanager
    def _session(self) -> Iterator[requests.Session]:
        """A session to send one request on, and give back for the next one.

        Taken while a request slot is held: there are never more sessions than
        `concurrency`, whichever thread sends (sessions are not thread-safe), and each
        keeps its connection open, so later requests skip the TCP and TLS handshakes.
        The SDK's own `requests_session` only prepares requests.
        """
        try:
            session = self._idle.get_nowait()
        except queue.Empty:
            session = ApiSession(self.settings.base_url)
        try:
            yield session
        finally:
            self._idle.put(session)

    def send(
        self, prepared: requests.PreparedRequest, stop: threading.Event, check: Check
    ) -> tuple[requests.Response, bytes]:
        """One try: the response and its whole body, judged by `check` in its turn."""
        with self.rate_limit.turn(stop), self._session() as session:
            try:
                response = session.send(
                    prepared, timeout=self.settings.request_timeout, stream=True
                )
            except requests.exceptions.TooManyRedirects as exc:
                last = exc.response.url if exc.response is not None else self.settings.base_url
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
                    f"The certificate of {display_url(self.settings.base_url)} is not trusted "
                    f"({describe_certificate(exc)}); retrying cannot change that. If a proxy "
                    "inspects TLS on your network, set REQUESTS_CA_BUNDLE to a PEM file "
                    "holding its CA (see docs/security.md)."
                )
                raise BadResponseError(msg) from None
            body = read_body(response, self.settings.request_timeout)
            self.rate_limit.answered(response)
            # Judged before the slot is let go: a request waiting for it must not go
            # out after an answer that stops the run (a window's pages wait together).
            check(response, body)
        return response, body

    def call(
        self,
        attempt: Callable[[], T],
        stop: threading.Event,
        *,
        reading: str,
        then: str,
        page_size: int,
    ) -> T:
        """`attempt()`, retried; a stop names what was `reading` and what follows (`then`)."""
        try:
            return self.retrier.call(attempt, stop)
        except RateLimitStalled as exc:
            msg = (
                f"Voiso's rate limit (HTTP 429, too many requests) let no request through for "
                f"{exc.seconds:.0f} s, and its Retry-After would take that past {exc.patience:g} "
                f"s (the `rate_limit_patience_seconds` setting), {reading}. Another job may be "
                f"using the same API key; lower `concurrency`, or raise the setting. {then}"
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
                    f"{reading}: {describe(exc)}. {then}"
                )
            raise RetriesExhaustedError(msg) from exc
        except BodyTooLarge:
            msg = (
                f"A response {reading} holds more than {MAX_BODY_BYTES // 2**20} MB "
                "(decompressed), the most the tap reads in one page "
                f"({page_size} records are normally well under 1 MB): it stopped reading. If "
                "your records really are this large, lower `page_size`."
            )
            raise ResponseTooLargeError(msg) from None
