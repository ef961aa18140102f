"""What every Voiso stream shares: the run's connection, URL, auth, and what a status means.

A stream says which path it reads, with which scope, and how a body becomes records;
this base sends through the run's one `Api` (sessions, pacing, retries) and turns
error statuses into messages that say what to fix, never with the key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import Any, ClassVar, Protocol, TypeVar
from urllib.parse import urlsplit

import requests
from singer_sdk import metrics
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.streams import RESTStream

from tap_voiso.settings import Settings
from tap_voiso.shared.api import Api
from tap_voiso.shared.errors import MissingScopeError, NotFoundError, VoisoAPIError
from tap_voiso.shared.http import BearerAuth, api_error_text
from tap_voiso.shared.passthrough import tap_of
from tap_voiso.shared.redact import display_url

T = TypeVar("T")
# Statuses worth retrying besides 5xx.
RETRY_STATUSES = (408, 429)


class HasApi(Protocol):
    """A tap that holds its run's connection (`TapVoiso.api`)."""

    @property
    def api(self) -> Api:
        """The run's one connection to Voiso."""


class VoisoStream(RESTStream[Any]):
    """Base stream: URL, auth, the run's `Api`, and one checked answer per request."""

    # The key's scope this stream's endpoint needs (named when the API answers 403).
    scope: ClassVar[str] = "reporting.cdrs.read"

    @cached_property
    def settings(self) -> Settings:
        """The tap's validated settings, typed, read once."""
        return Settings.from_config(self.config)

    @property
    def api(self) -> Api:
        """The run's connection, shared with every other stream: one pace per key."""
        tap: HasApi = tap_of(self)  # type: ignore[assignment]
        return tap.api

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

    def backoff_max_tries(self) -> int:
        """Tries per request, from the `max_tries` setting."""
        return self.settings.max_tries

    def attempt(
        self,
        prepared: requests.PreparedRequest,
        stop: threading.Event,
        parse: Callable[[requests.Response, bytes], T],
    ) -> T:
        """One try at `prepared`: its body, checked and parsed (`Api.call` retries it)."""
        response, body = self.api.send(prepared, stop, self._judge)
        return parse(response, body)

    def _judge(self, response: requests.Response, body: bytes) -> None:
        self._time_request(response)
        self.check_answer(response, body)

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
                f"{prefix}: the API key is valid but may not read {self.name} here. Give the key "
                f"the `{self.scope}` scope in Voiso. The API said: {said}"
            )
            raise MissingScopeError(msg)
        elif status == 404:
            path = urlsplit(response.url or "").path or self.path
            raise NotFoundError(f"{prefix} from the Voiso API at {path}: {said}")
        elif status == 422:
            msg = (
                f"{prefix}: the API rejected a filter value. Its field errors: {said}. "
                "Check the matching setting (types, subtypes, dispositions, start_date, ...)."
            )
        else:
            msg = f"{prefix} from the Voiso API: {said}"
        raise VoisoAPIError(msg)
