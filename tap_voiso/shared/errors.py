"""Errors that stop a run for a reason the operator can act on.

Each message says what happened and what to do; the CLI prints it as one ERROR
line (the traceback goes to DEBUG), because at 3 a.m. the message is what matters.
"""

from __future__ import annotations

import logging
import sys

from singer_sdk.exceptions import FatalAPIError


class VoisoError(Exception):
    """A run stopped for a reason stated in its message."""


class VoisoAPIError(VoisoError, FatalAPIError):
    """The API refused the request (401, 403, 422, 400, ...): retrying cannot help."""


class MissingScopeError(VoisoAPIError):
    """403: the key is valid but lacks the scope this endpoint needs."""


class NotFoundError(VoisoAPIError):
    """404: the object (a queue deleted since a CDR named it) or the endpoint is not there."""


class RetriesExhaustedError(VoisoError):
    """A transient failure (5xx, timeout, dropped connection) outlasted `max_tries`."""


class RateLimitError(VoisoError):
    """The API's rate limit let no request through for `rate_limit_patience_seconds`."""


class CursorLoopError(VoisoError):
    """The API handed back a cursor it had already given for the same query."""


class IncompleteWindowError(VoisoError):
    """A window delivered fewer distinct CDRs than its `metadata.total`, even when read again."""


class OffsetCapError(VoisoError):
    """Without a cursor, offset paging cannot reach the rest of a window."""


class TooManyWindowsError(VoisoError):
    """A window claims more CDRs than any split should be asked to cut it into."""


class StateError(VoisoError):
    """The state the run was given cannot be used: unreadable, mis-shaped, or past the run's end."""


class ResponseTooLargeError(VoisoError):
    """A response body (decompressed) larger than the tap will hold in memory."""


class BadResponseError(VoisoError):
    """A response the tap must not follow or cannot read: a redirect loop, a downgrade to http."""


class SchemaChangeError(VoisoError):
    """A record held a field the schema does not declare, and `schema_changes` is `fail`."""


class OptionalStreamError(VoisoError):
    """An optional stream (a directory list) failed; every other stream was read first."""


class Interrupted(BaseException):
    """SIGTERM or SIGINT: the run stops after its last complete window.

    A BaseException, like KeyboardInterrupt, so that nothing on the way up takes it
    for a failure to log.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class OneLinePerStop(logging.Filter):
    """Drops the SDK's "An unhandled error occurred while syncing" line for a known stop.

    The SDK logs it for any exception leaving a stream; for a `VoisoError` the CLI
    logs the error itself, with what to do, so the operator reads one ERROR line.
    Other exceptions keep it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """False for the SDK's generic line while a `VoisoError` is being handled."""
        if str(record.msg).startswith("An unhandled error occurred while syncing"):
            return not isinstance(sys.exc_info()[1], VoisoError)
        return True
