"""A loopback HTTP server that behaves like Voiso's CDR reporting endpoint.

Written from `shared/reference/voiso-cdrs-api.md`: Bearer auth (401/403), `limit`
1..1000, `offset` within the first 10000 records only, opaque keyset cursors with the
documented invalid-cursor fallback to offset, every filter (bracketed arrays, date
comparisons), `metadata.total`, and 422 bodies shaped like the API's. Where the
reference is silent (sort order, the last page's cursor, empty pages), a switch picks
the behaviour so the tap can be tested against each possibility.

Fault switches (latency, 429 with or without `Retry-After`, 5xx, dropped connections,
hangs, malformed 200s, cursor loops) live in `SimConfig`; tests flip them on a running
server through `Simulator.configure` or `POST /_sim/config`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from voiso_simulator.data import TYPES, Dataset, DatasetSpec, parse_iso

API_PATH = "/api/v4/reporting/cdrs"
MAX_LIMIT = 1000
OFFSET_CAP = 10000
DEFAULT_KEY = "sim-secret-key"
FORBIDDEN_KEY = "sim-key-without-reporting-scope"
COMPARATORS = ("gte", "gt", "lte", "lt")
FAULT_KINDS = (
    "500",
    "502",
    "503",
    "drop",
    "html",
    "truncated",
    "no_cdrs",
    "null_cdrs",
    "no_metadata",
)
ARRAY_FILTERS = {
    "type": "type",
    "subtype": "subtype",
    "disposition": "disposition",
    "account_id": "account_id",
}
SINGLE_FILTERS = (
    "user_id",
    "team_id",
    "queue_id",
    "campaign_id",
    "from_phone_number",
    "to_phone_number",
    "from_phone_number_like",
    "to_phone_number_like",
    "tag",
)
PAGING_PARAMS = {"limit", "offset", "cursor"}
# Queries whose latest cursor a mixing cursor cache (`cursor_mix_every`) remembers.
MIXED_QUERIES_KEPT = 16


@dataclass
class SimConfig:
    """Behaviour switches; every field can be changed while the server runs."""

    api_key: str = DEFAULT_KEY
    forbidden_key: str = FORBIDDEN_KEY
    latency_ms: float = 0.0
    # Record order, which the reference leaves open: asc, desc or shuffle.
    order: str = "asc"
    # The last page's cursor, also left open: null, absent, or present (then an
    # extra request returns an empty page with a null cursor).
    last_page: str = "null"
    # Every Nth page of a query comes back empty but with a cursor to go on.
    empty_page_every: int = 0
    # repeat: every cursor request answers with the same cursor (A, A).
    # cycle: the second cursor request answers with the first cursor (A, B, A).
    # backwards: every cursor request answers with a fresh cursor to the same page.
    # overlap: every cursor request answers with a fresh cursor to the page's middle.
    cursor_fault: str = "none"
    fault_rate: float = 0.0
    fault_mix: list[str] = field(default_factory=lambda: ["500", "502", "503", "drop", "html"])
    fault_seed: int = 1
    # Statuses or fault kinds served, in order, to the next requests ("429", "500", "drop", ...).
    fail_next: list[str] = field(default_factory=list)
    # A token bucket: this many requests a second on average, as many at once after a
    # quiet second; beyond, 429 with a Retry-After of the wait for the next token
    # (in `retry_after` form, never less than `retry_after_seconds`). 0: no limit.
    rate_limit_per_second: float = 0
    retry_after: str = "seconds"  # seconds, date or none
    retry_after_seconds: int = 1
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    # Visibility clock (epoch ms): a CDR is served once its ended_at has passed, plus
    # `listing_delay_ms`. None: every CDR is served, finished, at once.
    clock_ms: int | None = None
    listing_delay_ms: int = 0
    # Listed while open: from started_at (plus the delay) a CDR is served with
    # `ended_at: null`, and its finished version replaces it once that is listed.
    open_listing: bool = False
    # Schema drift: fields the reference does not list, and a fifth CDR type.
    drift: bool = False
    # New fields mid-run: from the middle CDR on, a top-level `account_id`; every 5th of
    # those also a new `data.future_field`, an integer, then (last quarter) a fraction.
    new_fields: bool = False
    # "next_cursor is returned when cursor-based pagination is supported": False serves
    # no cursor at all (limit/offset only, first 10,000), and ignores any cursor sent.
    cursors: bool = True
    # Every Nth request that carries a cursor finds it expired: invalid, so the API
    # falls back to `offset` as documented.
    cursor_expire_every: int = 0
    # What an expired cursor gets (the reference does not say): "offset", the
    # documented fallback; "empty", a last page, `{"cdrs": [], next_cursor: null}`.
    expired_cursor: str = "offset"
    # A cursor cache that mixes requests: every Nth response that carries a cursor
    # carries instead the cursor last issued for another query (another window read
    # at the same time), when there is one. 0: never.
    cursor_mix_every: int = 0
    # False: `metadata.total` is left out of every response.
    send_total: bool = True
    # Added to every `metadata.total`: a count the listing never delivers.
    total_bias: int = 0
    # The next N pages each leave out their first CDR (the total still counts it).
    omit_next: int = 0
    # A search-backed count: `metadata.total` is at most this ("10,000 or more"). 0: exact.
    total_cap: int = 0
    # Cursors padded to at least this many characters (an opaque cursor may be long).
    cursor_bytes: int = 0
    # A CDR (an object) the API appends to every page it serves, whatever was asked.
    intruder: dict[str, Any] | None = None
    # A server (or proxy) that echoes the request's Authorization header into its error
    # responses: "body" (in the JSON body), "html" (an HTML error page), "reason" (the
    # status line's reason phrase), or "none".
    echo_auth: str = "none"


class ApiError(Exception):
    """An error response the simulated API sends, with its status and JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


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


class Simulator:
    """The data set, the switches, and the request log behind one server."""

    def __init__(self, spec: DatasetSpec | None = None, config: SimConfig | None = None) -> None:
        self.dataset = Dataset(spec or DatasetSpec())
        self.config = config or SimConfig()
        self.lock = threading.Lock()
        self.requests: list[str] = []  # path and raw query of every API request
        self.statuses: list[int] = []
        self.faults: Counter[str] = Counter()  # faults served, by kind
        self.started: list[float] = []  # monotonic time each API request arrived
        self.answered: list[tuple[float, int]] = []  # (monotonic time, status) of each answer
        self.inflight = 0
        self.connections = 0  # TCP connections accepted
        self.max_inflight = 0  # most API requests served at the same time
        self._rng = random.Random(self.config.fault_seed)
        self._tokens = 0.0
        self._refilled: float | None = None  # when the bucket was last topped up
        self._cursor_history: dict[tuple[Any, ...], list[str]] = {}
        self._page_counts: dict[tuple[Any, ...], int] = {}
        self._totals: dict[tuple[Any, ...], int] = {}
        self._shuffled: dict[tuple[int, int], list[int]] = {}
        self._cursor_requests = 0
        self._cursors_issued = 0
        self._last_issued: dict[tuple[Any, ...], str] = {}
        self.cursors_mixed = 0  # responses that carried another query's cursor
        self.expired_empty = 0  # cursor requests answered as an empty last page
        # Tests may set a function that rewrites each served record (hostile content).
        self.rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    # -- control -------------------------------------------------------------------

    def configure(self, **changes: Any) -> None:
        """Change switches on the running server (unknown names are refused)."""
        known = {f.name for f in fields(SimConfig)}
        unknown = set(changes) - known
        if unknown:
            msg = f"unknown simulator settings: {sorted(unknown)}"
            raise ValueError(msg)
        with self.lock:
            for name, value in changes.items():
                setattr(self.config, name, value)
            if "fault_seed" in changes:
                self._rng = random.Random(self.config.fault_seed)
            self._totals.clear()

    def reset_log(self) -> None:
        """Forget logged requests and per-query paging history."""
        with self.lock:
            self.requests.clear()
            self.statuses.clear()
            self.started.clear()
            self.answered.clear()
            self.max_inflight = 0
            self._cursor_history.clear()
            self._page_counts.clear()

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
        if self.config.drift:
            raw = drift(raw, pos)
        if self.config.new_fields:
            raw = new_fields(raw, pos, len(self.dataset))
        if self.rewrite is not None:
            raw = json.dumps(self.rewrite(json.loads(raw)), ensure_ascii=False).encode()
        return raw

    # -- request handling ----------------------------------------------------------

    def fault_for_request(self) -> tuple[str | None, float]:
        """The fault (status or kind) this request suffers, if any, and its Retry-After."""
        cfg = self.config
        with self.lock:
            if cfg.fail_next:
                return cfg.fail_next.pop(0), cfg.retry_after_seconds
            if cfg.rate_limit_per_second:
                wait = self._take_token(cfg.rate_limit_per_second)
                if wait:
                    return "429", max(cfg.retry_after_seconds, math.ceil(wait))
            if cfg.fault_rate and self._rng.random() < cfg.fault_rate:
                return self._rng.choice(cfg.fault_mix), cfg.retry_after_seconds
            if cfg.hang_rate and self._rng.random() < cfg.hang_rate:
                return "hang", 0
        return None, 0

    def _take_token(self, rate: float) -> float:
        """0 if the bucket lets this request through, else the seconds until it would."""
        now = time.monotonic()
        capacity = max(1.0, rate)
        if self._refilled is None:
            tokens = capacity
        else:
            tokens = min(capacity, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if tokens >= 1:
            self._tokens = tokens - 1
            return 0.0
        self._tokens = tokens
        return (1 - tokens) / rate

    def authorize(self, header: str | None) -> None:
        """Raise the API's 401 or 403 for a missing, wrong or unscoped key."""
        token = (
            (header or "").removeprefix("Bearer ").strip()
            if header and header.startswith("Bearer ")
            else None
        )
        if token == self.config.forbidden_key:
            raise ApiError(
                403, {"error": "Forbidden: the API key lacks the reporting.cdrs.read scope"}
            )
        if token != self.config.api_key:
            raise ApiError(401, {"error": "Unauthorized"})

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
        limit = self._int_param(paging.get("limit", "100"), "limit", 1, MAX_LIMIT, errors)
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

    @staticmethod
    def _int_param(text: str, name: str, low: int, high: int, errors: dict[str, list[str]]) -> int:
        try:
            value = int(text)
        except ValueError:
            errors.setdefault(name, []).append("must be an integer")
            return low
        if not low <= value <= high:
            errors.setdefault(name, []).append(f"must be between {low} and {high}")
        return value

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
        return _record_matches(ds.record(pos), query)

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


class Handler(BaseHTTPRequestHandler):
    """One request; the simulator is reached through `self.server.simulator`."""

    protocol_version = "HTTP/1.1"
    server: SimServer

    def setup(self) -> None:
        """Count TCP connections (a client that reuses its connections opens few)."""
        super().setup()
        with self.server.simulator.lock:
            self.server.simulator.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read the simulator's own request log instead."""

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        echo = self.server.simulator.config.echo_auth
        if status >= 400 and echo != "none":
            body, content_type = self._echo_auth(echo, status, body, content_type)
        if status >= 400 and echo == "reason":
            self.send_response(status, f"Denied for {self.headers.get('Authorization')}")
        else:
            self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _echo_auth(
        self, echo: str, status: int, body: bytes, content_type: str
    ) -> tuple[bytes, str]:
        """An error body that repeats the request's Authorization header (`echo_auth`)."""
        auth = self.headers.get("Authorization", "")
        if echo == "html":
            page = (
                f"<html><body><h1>Error {status}</h1><pre>Authorization: {auth}</pre></body></html>"
            )
            return page.encode(), "text/html"
        if echo != "body":
            return body, content_type
        try:
            payload = json.loads(body)
        except ValueError:
            return body + f" (Authorization: {auth})".encode(), content_type
        if isinstance(payload.get("errors"), dict):
            payload["errors"]["authorization"] = [f"{auth} was sent"]
        else:
            payload["error"] = f"{payload.get('error', 'error')} (Authorization: {auth})"
        return json.dumps(payload).encode(), "application/json"

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def do_POST(self) -> None:
        """Admin endpoints: `/_sim/config` (JSON of SimConfig fields) and `/_sim/reset`."""
        sim = self.server.simulator
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        path = urlsplit(self.path).path
        try:
            if path == "/_sim/config":
                sim.configure(**payload)
            elif path == "/_sim/reset":
                sim.reset_log()
            else:
                self._send_json(404, {"error": "Not Found"})
                return
        except (ValueError, TypeError) as exc:
            self._send_json(400, {"error": str(exc)})
            return
        self._send_json(200, {"config": asdict(sim.config)})

    def do_GET(self) -> None:
        """The CDR endpoint, plus `/_sim/stats` for scripts outside the test process."""
        sim = self.server.simulator
        parts = urlsplit(self.path)
        if parts.path == "/_sim/stats":
            with sim.lock:
                self._send_json(
                    200,
                    {
                        "requests": len(sim.requests),
                        "statuses": sim.statuses[-1000:],
                        "records": len(sim.dataset),
                        "max_inflight": sim.max_inflight,
                        "by_status": Counter(sim.statuses),
                    },
                )
            return
        if parts.path != API_PATH:
            self._send_json(404, {"error": "Not Found"})
            return
        with sim.lock:
            sim.requests.append(self.path)
            sim.started.append(time.monotonic())
            sim.inflight += 1
            sim.max_inflight = max(sim.max_inflight, sim.inflight)
        try:
            status = self._serve(sim, parts.query)
        finally:
            with sim.lock:
                sim.inflight -= 1
        with sim.lock:
            sim.statuses.append(status)
            sim.answered.append((time.monotonic(), status))

    def _serve(self, sim: Simulator, raw_query: str) -> int:
        cfg = sim.config
        if cfg.latency_ms:
            time.sleep(cfg.latency_ms / 1000)
        fault, retry_after = sim.fault_for_request()
        if fault == "ok":  # a placeholder in `fail_next`: this request is served as usual
            fault = None
        if fault is not None:
            with sim.lock:
                sim.faults[fault] += 1
        if fault is not None and fault != "hang":
            return self._fault(fault, retry_after)
        if fault == "hang":
            time.sleep(cfg.hang_seconds)
        try:
            sim.authorize(self.headers.get("Authorization"))
            query = sim.parse(raw_query)
            page = sim.page(query)
        except ApiError as exc:
            self._send_json(exc.status, exc.body)
            return exc.status
        metadata: dict[str, Any] = {}
        if cfg.send_total:
            total = min(page["total"], cfg.total_cap) if cfg.total_cap else page["total"]
            metadata["total"] = total + cfg.total_bias
        if "next_cursor" in page:
            metadata["next_cursor"] = page["next_cursor"]
        body = (
            b'{"cdrs":['
            + b",".join(page["cdrs"])
            + b'],"metadata":'
            + json.dumps(metadata).encode()
            + b"}"
        )
        self._send(200, body)
        return 200

    def _fault(self, fault: str, retry_after: float) -> int:
        cfg = self.server.simulator.config
        if fault == "429":
            headers = {}
            if cfg.retry_after == "seconds":
                headers["Retry-After"] = str(retry_after)
            elif cfg.retry_after == "date":
                headers["Retry-After"] = formatdate(time.time() + retry_after, usegmt=True)
            self._send_json(429, {"error": "Too Many Requests"}, headers=headers)
            return 429
        if fault == "drop":
            # Promise a full body, send half of it, then drop the connection.
            body = b'{"cdrs":[{"id":"' + b"x" * 200
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) * 2))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return -1
        if fault == "html":
            self._send(
                200, b"<html><body><h1>502 Bad Gateway</h1>proxy error</body></html>", "text/html"
            )
            return 200
        if fault == "truncated":
            self._send(200, b'{"cdrs":[{"id":"3f18')
            return 200
        if fault == "no_cdrs":
            self._send_json(200, {"metadata": {"total": 1, "next_cursor": None}})
            return 200
        if fault == "null_cdrs":
            self._send_json(200, {"cdrs": None, "metadata": {"total": 1, "next_cursor": None}})
            return 200
        if fault == "no_metadata":
            self._send_json(200, {"cdrs": []})
            return 200
        status = int(fault)
        if status == 502:
            self._send(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        else:
            self._send_json(status, {"error": f"simulated {status}"})
        return status


class SimServer(ThreadingHTTPServer):
    """A threading HTTP server that carries its `Simulator`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        super().__init__(address, Handler)
        self.simulator = simulator

    @property
    def url(self) -> str:
        """The base URL to give the tap as `api_url`."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


ServerT = TypeVar("ServerT", bound=socketserver.BaseServer)


@contextmanager
def serving(server: ServerT) -> Iterator[ServerT]:
    """Serve `server` (bound, not yet serving) on a background thread for the block, then
    stop it and close its socket."""
    thread = threading.Thread(target=server.serve_forever, name="voiso-simulator", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def start(simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> SimServer:
    """Serve `simulator` on a background thread; `server.shutdown()` stops it."""
    server = SimServer((host, port), simulator)
    threading.Thread(target=server.serve_forever, name="voiso-simulator", daemon=True).start()
    return server
