"""Deterministic synthetic CDRs shaped like Voiso's `GET /api/v4/reporting/cdrs`.

Records are generated from `(seed, index)` alone, so any record can be rebuilt on
demand and two simulators with the same arguments serve byte-identical data. Only
the small per-record keys needed to order, window and count (start, end, id, type)
are held for the whole data set; full records are rendered lazily and cached as
JSON bytes, which keeps a million-record data set affordable.
"""

from __future__ import annotations

import bisect
import json
import random
import uuid
from array import array
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

TYPES = ("call", "conversation", "sms", "hlr_lookup")
# Share of each type, in TYPES order: calls dominate a contact center's CDRs.
TYPE_WEIGHTS = (50, 20, 20, 10)

USERS = [
    {"id": str(1000 + n), "name": name, "email": f"{name.split()[0].lower()}@example.com"}
    for n, name in enumerate(
        ["Jane Doe", "Amir Haddad", "Li Wei", "Sofía Pérez", "Oleksandr Koval", "Aiko Tanaka"]
    )
]
QUEUES = [(1, "Technical Support"), (2, "Sales"), (3, "Billing"), (4, "Retention")]
CAMPAIGNS = [(9, "Retention Outreach"), (11, "Spring Promo"), (12, "Renewals")]
FLOWS = ["Lead Qualification", "Support Bot", "Order Status"]
CANNED = [(10, "Payment Confirmation"), (14, "Appointment Reminder")]
COUNTRIES = ["France", "Germany", "Spain", "United Kingdom", "Brazil", "Japan", None]
END_REASONS = ["customer", "agent", "system", "timeout"]
TAGS = ["conference", "whisper", "vip", "callback", "escalated", "survey"]
CHANNELS = ["whatsapp", "telegram", "messenger", "webchat"]
DISPOSITIONS = {
    "call": ["answered", "no_answer", "busy", "failed", "abandoned"],
    "conversation": ["archived", "resolved", "missed"],
    "sms": ["sent", "delivered", "failed"],
    "hlr_lookup": ["available", "unavailable", "unknown"],
}
SUBTYPES = {
    "call": ["outbound", "inbound", "internal"],
    "conversation": CHANNELS,
    "sms": ["outbound_sms", "inbound_sms"],
    "hlr_lookup": ["hlr_lookup"],
}
# Longest time a CDR of each type stays open, in seconds: conversations for days.
MAX_DURATION_S = {"call": 3600, "conversation": 3 * 86400, "sms": 5, "hlr_lookup": 2}

DEFAULT_START = "2026-01-01T00:00:00Z"


def iso_ms(epoch_ms: int) -> str:
    """Format epoch milliseconds the way Voiso does: `2020-08-19T11:32:43.413Z`."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def parse_iso(value: str) -> int:
    """Parse an ISO 8601 date time into epoch milliseconds (naive means UTC)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


SHAPES = ("even", "part", "business-hours", "campaigns", "late-start")
"""Where in `[start, start + span_days)` the CDRs lie; see `DatasetSpec.shape`."""
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class DatasetSpec:
    """What to generate: `records` CDRs over `span_days` from `start`, laid out by `shape`.

    `burst` records share one millisecond in the middle of the data set (more than a
    page of them by default), the edge case that breaks naive timestamp paging.

    `shape` says where the CDRs lie in the range, which is what a tap reading from
    `start` to `start + span_days` has to find:

    - `even`: spread evenly over the whole range (the default).
    - `part`: in 2 of its 11 equal stretches (the 3rd and the 8th), nothing elsewhere:
      2 months of data in the 11 from a `start_date` to now.
    - `business-hours`: weekdays 08:00-20:00 UTC only; nights and weekends are empty.
    - `campaigns`: 40% of the CDRs in three one-hour campaigns (at a quarter, half and
      three quarters of the range), the rest spread evenly.
    - `late-start`: in the last 1/37 of the range only: a month of data after three
      years of nothing, when the range is three years and a month long.
    """

    records: int = 2000
    seed: int = 7
    start: str = DEFAULT_START
    span_days: float = 30.0
    burst: int = 1200
    shape: str = "even"

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            msg = f"unknown data shape {self.shape!r}: choose one of {', '.join(SHAPES)}"
            raise ValueError(msg)


def active_stretches(shape: str, start_ms: int, span_ms: int) -> list[tuple[int, int]]:
    """The `[begin, end)` offsets from `start_ms` where a shape's CDRs may lie, in order.

    The campaign hours are not among them: `Dataset` places those CDRs on its own.
    """
    if shape == "part":
        stretch = span_ms // 11
        return [(2 * stretch, 3 * stretch), (7 * stretch, 8 * stretch)]
    if shape == "late-start":
        return [(span_ms - span_ms // 37, span_ms)]
    if shape == "business-hours":
        stretches = []
        day = start_ms - start_ms % DAY_MS
        while day < start_ms + span_ms:
            if datetime.fromtimestamp(day / 1000, tz=timezone.utc).weekday() < 5:
                begin = max(day + 8 * HOUR_MS, start_ms) - start_ms
                end = min(day + 20 * HOUR_MS, start_ms + span_ms) - start_ms
                if begin < end:
                    stretches.append((begin, end))
            day += DAY_MS
        if not stretches:
            msg = "the business-hours shape needs a range that holds a weekday 08:00-20:00"
            raise ValueError(msg)
        return stretches
    return [(0, span_ms)]


class _Timeline:
    """Maps an offset into the stretches laid end to end onto an offset in the range."""

    def __init__(self, stretches: list[tuple[int, int]]) -> None:
        self.begins = [begin for begin, _ in stretches]
        self.cumulative = []
        total = 0
        for begin, end in stretches:
            self.cumulative.append(total)
            total += end - begin
        self.length = max(1, total)

    def offset(self, packed: int) -> int:
        # Past the last stretch's end (the jitter of the last CDRs) stays in it.
        k = bisect.bisect_right(self.cumulative, packed) - 1
        return self.begins[k] + packed - self.cumulative[k]


class Dataset:
    """The simulator's CDRs, ordered by `(started_at, id)`."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        start_ms = parse_iso(spec.start)
        span_ms = max(1, int(spec.span_days * 86400 * 1000))
        timeline = _Timeline(active_stretches(spec.shape, start_ms, span_ms))
        packed_ms = timeline.length
        n = spec.records
        burst_at = n // 2
        keys: list[tuple[int, str, int]] = []
        for i in range(n):
            rng = self._rng(i)
            if burst_at <= i < burst_at + spec.burst:
                started = start_ms + timeline.offset((burst_at * packed_ms) // max(n, 1))
            elif spec.shape == "campaigns" and i % 5 < 2:
                campaign = (i // 5) % 3
                hour = (span_ms * (campaign + 1) // 4) // HOUR_MS * HOUR_MS
                started = start_ms + min(hour, span_ms - HOUR_MS) + rng.randrange(HOUR_MS)
            else:
                packed = (i * packed_ms) // max(n, 1) + rng.randrange(997)
                started = start_ms + timeline.offset(packed)
            keys.append((started, str(uuid.UUID(int=rng.getrandbits(128), version=4)), i))
        keys.sort()
        self.started = array("q", (k[0] for k in keys))
        self.ids = [k[1] for k in keys]
        self.index = array("q", (k[2] for k in keys))
        self.position = {record_id: pos for pos, record_id in enumerate(self.ids)}
        self.types: list[str] = []
        ended = array("q")
        for pos in range(n):
            rng = self._rng(self.index[pos], salt=1)
            kind = rng.choices(TYPES, TYPE_WEIGHTS)[0]
            self.types.append(kind)
            ended.append(self.started[pos] + self._duration_ms(rng, kind))
        self.ended = ended
        self._json: list[bytes | None] = [None] * n

    def __len__(self) -> int:
        return len(self.ids)

    def _rng(self, index: int, salt: int = 0) -> random.Random:
        return random.Random((self.spec.seed * 1_000_003 + index) * 4 + salt)

    @staticmethod
    def _duration_ms(rng: random.Random, kind: str) -> int:
        # Most CDRs are short; a few conversations stay open for days.
        longest = MAX_DURATION_S[kind] * 1000
        return int(longest * rng.random() ** 3)

    def span_for(self, gte_ms: int | None, lt_ms: int | None) -> tuple[int, int]:
        """Positions `[lo, hi)` whose `started_at` lies in `[gte_ms, lt_ms)`."""
        lo = 0 if gte_ms is None else bisect.bisect_left(self.started, gte_ms)
        hi = len(self) if lt_ms is None else bisect.bisect_left(self.started, lt_ms)
        return lo, max(lo, hi)

    def record(self, pos: int) -> dict[str, Any]:
        """The full CDR at `pos`, rebuilt from its seed, with hidden filter keys."""
        kind = self.types[pos]
        rng = self._rng(self.index[pos], salt=2)
        user = rng.choice(USERS) if rng.random() > 0.08 else None
        record: dict[str, Any] = {
            "id": self.ids[pos],
            "type": kind,
            "subtype": rng.choice(SUBTYPES[kind]),
            "disposition": rng.choice(DISPOSITIONS[kind]),
            "from": None,
            "to": None,
            "user": None
            if user is None
            else {
                **user,
                "name_snapshot": user["name"] if rng.random() > 0.3 else None,
                "deleted": rng.random() < 0.05,
            },
            "cost": None if rng.random() < 0.1 else round(rng.random() * 0.5, 4),
            "tags": rng.sample(TAGS, rng.randrange(3)),
            "started_at": iso_ms(self.started[pos]),
            "ended_at": iso_ms(self.ended[pos]),
            "data": {},
        }
        if kind == "conversation":
            channel = record["subtype"]
            record["from"] = _channel_account(rng, channel)
            record["to"] = _channel_account(rng, channel)
        else:
            record["from"] = _phone(rng)
            record["to"] = _phone(rng)
        record["data"] = _DATA_BUILDERS[kind](rng, self.ended[pos] - self.started[pos])
        record["_hidden"] = {
            "team_id": str(rng.randrange(1, 5)),
            "account_id": str(100000 + rng.randrange(20)),
        }
        return record

    def record_json(self, pos: int) -> bytes:
        """The CDR at `pos` as compact JSON bytes, exactly as the server sends it."""
        cached = self._json[pos]
        if cached is None:
            public = self.record(pos)
            del public["_hidden"]
            cached = json.dumps(public, ensure_ascii=False, separators=(",", ":")).encode()
            self._json[pos] = cached
        return cached


def _phone(rng: random.Random) -> dict[str, Any]:
    return {
        "type": "phone_number",
        "phone_number": f"1{rng.randrange(200, 999)}{rng.randrange(10**7):07d}",
    }


def _channel_account(rng: random.Random, channel: str) -> dict[str, Any]:
    name = rng.choice(["John Smith", "Ana Lima", "Kenji Sato", "Zoë Müller"])
    return {
        "type": "channel_account",
        "channel_account": {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "channel": channel,
            "identifier": f"1555{rng.randrange(10**7):07d}",
            "data": {
                "name": name,
                "username": name.split()[0].lower() if rng.random() > 0.4 else None,
            },
            "name_snapshot": name if rng.random() > 0.5 else None,
            "deleted": rng.random() < 0.03,
        },
    }


def _named(rng: random.Random, pairs: list[tuple[int, str]]) -> dict[str, Any]:
    ident, name = rng.choice(pairs)
    return {
        "id": ident,
        "name": name,
        "name_snapshot": name if rng.random() > 0.5 else None,
        "deleted": False,
    }


def _call_data(rng: random.Random, duration_ms: int) -> dict[str, Any]:
    overall = round(duration_ms / 1000, 3)
    answered = rng.random() > 0.25
    talk = round(overall * rng.uniform(0.5, 0.9), 3) if answered else 0
    return {
        "queue": _named(rng, QUEUES) if rng.random() > 0.2 else None,
        "campaign": _named(rng, CAMPAIGNS) if rng.random() > 0.5 else None,
        "destination_country": rng.choice(COUNTRIES),
        "durations": {
            "overall": overall,
            "dialing": round(rng.uniform(0, 8), 3),
            "ivr": 0 if rng.random() > 0.3 else round(rng.uniform(0, 20), 3),
            "queue": round(rng.uniform(0, 30), 3),
            "talk": talk,
            "hold": 0 if rng.random() > 0.2 else round(rng.uniform(0, 60), 3),
        },
        "end_reason": rng.choice(END_REASONS),
        "wrapup_code": {"code_snapshot": f"{rng.randrange(10000):04d}"}
        if rng.random() > 0.4
        else None,
        "summary": "The agent followed up on a previous inquiry."
        if answered and rng.random() > 0.5
        else None,
        "conversation_score": round(rng.uniform(1, 5), 1) if answered else None,
        "mos": round(rng.uniform(3, 4.5), 2) if answered else None,
        "mos_tc": round(rng.uniform(3, 4.5), 2) if answered else None,
    }


def _sla(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() < 0.3:
        return None
    return {"value": round(rng.uniform(1, 40000), 1), "status": rng.choice(["ok", "breached"])}


def _conversation_data(rng: random.Random, duration_ms: int) -> dict[str, Any]:
    overall = round(duration_ms / 1000, 1)
    queue = round(overall * rng.random() * 0.3, 1)
    return {
        "channel": rng.choice(CHANNELS),
        "flow": {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "name": rng.choice(FLOWS),
            "name_snapshot": None,
            "deleted": False,
        }
        if rng.random() > 0.3
        else None,
        "queue": _named(rng, QUEUES) if rng.random() > 0.3 else None,
        "wrapup_code": {"code_snapshot": f"{rng.randrange(10000):04d}"}
        if rng.random() > 0.5
        else None,
        "durations": {"overall": overall, "queue": queue, "talk": round(overall - queue, 1)},
        "service_level_agreements": {
            "first_response": _sla(rng),
            "resolution": _sla(rng),
            "avg_reply": _sla(rng),
        },
    }


def _hlr_data(rng: random.Random, _duration_ms: int) -> dict[str, Any]:
    return {
        "reachable": rng.random() > 0.2,
        "roaming": rng.random() < 0.1,
        "related_call": {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
        if rng.random() > 0.5
        else None,
    }


def _sms_data(rng: random.Random, _duration_ms: int) -> dict[str, Any]:
    message = rng.choice(
        [
            "Hi Javier, this is a reminder about your appointment scheduled for 17:00.",
            "Votre paiement a bien été reçu. Merci !",
            "ご予約ありがとうございます。",
        ]
    )
    return {
        "sent": rng.random() > 0.05,
        "segments_count": 1 + len(message) // 160,
        "message": message,
        "canned_message": _named(rng, CANNED) if rng.random() > 0.5 else None,
        "related_call": {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
        if rng.random() > 0.7
        else None,
    }


_DATA_BUILDERS = {
    "call": _call_data,
    "conversation": _conversation_data,
    "hlr_lookup": _hlr_data,
    "sms": _sms_data,
}
