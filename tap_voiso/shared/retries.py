"""What paces requests: the cap on requests in flight, the API's rate limit, and retries.

All three answer to one stop signal: when a stream stops (a window failed, or the
process was told to end) no reader sends another request, and a reader waiting (for a
slot, for its turn under the rate limit, or between tries) stops waiting at once.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_voiso.shared.failures import describe, unresolved

# First wait between tries (doubling each time), the longest such wait, and the
# most of a server's Retry-After we honour.
BACKOFF_BASE_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 600.0
# Under a rate limit: how much a 429 cuts the pace below the rate the API let through
# (multiplicative decrease); after the first 429, how fast the pace climbs until the
# next (the first comes from a burst, whose measure is rough: the pace doubles each
# `RATE_PROBE_SECONDS` to find the limit); after later 429s, what each request that
# gets through adds (additive increase, in requests a second: about 2% a second at any
# pace, so that a pace just below the limit stays there); the slowest pace (one in 20 s).
RATE_DECREASE = 0.9
RATE_PROBE_SECONDS = 1.0
RATE_INCREASE = 0.02
MIN_RATE = 0.05
# The most requests in flight when a run begins, before `RequestSlots` lets more out:
# the default `concurrency`, so that a run's first windows all go out in its first
# round trip (with 4, CDRs in 2 of 11 months took a round trip more: 2.47 s against
# 2.25 s at 250 ms a page), while a raised `concurrency` meets a rate limit with 12.
SLOW_START = 12
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
    """At most `limit` requests in flight, however many readers there are; fewer at first.

    The allowance opens at `SLOW_START` and grows by one for each request that gets
    through (doubling each round trip) up to `limit`, so that a run's first burst
    against a rate limit is `SLOW_START` requests at most, whatever `concurrency` is.
    A 429 halves it (`shrink`); from then on it grows by one a round trip
    (`1 / allowance` a request). Under a rate limit the pace (`RateLimit`) is what
    holds requests back; the allowance only bounds a burst.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._allowed = float(min(limit, SLOW_START))
        self._slow_start = True
        self._busy = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, stop: threading.Event) -> Iterator[None]:
        """Wait for a free slot (unless the stream stops) and hold it for one request."""
        with self._changed:
            while self._busy >= int(self._allowed):
                self._changed.wait(0.05)
                if stop.is_set():
                    raise Stopped
            self._busy += 1
        try:
            yield
        finally:
            with self._changed:
                self._busy -= 1
                self._changed.notify()

    def grow(self) -> None:
        """A request got through: allow a little more in flight."""
        with self._changed:
            before = int(self._allowed)
            step = 1.0 if self._slow_start else 1 / self._allowed
            self._allowed = min(float(self._limit), self._allowed + step)
            self._changed.notify(int(self._allowed) - before)

    def shrink(self) -> None:
        """A 429: half as many in flight."""
        with self._changed:
            self._slow_start = False
            self._allowed = max(1.0, self._allowed / 2)


class RateLimitStalled(Exception):
    """The API's rate limit let no request through, and the next try would be past patience."""

    def __init__(self, seconds: float, patience: float) -> None:
        super().__init__(seconds, patience)
        self.seconds = seconds
        self.patience = patience


class RateLimit:
    """The pace the API key's rate limit allows, learnt from its 429s, for every reader.

    Readers share one API key, hence one rate limit: when one of them is told to wait,
    the others would only collect 429s of their own by carrying on. Until the first 429
    requests go out as fast as the readers send them. A 429 pauses every reader for its
    `Retry-After` (else 1, 2, 4, ... s) and sets a pace: the rate at which the API let
    requests through since sending last resumed (over a second at least), times
    `RATE_DECREASE`. The first 429 ends a burst, which measures the limit roughly (a
    bucket the run found half spent, or one that holds several seconds' worth): the
    pace then doubles every `RATE_PROBE_SECONDS` (a little with each request that gets
    through), until the next 429 measures the limit at a pace. From then on each adds
    `RATE_INCREASE`, so the run keeps probing for more, slowly, and the next 429 cuts it
    again: requests go out at about the rate the API accepts, with few 429s. A 429
    that comes back during a pause was sent before it: the same signal, not another cut.

    A 429 is no failed try. Only a run that gets no request through for
    `patience_seconds` stops (`RateLimitStalled`).
    """

    def __init__(
        self, patience_seconds: float, slots: RequestSlots, logger: logging.Logger
    ) -> None:
        self._patience = patience_seconds
        self._slots = slots
        self._logger = logger
        self._lock = threading.Lock()
        self._rate: float | None = None  # requests a second; None: no limit met yet
        self._until = 0.0  # the pause after a 429 ends
        self._next = 0.0  # the next request's turn at the pace
        self._since: float | None = None  # sending began or last resumed after a pause
        self._through = 0  # requests through since then
        self._progress_at = 0.0  # the last request that got through (or the first sent)
        self._pauses_unasked = 0  # pauses in a row without Retry-After nor a request through
        self._measured_over: float | None = None  # seconds of sending before the last pause
        self._first_429: float | None = None
        self._probing = False  # between the first 429 and the next
        self._through_since_first_429 = 0
        self.sent = 0
        self.limited = 0  # 429s
        self.paused = 0.0  # seconds during which a pause held every reader

    @contextmanager
    def turn(self, stop: threading.Event) -> Iterator[None]:
        """A slot in flight, then this request's turn (after any pause, at the pace).

        In that order: a reader that waited for a slot while a 429 came back still
        waits out the pause.
        """
        with self._slots.hold(stop):
            if stop.is_set():  # stopped while this request waited for its slot
                raise Stopped
            self._wait(stop)
            yield

    def _wait(self, stop: threading.Event) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                if self._since is None:
                    self._since = self._progress_at = now
                turn = max(self._until, self._next)
                if turn <= now:
                    if self._measured_over is not None:
                        self._cut(now, self._measured_over)
                    if self._rate is not None:
                        self._next = now + 1 / self._rate
                    self.sent += 1
                    return
            if stop.wait(turn - now):
                raise Stopped

    def _cut(self, now: float, measured_over: float) -> None:
        """Set the pace from what got through before the pause: sending resumes now.

        Counted once the pause is over, so that requests sent before the 429 and
        answered after it count too.
        """
        if self._through:
            measured = self._through / max(1.0, measured_over)
            self._rate = max(MIN_RATE, RATE_DECREASE * min(measured, self._rate or measured))
        self._measured_over = None
        self._since = now
        self._through = 0

    def answered(self, response: requests.Response) -> None:
        """Count a response, before its slot is free for another request to go out.

        A 429 pauses every reader; anything else got through the rate limit.
        Raises `RateLimitStalled` when nothing got through for the patience given.
        """
        if response.status_code == 429:
            self._hit(retry_after_seconds(response))
        else:
            self._through_once()

    def _through_once(self) -> None:
        """A request got through: progress, and a little more pace."""
        with self._lock:
            self._through += 1
            self._progress_at = time.monotonic()
            self._pauses_unasked = 0
            if self._rate is not None:
                if self._probing:  # one request at this pace takes 1 / rate seconds
                    self._rate *= 2.0 ** (1 / (self._rate * RATE_PROBE_SECONDS))
                else:
                    self._rate += RATE_INCREASE
            if self._first_429 is not None:
                self._through_since_first_429 += 1
        self._slots.grow()

    def _hit(self, asked: float | None) -> None:
        """A 429, with the wait its `Retry-After` asks if any: pause, and slow down."""
        with self._lock:
            now = time.monotonic()
            self.limited += 1
            if now < self._until:
                return  # sent before the pause began
            first = self._first_429 is None
            if first:
                self._first_429 = now
            self._probing = first  # a 429 at a pace: the limit is measured, climb slowly
            since = self._since if self._since is not None else now
            self._measured_over = now - since
            if asked is None:
                wait = min(MAX_BACKOFF_SECONDS, BACKOFF_BASE_SECONDS * 2.0**self._pauses_unasked)
                self._pauses_unasked += 1
            else:
                wait = asked
            self._until = now + wait
            self.paused += wait
            if self._until - self._progress_at > self._patience:
                raise RateLimitStalled(now - self._progress_at, self._patience)
        self._slots.shrink()
        log = self._logger.warning if first else self._logger.debug
        log(
            "HTTP 429 from the Voiso API: its rate limit is reached. Every reader waits "
            "%.1f s%s, then requests go out at about the rate the API let through. The run "
            "slows down and goes on (a summary follows at the end); it stops only if no "
            "request gets through for `rate_limit_patience_seconds` (%g s).",
            wait,
            " as its Retry-After asks" if asked is not None else "",
            self._patience,
        )

    def summary(self) -> str | None:
        """One line on what the rate limit cost this run, or None if it never showed."""
        with self._lock:
            if self._first_429 is None:
                return None
            lasted = max(1e-9, time.monotonic() - self._first_429)
            reached = self._through_since_first_429 / lasted
            pace = (
                "no pace (nothing got through)"
                if self._rate is None
                else (f"a pace of {self._rate:.2f} requests a second")
            )
            return (
                f"Rate limit: {self.limited} of {self.sent} requests were answered HTTP 429; "
                f"readers paused {self.paused:.1f} s in all; since the first 429, "
                f"{reached:.2f} requests a second got through, ending at {pace}."
            )


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


class Retrier:
    """Tries a request up to `max_tries` times, waiting between tries unless the stream stops."""

    def __init__(self, max_tries: int, rate_limit: RateLimit, logger: logging.Logger) -> None:
        self.max_tries = max_tries
        self.rate_limit = rate_limit
        self._logger = logger

    def call(self, attempt: Callable[[], T], stop: threading.Event) -> T:
        """`attempt()`'s result; its last transient failure once the tries are spent.

        A 429 is not a try: `RateLimit` slows the run down instead, and raises
        `RateLimitStalled` if nothing gets through for its patience.
        """
        tries = 0
        while True:
            if stop.is_set():
                raise Stopped
            try:
                return attempt()
            except TRANSIENT_ERRORS as exc:
                response = getattr(exc, "response", None)
                if response is not None and response.status_code == 429:
                    continue  # counted by `RateLimit.answered`, which paused every reader
                tries += 1
                if tries >= self.max_tries or (tries >= DNS_TRIES and unresolved(exc)):
                    raise
                wait = next_wait(exc, tries - 1)
                self._logger.warning(
                    "Retrying in %.1f s (try %d of %d failed): %s",
                    wait,
                    tries,
                    self.max_tries,
                    describe(exc),
                )
                if stop.wait(wait):
                    raise Stopped from exc
