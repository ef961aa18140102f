"""One response of `GET /api/v4/reporting/cdrs`: what a request asks for, and what came back.

A page is checked for shape as soon as it arrives (on a reader's thread), but its
CDRs stay undecoded bytes until the stream emits them: readers hold pages while
earlier windows are emitted, and bytes are about a third of the decoded size. Only
each CDR's `id` is read up front, so the chain of pages can tell repeats from new
CDRs and count what a window delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import msgspec
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_voiso.cdrs.windows import Window
from tap_voiso.shared.redact import SECRETS


@dataclass(frozen=True)
class PageToken:
    """What one request asks for: a window, and where in it.

    `cursor` is the previous page's `next_cursor` (None: no cursor to follow).
    `offset` is the CDRs the window has delivered so far: with a cursor it is the
    API's documented fallback should the cursor have expired; without one it is how
    the window is paged. None when past the API's reach (`OFFSET_CAP`).
    """

    window: Window
    cursor: str | None = None
    offset: int | None = 0


@dataclass
class Page:
    """One response, checked for shape but not yet decoded record by record."""

    body: bytes
    ids: list[str | None]  # each CDR's `id`, in page order (None where missing or not a string)
    total: int | None  # metadata.total
    next_cursor: str | None  # metadata.next_cursor
    extracted_at: datetime  # when the page arrived: the records' time_extracted
    # each CDR's `started_at` as sent (None where missing); empty: not read
    started: list[Any] = field(default_factory=list)

    @property
    def count(self) -> int:
        """CDRs on the page."""
        return len(self.ids)

    def records(self) -> list[dict[str, Any]]:
        """The page's CDRs as dicts, exactly as the API sent them."""
        return msgspec.json.decode(self.body)["cdrs"]  # type: ignore[no-any-return]

    def raw_records(self) -> list[msgspec.Raw]:
        """Each CDR's own bytes, exactly as the API wrote them."""
        return _RAW_PAGE.decode(self.body).cdrs


class _Row(msgspec.Struct):
    id: Any = None
    started_at: Any = None


class _Metadata(msgspec.Struct):
    total: Any = None
    next_cursor: Any = None


class _Envelope(msgspec.Struct):
    """The response's outline: each CDR's id, the rest skipped (about 0.5 ms a page)."""

    cdrs: list[_Row]
    metadata: _Metadata


class _LooseEnvelope(msgspec.Struct):
    """The same outline for a page holding something other than objects among its CDRs."""

    cdrs: list[Any]
    metadata: _Metadata


class _Queue(msgspec.Struct):
    id: Any = None


class _Data(msgspec.Struct):
    queue: _Queue | None = None


class _QueueRow(msgspec.Struct):
    data: _Data | None = None


class _QueuePage(msgspec.Struct):
    cdrs: list[_QueueRow]


_QUEUE_PAGE = msgspec.json.Decoder(_QueuePage)


def queue_ids(body: bytes) -> set[int]:
    """The `data.queue.id` of a page's CDRs (the `queues` stream's fallback list).

    Only the path to the id is decoded; a page where `data` or `queue` is not an
    object (the record checker reports those) is read as plain JSON.
    """
    try:
        found = [
            row.data.queue.id
            for row in _QUEUE_PAGE.decode(body).cdrs
            if row.data and row.data.queue
        ]
    except msgspec.ValidationError:
        rows = msgspec.json.decode(body).get("cdrs") or []
        datas = [row.get("data") for row in rows if isinstance(row, dict)]
        queues = [data.get("queue") for data in datas if isinstance(data, dict)]
        found = [queue.get("id") for queue in queues if isinstance(queue, dict)]
    return {i for i in found if isinstance(i, int) and not isinstance(i, bool)}


class _RawPage(msgspec.Struct):
    cdrs: list[msgspec.Raw]


_RAW_PAGE = msgspec.json.Decoder(_RawPage)
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_LOOSE_ENVELOPE = msgspec.json.Decoder(_LooseEnvelope)


def _outline(body: bytes) -> tuple[list[Any], list[Any], _Metadata]:
    """Each CDR's id and started_at (None where missing), and the metadata.

    Raises on a bad shape.
    """
    try:
        envelope = _ENVELOPE.decode(body)
    except msgspec.ValidationError:
        loose = _LOOSE_ENVELOPE.decode(body)  # the checker reports the odd records
        rows = [row if isinstance(row, dict) else {} for row in loose.cdrs]
        ids = [row.get("id") for row in rows]
        return (
            [i if isinstance(i, str) else None for i in ids],
            [row.get("started_at") for row in rows],
            loose.metadata,
        )
    decoded = envelope.cdrs
    return (
        [row.id if isinstance(row.id, str) else None for row in decoded],
        [row.started_at for row in decoded],
        envelope.metadata,
    )


def parse_page(response: requests.Response, content: bytes) -> Page:
    """Check the body's outline; a 200 that is not a CDR list is retried like a 5xx.

    Proxies and load balancers answer 200 with HTML, and connections cut mid-body
    leave truncated JSON: neither may pass as an empty page. JSON nested deeper than
    the decoder's recursion limit is no CDR list either. A configured secret the server
    echoes into the body is removed before anything reads it (`redact`).
    """
    body = SECRETS.scrub_bytes(content)
    try:
        ids, started, metadata = _outline(body)
    except RecursionError:
        msg = f"HTTP {response.status_code} but the body is JSON nested too deeply to be a CDR list"
        raise RetriableAPIError(msg, response) from None
    except msgspec.ValidationError:  # JSON, but not shaped like a CDR list
        problem = _shape_problem(msgspec.json.decode(body))
        msg = f"HTTP {response.status_code} but the body is not a CDR list: {problem}"
        raise RetriableAPIError(msg, response) from None
    except msgspec.DecodeError as exc:
        kind = response.headers.get("Content-Type", "unknown content type")
        msg = f"HTTP {response.status_code} but the body is not JSON ({kind}): {exc}"
        raise RetriableAPIError(msg, response) from None
    total, cursor = metadata.total, metadata.next_cursor
    if cursor is not None and not isinstance(cursor, str):
        msg = f"HTTP {response.status_code} but `metadata.next_cursor` is not a string"
        raise RetriableAPIError(msg, response)
    return Page(
        body=body,
        ids=ids,
        total=total if isinstance(total, int) and not isinstance(total, bool) else None,
        next_cursor=cursor or None,
        extracted_at=datetime.now(timezone.utc),
        started=started,
    )


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
