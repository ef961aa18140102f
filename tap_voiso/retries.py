"""What paces requests: the cap on requests in flight, the pause after a 429, and retries.

All three answer to one stop signal: when a stream stops (a window failed, or the
process was told to end) no reader sends another request, and a reader waiting (for a
slot, for the 429 pause to end, or between tries) stops waiting at once.
"""

from __future__ import annotations

import email.utils
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import RetriableAPIError
from urllib3.exceptions import NameResolutionError, ProtocolError

# First wait between tries (doubling each time), the longest such wait, and the
# most of a server's Retry-After we honour.
BACKOFF_BASE_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 600.0
# Tries for a host name that does not resolve: enough for a resolver hiccup, not for
# two minutes of waiting on a typo in `cluster_id`.
DNS_TRIES = 2

# Failures worth another try: the next attempt may well succeed.
TRANSIENT_ERRORS = (
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
)

T = TypeVar("T")


class Stopped(Exception):
    """The stream is stopping: this reader sends no further request."""


class RequestSlots:
    """At most `limit` requests in flight, however many readers there are."""

    def __init__(self, limit: int) -> None:
        self._slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def hold(self, stop: threading.Event) -> Iterator[None]:
        """Wait for a free slot (unless the stream stops) and hold it for one request."""
        while not self._slots.acquire(timeout=0.05):
            if stop.is_set():
                raise Stopped
        try:
            yield
        finally:
            self._slots.release()


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

    def wait(self, stop: threading.Event) -> None:
        """Wait until requests may go out again, or the stream stops."""
        delay = self._until - time.monotonic()
        if delay > 0 and stop.wait(delay):
            raise Stopped


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


def next_wait(exc: BaseException, attempt: int) -> float:
    """Seconds before try `attempt + 2`: what `Retry-After` asks, else 1, 2, 4, ... up to 60.

    Up to a quarter more at random, so parallel runs do not retry in step.
    """
    asked = retry_after_seconds(getattr(exc, "response", None))
    if asked is not None:
        return asked
    wait = min(MAX_BACKOFF_SECONDS, BACKOFF_BASE_SECONDS * 2.0**attempt)
    return wait * (1 + random.random() / 4)  # noqa: S311


def _host(exc: BaseException) -> str:
    """`host:port` of the request that failed, when the exception knows it."""
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    if not isinstance(url, str):
        return "the API host"
    return urlsplit(url).netloc.rpartition("@")[2]  # never the userinfo (a password)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (urllib3 nests the socket error two levels down)."""
    found: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(found) < 10:
        current = todo.pop()
        found.append(current)
        todo += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        todo += [c for c in (current.__cause__, current.__context__) if c is not None]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return found


def unresolved(exc: BaseException) -> bool:
    """Whether the host name did not resolve: almost always a misspelt setting."""
    return any(isinstance(c, (socket.gaierror, NameResolutionError)) for c in _causes(exc))


def describe(exc: BaseException | None) -> str:
    """One line about a failure naming the host and the cause, free of headers (and the key)."""
    if exc is None:
        return "unknown error"
    if isinstance(exc, requests.exceptions.Timeout):
        name = type(exc).__name__  # a whole response (its body included) must arrive in time
        return f"no complete response from {_host(exc)} within `request_timeout` ({name})"
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionResetError)):
        return _connection_problem(exc)
    return str(exc) or type(exc).__name__


def _connection_problem(exc: BaseException) -> str:
    causes = _causes(exc)
    if unresolved(exc):
        return f"could not resolve host {_host(exc)}"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return f"connection to {_host(exc)} refused (nothing listens there)"
    if any(isinstance(c, ProtocolError) for c in causes):
        return f"connection to {_host(exc)} dropped mid-response"
    return f"connection to {_host(exc)} failed ({type(causes[-1]).__name__})"


class Retrier:
    """Tries a request up to `max_tries` times, waiting between tries unless the stream stops."""

    def __init__(self, max_tries: int, gate: RateGate, logger: logging.Logger) -> None:
        self.max_tries = max_tries
        self._gate = gate
        self._logger = logger

    def call(self, attempt: Callable[[], T], stop: threading.Event) -> T:
        """`attempt()`'s result; its last transient failure once the tries are spent."""
        tries = 0
        while True:
            if stop.is_set():
                raise Stopped
            self._gate.wait(stop)
            try:
                return attempt()
            except TRANSIENT_ERRORS as exc:
                tries += 1
                if tries >= self.max_tries or (tries >= DNS_TRIES and unresolved(exc)):
                    raise
                wait = next_wait(exc, tries - 1)
                response = getattr(exc, "response", None)
                if response is not None and response.status_code == 429:
                    self._gate.pause(wait)
                self._logger.warning(
                    "Retrying in %.1f s (try %d of %d failed): %s",
                    wait,
                    tries,
                    self.max_tries,
                    describe(exc),
                )
                if stop.wait(wait):
                    raise Stopped from exc
