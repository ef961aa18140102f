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
import math
import random
import uuid
from array import array
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

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
PROFILES = ("uniform", "realistic")
"""What the CDRs say: `uniform` picks every field at random, `realistic` (see
docs/simulator-data.md) looks like a contact center's day."""
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
    profile: str = "uniform"
    """`uniform` (the default, what the paging tests read) or `realistic`: arrivals by
    the center's local hour (`shape` then has no say) and fields that agree."""
    timezone: str = "UTC"
    """The contact center's zone: the realistic profile's business hours are its."""

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            msg = f"unknown data shape {self.shape!r}: choose one of {', '.join(SHAPES)}"
            raise ValueError(msg)
        if self.profile not in PROFILES:
            msg = f"unknown profile {self.profile!r}: choose one of {', '.join(PROFILES)}"
            raise ValueError(msg)
        ZoneInfo(self.timezone)  # an unknown zone fails here, not in the middle of a run


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
        self.realistic = _Arrivals(spec, start_ms, span_ms) if spec.profile == "realistic" else None
        keys: list[tuple[int, str, int]] = []
        for i in range(n):
            rng = self._rng(i)
            if self.realistic is not None:
                share = burst_at if burst_at <= i < burst_at + spec.burst else i + rng.random()
                started = self.realistic.moment(share / max(n, 1))
            elif burst_at <= i < burst_at + spec.burst:
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
            if self.realistic is not None and kind in REALISTIC_PLANS:
                plan = REALISTIC_PLANS[kind](self._rng(self.index[pos], salt=3))
                duration = round(plan["durations"]["overall"] * 1000)
            else:
                duration = self._duration_ms(rng, kind)
            ended.append(self.started[pos] + duration)
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
        if self.realistic is not None and kind in REALISTIC_PLANS:
            self._make_realistic(pos, record, rng)
        record["_hidden"] = {
            "team_id": str(rng.randrange(1, 5)),
            "account_id": str(100000 + rng.randrange(20)),
        }
        return record

    def _make_realistic(self, pos: int, record: dict[str, Any], rng: random.Random) -> None:
        """Overwrite a call's or conversation's fields with the realistic plan's."""
        arrivals = self.realistic
        if arrivals is None:
            return
        plan = REALISTIC_PLANS[record["type"]](self._rng(self.index[pos], salt=3))
        record["subtype"] = plan["subtype"]
        record["disposition"] = plan["disposition"]
        record["tags"] = plan["tags"]
        if not plan["agent"]:
            record["user"] = None
        elif record["user"] is None:
            record["user"] = {**rng.choice(USERS), "name_snapshot": None, "deleted": False}
        data = record["data"]
        data.update(plan["data"])
        data["durations"] = plan["durations"]
        if record["type"] == "call" and plan["subtype"] == "inbound":
            record["from"] = arrivals.caller(self.started[pos], rng)
        elif record["type"] == "conversation":
            data["channel"] = plan["subtype"]
            account = record["from"]["channel_account"]
            account["channel"] = plan["subtype"]
            record["to"]["channel_account"]["channel"] = plan["subtype"]

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


# --- The realistic profile (docs/simulator-data.md has its measured figures) ---------

# Relative arrivals by the center's local hour on a weekday: quiet nights, busy
# 09:00-17:00 with a morning (10-11) and an afternoon (14-15) peak. Weekends: a quarter.
LOCAL_HOUR_WEIGHTS = (
    1, 1, 1, 1, 1, 1, 2, 4, 10, 16, 20, 18, 13, 15, 19, 17, 12, 7, 4, 3, 2, 2, 1, 1,
)  # fmt: skip
WEEKEND_FACTOR = 0.25
# Share of inbound calls whose number is drawn from the day's pool of repeat callers,
# and that pool's size as a share of the day's expected inbound calls.
REPEAT_CALLER_SHARE = 0.5
REPEAT_POOL_SHARE = 0.15
INBOUND_SHARE_OF_CDRS = TYPE_WEIGHTS[0] / sum(TYPE_WEIGHTS) * 0.6
WRAPUP_CODES = ("resolved", "follow_up", "sale", "no_sale", "escalated")
TRANSFER_TAGS = ("blind_transfer", "warm_transfer")
# The queue each dialer campaign's connected calls are routed through.
CAMPAIGN_QUEUES = {9: (4, "Retention"), 11: (2, "Sales"), 12: (3, "Billing")}


class _Arrivals:
    """When the realistic profile's contacts start, and who calls in."""

    def __init__(self, spec: DatasetSpec, start_ms: int, span_ms: int) -> None:
        self.zone = ZoneInfo(spec.timezone)
        self.seed = spec.seed
        self.slots: list[int] = []  # each hour's start (epoch ms), clipped to the range
        self.cumulative: list[float] = []  # weight before each slot
        day_weight: dict[int, float] = {}
        total = 0.0
        moment = start_ms
        while moment < start_ms + span_ms:
            end = min(moment - moment % HOUR_MS + HOUR_MS, start_ms + span_ms)
            local = datetime.fromtimestamp(moment / 1000, tz=self.zone)
            weight = LOCAL_HOUR_WEIGHTS[local.hour] * (end - moment) / HOUR_MS
            if local.weekday() >= 5:
                weight *= WEEKEND_FACTOR
            self.slots.append(moment)
            self.cumulative.append(total)
            total += weight
            day = local.date().toordinal()
            day_weight[day] = day_weight.get(day, 0.0) + weight
            moment = end
        self.slots.append(start_ms + span_ms)
        self.total = total
        inbound = spec.records * INBOUND_SHARE_OF_CDRS
        self.pool = {
            day: max(1, round(inbound * weight / total * REPEAT_POOL_SHARE))
            for day, weight in day_weight.items()
        }

    def moment(self, share: float) -> int:
        """The start at `share` (0 to 1) of the arrivals: the inverse of their CDF."""
        target = share * self.total
        k = max(0, bisect.bisect_right(self.cumulative, target) - 1)
        after = self.cumulative[k + 1] if k + 1 < len(self.cumulative) else self.total
        width = after - self.cumulative[k]
        part = (target - self.cumulative[k]) / width if width > 0 else 0.0
        length = self.slots[k + 1] - self.slots[k]
        return self.slots[k] + min(int(part * length), length - 1)

    def caller(self, started_ms: int, rng: random.Random) -> dict[str, Any]:
        """An inbound call's number: a new one, or one of the local day's repeat callers."""
        if rng.random() >= REPEAT_CALLER_SHARE:
            return _phone(rng)
        day = datetime.fromtimestamp(started_ms / 1000, tz=self.zone).date().toordinal()
        regular = random.Random(f"{self.seed}/{day}/{rng.randrange(self.pool.get(day, 1))}")
        return _phone(regular)


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0, sigma))


def _realistic_call(rng: random.Random) -> dict[str, Any]:
    """A call whose disposition, durations, queue and agent agree."""
    direction = rng.choices(("inbound", "outbound", "internal"), (60, 35, 5))[0]
    queue: dict[str, Any] | None = None
    campaign: dict[str, Any] | None = None
    dialing = round(rng.uniform(0.5, 2.5), 3)
    ivr = queue_s = talk = hold = 0.0
    if direction == "inbound":
        if rng.random() < 0.95:
            queue = _named(rng, QUEUES)
            ivr = round(rng.uniform(8, 40), 3) if rng.random() < 0.4 else 0.0
        disposition = rng.choices(
            ("answered", "abandoned", "no_answer", "failed"), (90, 5.5, 3, 1.5)
        )[0]
        if queue is None and disposition == "abandoned":
            disposition = "no_answer"  # without a queue, there is nothing to abandon
        if disposition == "answered" and queue is not None:
            queue_s = _lognormal(rng, 7, 1.1)  # most within 20 s, a long tail
        elif disposition == "abandoned":
            queue_s = rng.expovariate(1 / 45)  # some give up within 5 s
        elif disposition == "no_answer" and queue is not None:
            queue_s = rng.uniform(60, 180)  # the queue's timeout
    elif direction == "outbound":
        if rng.random() < 0.8:  # a dialer campaign; the rest are an agent's manual calls
            campaign = _named(rng, CAMPAIGNS)
            queue_id, queue_name = CAMPAIGN_QUEUES[campaign["id"]]
            queue = {"id": queue_id, "name": queue_name, "name_snapshot": None, "deleted": False}
        disposition = rng.choices(
            ("answered", "abandoned", "no_answer", "busy", "failed"), (24, 1, 47, 15, 13)
        )[0]
        if queue is None and disposition == "abandoned":
            disposition = "answered"
        dialing = round(rng.uniform(5, 30), 3)
        if disposition == "answered" and queue is not None:
            queue_s = rng.uniform(0, 2)  # the dialer bridges a free agent at once
        elif disposition == "abandoned":
            queue_s = rng.expovariate(1 / 3)  # connected, no agent free: dropped
    else:
        disposition = rng.choices(("answered", "no_answer"), (85, 15))[0]
    answered = disposition == "answered"
    if answered:
        talk = _lognormal(rng, 180 if direction != "internal" else 60, 0.7)
        hold = _lognormal(rng, 40, 0.6) if rng.random() < 0.15 else 0.0
    queue_s, talk, hold = round(queue_s, 3), round(talk, 3), round(hold, 3)
    overall = round(dialing + ivr + queue_s + talk + hold, 3)
    tags: list[str] = []
    if answered and direction == "inbound" and rng.random() < 0.1:
        tags.append(rng.choice(TRANSFER_TAGS))
    if answered and rng.random() < 0.03:
        tags.append("vip")
    if answered:
        end_reason = rng.choices(("customer", "agent"), (65, 35))[0]
    elif disposition == "abandoned":
        end_reason = "customer" if direction == "inbound" else "system"
    else:
        end_reason = rng.choice(("system", "timeout"))
    return {
        "subtype": direction,
        "disposition": disposition,
        "agent": answered or (direction != "inbound" and queue is None),
        "tags": tags,
        "durations": {
            "overall": overall,
            "dialing": dialing,
            "ivr": ivr,
            "queue": queue_s,
            "talk": talk,
            "hold": hold,
        },
        "data": {
            "queue": queue,
            "campaign": campaign,
            "end_reason": end_reason,
            "wrapup_code": {"code_snapshot": rng.choice(WRAPUP_CODES)} if answered else None,
            "summary": "The agent followed up on a previous inquiry." if answered else None,
            "conversation_score": round(rng.uniform(3, 5), 1) if answered else None,
            "mos": round(rng.uniform(3.6, 4.4), 2) if answered else None,
            "mos_tc": round(rng.uniform(3.6, 4.4), 2) if answered else None,
        },
    }


def _realistic_sla(value: float, threshold: float) -> dict[str, Any]:
    return {"value": round(value, 1), "status": "ok" if value <= threshold else "breached"}


def _realistic_conversation(rng: random.Random) -> dict[str, Any]:
    """A messaging conversation whose queue time, SLAs and disposition agree."""
    channel = rng.choices(CHANNELS, (50, 15, 15, 20))[0]
    queue = _named(rng, QUEUES) if rng.random() < 0.85 else None
    disposition = rng.choices(("resolved", "archived", "missed"), (70, 22, 8))[0]
    handled = disposition != "missed"
    if handled:
        queue_s = round(_lognormal(rng, 12, 1.0), 1)
        talk = round(_lognormal(rng, 300, 0.8), 1)
    else:
        queue_s = round(rng.expovariate(1 / 300), 1)
        talk = 0.0
    overall = round(queue_s + talk, 1)
    first_response = queue_s + rng.uniform(5, 40) if handled else overall
    slas = {
        "first_response": _realistic_sla(first_response, 60),
        "resolution": _realistic_sla(overall, 3600) if handled else None,
        "avg_reply": _realistic_sla(rng.uniform(15, 150), 120) if handled else None,
    }
    return {
        "subtype": channel,
        "disposition": disposition,
        "agent": handled,
        "tags": [rng.choice(TRANSFER_TAGS)] if handled and rng.random() < 0.05 else [],
        "durations": {"overall": overall, "queue": queue_s, "talk": talk},
        "data": {
            "queue": queue,
            "wrapup_code": {"code_snapshot": rng.choice(WRAPUP_CODES)} if handled else None,
            "service_level_agreements": slas,
        },
    }


REALISTIC_PLANS = {"call": _realistic_call, "conversation": _realistic_conversation}
