"""The CDR list, `GET /api/v4/reporting/cdrs`: filters, paging, cursors and their faults,
totals, and how each CDR is rendered (still open, schema drift, new fields, foreign ids).

`CdrListing` is a part of `Simulator` (`voiso_simulator.server`), which holds the data
set, the switches and the lock it reads.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from voiso_simulator.config import (
    ARRAY_FILTERS,
    COMPARATORS,
    MAX_LIMIT,
    MIXED_QUERIES_KEPT,
    OFFSET_CAP,
    PAGING_PARAMS,
    SINGLE_FILTERS,
    ApiError,
    SimConfig,
    int_param,
)
from voiso_simulator.data import TYPES, Dataset, parse_iso
from voiso_simulator.directory import Directory


@dataclass
class Query:
    """A parsed request: filters, paging, and the key its cursor history is kept under."""

    started: dict[str, int]
    ended: dict[str, int]
    arrays: dict[str, set[str]]
    singles: dict[str, str]
    limit: int
    offset: str
    cursor: str | None
    key: tuple[Any, ...]


def encode_cursor(
    started_ms: int, record_id: str, nonce: int | None = None, length: int = 0
) -> str:
    """A keyset cursor like Voiso's: base64 of `[epoch-millis, id]`, padded to `length`."""
    position: list[Any] = (
        [started_ms, record_id] if nonce is None else [started_ms, record_id, nonce]
    )
    if length:
        position.append("x" * (length * 3 // 4))
    return base64.b64encode(json.dumps(position, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str] | None:
    """The `(started_ms, id)` a cursor points at, or None when it is not ours."""
    try:
        position = json.loads(base64.b64decode(cursor, validate=True))
        started, record_id = position[0], position[1]
    except (binascii.Error, ValueError, TypeError, IndexError, KeyError):
        return None
    if not isinstance(started, int) or not isinstance(record_id, str):
        return None
    return started, record_id


class CdrListing:
    """The CDR endpoint's side of a `Simulator`."""

    dataset: Dataset
    config: SimConfig
    lock: threading.Lock
    requests: list[str]
    rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None
    directory: Directory

    def _init_cdrs(self) -> None:
        self._cursor_history: dict[tuple[Any, ...], list[str]] = {}
        self._page_counts: dict[tuple[Any, ...], int] = {}
        self._totals: dict[tuple[Any, ...], int] = {}
        self._shuffled: dict[tuple[int, int], list[int]] = {}
        self._cursor_requests = 0
        self._cursors_issued = 0
        self._last_issued: dict[tuple[Any, ...], str] = {}
        self.cursors_mixed = 0  # responses that carried another query's cursor
        self.expired_empty = 0  # cursor requests answered as an empty last page

    def visible_records(self) -> list[dict[str, Any]]:
        """Every CDR the API would serve now, as the API serves it, in start order."""
        return [
            json.loads(self.render(pos)) for pos in range(len(self.dataset)) if self._visible(pos)
        ]

    def render(self, pos: int) -> bytes:
        """A record's JSON as served, with schema drift applied when switched on."""
        raw = self.dataset.record_json(pos)
        if self._listing(pos) == "open":
            record = json.loads(raw)
            record["ended_at"] = None
            raw = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
        if self.config.foreign_user_ids:
            raw = self._foreign_user(raw)
        if self.config.drift:
            raw = drift(raw, pos)
        if self.config.new_fields:
            raw = new_fields(raw, pos, len(self.dataset))
        if self.rewrite is not None:
            raw = json.dumps(self.rewrite(json.loads(raw)), ensure_ascii=False).encode()
        return raw

    def _foreign_user(self, raw: bytes) -> bytes:
        record = json.loads(raw)
        if not isinstance(record.get("user"), dict):
            return raw
        record["user"] = self.directory.foreign_user(record["user"])
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()

    def parse(self, raw_query: str) -> Query:
        """Validate and parse query parameters the way the API does (422 on bad values)."""
        errors: dict[str, list[str]] = {}
        started: dict[str, int] = {}
        ended: dict[str, int] = {}
        arrays: dict[str, set[str]] = {}
        singles: dict[str, str] = {}
        paging: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            base, _, rest = name.partition("[")
            op = rest.rstrip("]")
            if base in ("started_at", "ended_at") and op in COMPARATORS:
                try:
                    (started if base == "started_at" else ended)[op] = parse_iso(value)
                except ValueError:
                    errors.setdefault(name, []).append("must be an ISO 8601 date time")
            elif base in ARRAY_FILTERS and not op:
                arrays.setdefault(base, set()).add(value)
            elif name in SINGLE_FILTERS:
                singles[name] = value
            elif name in PAGING_PARAMS:
                paging[name] = value
            else:
                errors.setdefault(name, []).append("is not a permitted parameter")
        for value in arrays.get("type", ()):
            if value not in TYPES:
                errors.setdefault("type", []).append(f"'{value}' is not included in the list")
        limit = int_param(paging.get("limit", "100"), "limit", 1, MAX_LIMIT, errors)
        offset_text = paging.get("offset", "0")
        if errors:
            raise ApiError(422, {"errors": errors})
        key = (
            tuple(sorted(started.items())),
            tuple(sorted(ended.items())),
            tuple(sorted((k, tuple(sorted(v))) for k, v in arrays.items())),
            tuple(sorted(singles.items())),
        )
        return Query(started, ended, arrays, singles, limit, offset_text, paging.get("cursor"), key)

    def _listing(self, pos: int) -> str | None:
        """How the API lists a CDR at the clock: "final", "open" (still going), or None."""
        cfg = self.config
        if cfg.clock_ms is None:
            return "final"
        if self.dataset.ended[pos] + cfg.listing_delay_ms <= cfg.clock_ms:
            return "final"
        if cfg.open_listing and self.dataset.started[pos] + cfg.listing_delay_ms <= cfg.clock_ms:
            return "open"
        return None

    def _visible(self, pos: int) -> bool:
        return self._listing(pos) is not None

    def _matches(self, pos: int, query: Query) -> bool:
        ds = self.dataset
        if not self._visible(pos):
            return False
        started = ds.started[pos]
        if ("gt" in query.started and started <= query.started["gt"]) or (
            "lte" in query.started and started > query.started["lte"]
        ):
            return False
        if query.ended and self._listing(pos) == "open":
            return False  # `ended_at` is null: no comparison holds
        ended = ds.ended[pos]
        for op, bound in query.ended.items():
            if not _compare(ended, op, bound):
                return False
        types = query.arrays.get("type")
        if types is not None and self._type_of(pos) not in types:
            return False
        if len(query.arrays) == (1 if types is not None else 0) and not query.singles:
            return True
        record = ds.record(pos)
        if self.config.foreign_user_ids and record["user"]:
            record["user"] = self.directory.foreign_user(record["user"])  # `user_id` as served
        return _record_matches(record, query)

    def _type_of(self, pos: int) -> str:
        """The type the API reports for a record (schema drift turns some into voicemail)."""
        return "voicemail" if self.config.drift and pos % 7 == 3 else self.dataset.types[pos]

    def _ordering(self, lo: int, hi: int) -> list[int] | range:
        order = self.config.order
        if order == "desc":
            return range(hi - 1, lo - 1, -1)
        if order == "shuffle":
            cached = self._shuffled.get((lo, hi))
            if cached is None:
                cached = list(range(lo, hi))
                random.Random(lo * 7919 + hi).shuffle(cached)
                self._shuffled[(lo, hi)] = cached
            return cached
        return range(lo, hi)

    def _resume_index(
        self, ordering: list[int] | range, lo: int, hi: int, cursor: str
    ) -> int | None:
        """Where in `ordering` a cursor resumes, or None for an invalid cursor."""
        decoded = decode_cursor(cursor)
        if decoded is None:
            return None
        pos = self.dataset.position.get(decoded[1])
        if pos is None or self.dataset.started[pos] != decoded[0]:
            return None
        order = self.config.order
        if order == "asc":
            return max(0, pos + 1 - lo)
        if order == "desc":
            return max(0, hi - pos)
        try:
            return list(ordering).index(pos) + 1
        except ValueError:
            return None

    def page(self, query: Query) -> dict[str, Any]:
        """One page of the response body (records still as JSON bytes)."""
        ds = self.dataset
        lo, hi = self._span(query)
        ordering = self._ordering(lo, hi)
        start = None
        expired = bool(query.cursor) and self._cursor_expired()
        if query.cursor and not expired:
            start = self._resume_index(ordering, lo, hi, query.cursor)
        capped = start is None
        if start is None:
            try:
                offset = int(query.offset)
            except ValueError:
                offset = -1
            if not 0 <= offset <= OFFSET_CAP:
                raise ApiError(
                    400, {"error": f"Invalid offset: must be between 0 and {OFFSET_CAP}"}
                )
        with self.lock:
            total_key = (*query.key, self.config.clock_ms, lo, hi)
            total = self._totals.get(total_key)
            page_no = self._page_counts.get(query.key, 0) + 1
            self._page_counts[query.key] = page_no
        if total is None:
            total = sum(1 for pos in range(lo, hi) if self._matches(pos, query))
            with self.lock:
                self._totals[total_key] = total
        cfg = self.config
        if expired and cfg.cursors and cfg.expired_cursor == "empty":
            with self.lock:
                self.expired_empty += 1
            return {"cdrs": [], "total": total, "next_cursor": None}
        if cfg.empty_page_every and page_no % cfg.empty_page_every == 0 and query.cursor:
            decoded = decode_cursor(query.cursor)
            if decoded:
                return {
                    "cdrs": [],
                    "total": total,
                    "next_cursor": encode_cursor(*decoded, nonce=page_no),
                }
        picked: list[int] = []
        more = False
        skip = 0 if not capped else offset
        index = 0 if start is None else start
        reachable = len(ordering) if not capped else OFFSET_CAP
        seen_matches = 0
        while index < len(ordering):
            pos = ordering[index]
            index += 1
            if not self._matches(pos, query):
                continue
            seen_matches += 1
            if capped and seen_matches > reachable:
                break
            if skip:
                skip -= 1
                continue
            if len(picked) == query.limit:
                more = True
                break
            picked.append(pos)
        next_cursor: str | None = None
        if picked and (more or cfg.last_page == "present"):
            last = picked[-1]
            next_cursor = encode_cursor(ds.started[last], ds.ids[last], length=cfg.cursor_bytes)
        next_cursor = self._mixed(query, self._cursor_fault(query, picked, next_cursor))
        if picked and cfg.omit_next:
            with self.lock:
                omit, cfg.omit_next = cfg.omit_next > 0, max(0, cfg.omit_next - 1)
            if omit:
                picked = picked[1:]
        cdrs = [self.render(p) for p in picked]
        if cfg.intruder is not None and cdrs:
            cdrs.append(json.dumps(cfg.intruder).encode())
        body: dict[str, Any] = {"cdrs": cdrs, "total": total}
        if cfg.cursors and (next_cursor is not None or cfg.last_page != "absent"):
            body["next_cursor"] = next_cursor
        return body

    def _cursor_expired(self) -> bool:
        """Whether this cursor request finds its cursor no longer valid."""
        cfg = self.config
        if not cfg.cursors:
            return True
        if not cfg.cursor_expire_every:
            return False
        with self.lock:
            self._cursor_requests += 1
            return self._cursor_requests % cfg.cursor_expire_every == 0

    def _cursor_fault(self, query: Query, picked: list[int], next_cursor: str | None) -> str | None:
        fault = self.config.cursor_fault
        if fault == "none" or not query.cursor:
            if next_cursor and fault == "cycle":
                with self.lock:
                    self._cursor_history.setdefault(query.key, []).append(next_cursor)
            return next_cursor
        if fault == "repeat":
            return query.cursor
        if fault == "cycle":
            with self.lock:
                history = self._cursor_history.setdefault(query.key, [])
                if len(history) >= 2:
                    return history[0]
                if next_cursor:
                    history.append(next_cursor)
            return next_cursor
        if fault in ("backwards", "overlap") and picked:
            # A fresh cursor string (the nonce) that points back: to the page's own
            # start (the same page again), or to its middle (half a page repeats).
            ds = self.dataset
            lo, hi = self._span(query)
            ordering = self._ordering(lo, hi)
            resume = self._resume_index(ordering, lo, hi, query.cursor)
            if fault == "overlap":
                back = picked[len(picked) // 2]
            elif resume:
                back = ordering[resume - 1]
            else:
                return next_cursor
            with self.lock:
                nonce = len(self.requests)
            return encode_cursor(ds.started[back], ds.ids[back], nonce=nonce)
        return next_cursor

    def _mixed(self, query: Query, next_cursor: str | None) -> str | None:
        """The cursor this response carries: its own, or (`cursor_mix_every`) another query's."""
        every = self.config.cursor_mix_every
        if not every or next_cursor is None:
            return next_cursor
        with self.lock:
            self._cursors_issued += 1
            issued = self._last_issued  # the latest cursor of each recent query, oldest first
            other = next((c for k, c in reversed(issued.items()) if k != query.key), None)
            issued.pop(query.key, None)
            issued[query.key] = next_cursor
            while len(issued) > MIXED_QUERIES_KEPT:
                del issued[next(iter(issued))]
            if self._cursors_issued % every or other is None:
                return next_cursor
            self.cursors_mixed += 1
            return other

    def _span(self, query: Query) -> tuple[int, int]:
        return self.dataset.span_for(_lower_bound(query.started), _upper_bound(query.started))

    def cdr_body(self, raw_query: str) -> bytes:
        """A page of the CDR list (ApiError for a 400 or 422), as the body's bytes."""
        cfg = self.config
        page = self.page(self.parse(raw_query))
        metadata: dict[str, Any] = {}
        if cfg.send_total:
            total = min(page["total"], cfg.total_cap) if cfg.total_cap else page["total"]
            metadata["total"] = total + cfg.total_bias
        if "next_cursor" in page:
            metadata["next_cursor"] = page["next_cursor"]
        return (
            b'{"cdrs":['
            + b",".join(page["cdrs"])
            + b'],"metadata":'
            + json.dumps(metadata).encode()
            + b"}"
        )


def drift(raw: bytes, pos: int) -> bytes:
    """Tomorrow's API: new fields at every level, and every 7th CDR of a new type."""
    record = json.loads(raw)
    record["sentiment"] = {"label": "positive", "score": 0.91}
    record["data"]["ai_summary_version"] = 3
    if record.get("user"):
        record["user"]["role"] = "supervisor"
    if pos % 7 == 3:  # keep in step with Simulator._type_of
        record["type"] = "voicemail"
        record["subtype"] = "voicemail"
        record["data"] = {
            "mailbox": "support",
            "transcript": "Please call me back.",
            "length_s": 12.5,
        }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


def new_fields(raw: bytes, pos: int, count: int) -> bytes:
    """Fields that appear part-way through the data: what a release of the API adds."""
    if pos < count // 2:
        return raw
    record = json.loads(raw)
    record["account_id"] = f"acc-{pos % 3 + 1}"
    if pos % 5 == 0 and isinstance(record.get("data"), dict):
        record["data"]["future_field"] = pos if pos < count * 3 // 4 else pos + 0.5
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


def _compare(value: int, op: str, bound: int) -> bool:
    return {
        "gte": value >= bound,
        "gt": value > bound,
        "lte": value <= bound,
        "lt": value < bound,
    }[op]


def _lower_bound(started: dict[str, int]) -> int | None:
    if "gte" in started:
        return started["gte"] if "gt" not in started else max(started["gte"], started["gt"] + 1)
    return None if "gt" not in started else started["gt"] + 1


def _upper_bound(started: dict[str, int]) -> int | None:
    if "lt" in started:
        return started["lt"] if "lte" not in started else min(started["lt"], started["lte"] + 1)
    return None if "lte" not in started else started["lte"] + 1


def _record_matches(record: dict[str, Any], query: Query) -> bool:
    data = record["data"] or {}
    hidden = record["_hidden"]
    checks = {
        "subtype": record["subtype"],
        "disposition": record["disposition"],
        "account_id": hidden["account_id"],
    }
    for name, values in query.arrays.items():
        if name in checks and checks[name] not in values:
            return False
    parties = {
        "from": (record["from"] or {}).get("phone_number") or "",
        "to": (record["to"] or {}).get("phone_number") or "",
    }
    for name, value in query.singles.items():
        if name == "user_id":
            ok = (record["user"] or {}).get("id") == value
        elif name == "team_id":
            ok = hidden["team_id"] == value
        elif name in ("queue_id", "campaign_id"):
            related = data.get(name.removesuffix("_id")) or {}
            ok = str(related.get("id")) == value
        elif name == "tag":
            ok = value in record["tags"]
        elif name.endswith("_like"):
            ok = value in parties[name.split("_")[0]]
        else:
            ok = parties[name.split("_")[0]] == value
        if not ok:
            return False
    return True
