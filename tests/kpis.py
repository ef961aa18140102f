"""Contact-center KPIs computed in plain Python from CDRs as the API serves them.

The ground truth for dbt_voiso's queue, agent and interval models: the same definitions
(see the package's _voiso__models.yml and docs/kpi-definitions.md), written
independently of its SQL, Erlang C included.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

SLAS = ("first_response", "resolution", "avg_reply")
CURVE_SECONDS = (10, 20, 30, 60, 120, 300)  # the answer and abandon curves' thresholds


@dataclass(frozen=True)
class Definitions:
    """The package's vars, at their documented defaults unless given."""

    timezone: str = "UTC"
    answered: tuple[str, ...] = ("answered",)
    abandoned: tuple[str, ...] = ("abandoned",)
    service_level_seconds: float = 20
    conversation_handled: tuple[str, ...] = ("resolved", "archived")
    conversation_abandoned: tuple[str, ...] = ("missed",)
    short_abandon_seconds: float = 5
    interval_minutes: int = 15
    service_level_target: float = 0.80
    transfer_tags: tuple[str, ...] = ("transfer", "blind_transfer", "warm_transfer")
    repeat_window_hours: float = 24

    def dbt_vars(self) -> dict[str, Any]:
        """The same definitions as dbt vars."""
        return {
            var: list(value) if isinstance(value, tuple) else value
            for var, value in ((VARS[name], getattr(self, name)) for name in VARS)
        }

    @classmethod
    def from_dbt_vars(cls, dbt_vars: dict[str, Any]) -> Definitions:
        """The definitions a dbt run with these vars uses (the defaults for the rest)."""
        names = {var: name for name, var in VARS.items()}
        return cls(
            **{
                names[var]: tuple(value) if isinstance(value, list) else value
                for var, value in dbt_vars.items()
                if var in names
            }
        )


# Each definition's dbt var.
VARS = {
    "timezone": "voiso_timezone",
    "answered": "voiso_answered_dispositions",
    "abandoned": "voiso_abandoned_dispositions",
    "service_level_seconds": "voiso_service_level_seconds",
    "conversation_handled": "voiso_conversation_handled_dispositions",
    "conversation_abandoned": "voiso_conversation_abandoned_dispositions",
    "short_abandon_seconds": "voiso_short_abandon_seconds",
    "interval_minutes": "voiso_interval_minutes",
    "service_level_target": "voiso_service_level_target",
    "transfer_tags": "voiso_transfer_tags",
    "repeat_window_hours": "voiso_repeat_window_hours",
}


def moment(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def iso_minute(minute: int) -> str:
    """The start of a minute since the epoch, as the API writes a moment."""
    return (datetime(1970, 1, 1) + timedelta(minutes=minute)).isoformat() + "Z"


def local_date(started_at: str, timezone: str) -> date:
    """The contact center's day of a CDR's start."""
    return moment(started_at).astimezone(ZoneInfo(timezone)).date()


def interval_of(started_at: str, rules: Definitions) -> tuple[str, str]:
    """The UTC and the wall-clock start of the interval a CDR started in, as text.

    The local interval is found on the wall clock; its UTC start is the start less the
    wall-clock time since then (so each of the two 01:00s of a night the clocks go back
    is an interval of its own)."""
    start = moment(started_at)
    local = start.astimezone(ZoneInfo(rules.timezone)).replace(tzinfo=None)
    minute = local.minute // rules.interval_minutes * rules.interval_minutes
    local_start = local.replace(minute=minute, second=0, microsecond=0)
    utc_start = start.replace(tzinfo=None) - (local - local_start)
    return utc_start.isoformat(sep=" "), local_start.isoformat(sep=" ")


def erlang_c_required_agents(
    arrivals: int, aht: float, interval_seconds: int, threshold: float, target: float
) -> int | None:
    """The fewest agents N with P(queue time <= threshold) >= target under Erlang C.

    Load A = arrivals / interval seconds * AHT; Erlang B by its recursion, then
    C = B / (1 - A/N (1 - B)) and P(wait <= t) = 1 - C exp(-(N - A) t / AHT), over
    N = floor(A) + 1 .. floor(A) + 10 + ceil(6 sqrt(A)). A = 0: 1."""
    load = arrivals / interval_seconds * aht
    if load == 0:
        return 1
    blocking = 1.0
    for agents in range(1, math.floor(load) + 10 + math.ceil(6 * math.sqrt(load)) + 1):
        blocking = load * blocking / (agents + load * blocking)
        if agents > load:
            waiting = blocking / (1 - load / agents * (1 - blocking))
            if 1 - waiting * math.exp(-(agents - load) * threshold / aht) >= target:
                return agents
    return None


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` percentile, interpolated between the two nearest of the sorted values."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _mean(values: list[float]) -> float | None:
    return fmean(values) if values else None


def _duration(record: dict[str, Any], name: str) -> float:
    return record["data"].get("durations", {}).get(name) or 0


def _handle(record: dict[str, Any]) -> float:
    return _duration(record, "talk") + _duration(record, "hold")


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Contact:
    """A call or conversation as the queue and agent models see it."""

    record: dict[str, Any]
    channel: str
    direction: str
    handled: bool
    abandoned: bool
    short_abandoned: bool
    within: bool
    transferred: bool
    agent_hung_up_first: bool


def contact(record: dict[str, Any], rules: Definitions) -> Contact:
    """A call's or conversation's flags under `rules`."""
    is_call = record["type"] == "call"
    handled_set = rules.answered if is_call else rules.conversation_handled
    abandoned_set = rules.abandoned if is_call else rules.conversation_abandoned
    handled = record["disposition"] in handled_set
    abandoned = record["disposition"] in abandoned_set
    queue = _duration(record, "queue")
    tags = set(record.get("tags") or [])
    return Contact(
        record=record,
        channel=record["type"],
        direction=record["subtype"] if is_call else "inbound",
        handled=handled,
        abandoned=abandoned,
        short_abandoned=abandoned and queue <= rules.short_abandon_seconds,
        within=handled and queue <= rules.service_level_seconds,
        transferred=handled and bool(tags & set(rules.transfer_tags)),
        agent_hung_up_first=handled and is_call and record["data"].get("end_reason") == "agent",
    )


def _queue_figures(contacts: list[Contact]) -> dict[str, Any]:
    """The counts, rates and averages queue rows share (interval and day)."""
    handled = [c for c in contacts if c.handled]
    abandoned = [c for c in contacts if c.abandoned]
    short = sum(c.short_abandoned for c in contacts)
    within = sum(c.within for c in contacts)
    offered = len(contacts)
    return {
        "queue_name": contacts[0].record["data"]["queue"]["name"],
        "offered": offered,
        "abandoned": len(abandoned),
        "short_abandoned": short,
        "answered_within_service_level": within,
        "service_level": _ratio(within, offered - short),
        "abandonment_rate": _ratio(len(abandoned) - short, offered - short),
        "average_speed_of_answer_seconds": _mean([_duration(c.record, "queue") for c in handled]),
        "average_abandon_time_seconds": _mean([_duration(c.record, "queue") for c in abandoned]),
        "average_handle_time_seconds": _mean([_handle(c.record) for c in handled]),
        "transferred_out": sum(c.transferred for c in contacts),
        "agent_hung_up_first": sum(c.agent_hung_up_first for c in contacts),
    }


def queue_interval(
    records: list[dict[str, Any]], rules: Definitions
) -> dict[tuple[str, ...], dict[str, Any]]:
    """KPIs per (interval start UTC, queue id, channel, direction), over queued contacts."""
    seconds = rules.interval_minutes * 60
    groups: dict[tuple[str, ...], list[Contact]] = defaultdict(list)
    local_start: dict[str, str] = {}
    for record in records:
        if record["type"] in ("call", "conversation") and record["data"].get("queue"):
            item = contact(record, rules)
            utc, local = interval_of(record["started_at"], rules)
            local_start[utc] = local
            key = (utc, str(record["data"]["queue"]["id"]), item.channel, item.direction)
            groups[key].append(item)
    result = {}
    for key, contacts in groups.items():
        figures = _queue_figures(contacts)
        handled = [c for c in contacts if c.handled]
        aht = figures["average_handle_time_seconds"]
        waits = [_duration(c.record, "queue") for c in contacts]
        for within in CURVE_SECONDS:
            figures[f"handled_within_{within}_seconds"] = sum(
                c.handled and _duration(c.record, "queue") <= within for c in contacts
            )
            figures[f"abandoned_within_{within}_seconds"] = sum(
                c.abandoned and _duration(c.record, "queue") <= within for c in contacts
            )
        figures.update(
            interval_start_local=local_start[key[0]],
            handled=len(handled),
            median_wait_seconds=percentile(waits, 0.5),
            p90_wait_seconds=percentile(waits, 0.9),
            longest_wait_seconds=max(waits),
            agents_handling=len({c.record["user"]["id"] for c in handled if c.record["user"]}),
            traffic_erlangs=sum(_handle(c.record) for c in handled) / seconds,
            required_agents=None
            if aht is None
            else erlang_c_required_agents(
                len(contacts) - figures["short_abandoned"],
                aht,
                seconds,
                rules.service_level_seconds,
                rules.service_level_target,
            ),
        )
        result[key] = figures
    return result


def agent_interval(
    records: list[dict[str, Any]], rules: Definitions
) -> dict[tuple[str, ...], dict[str, Any]]:
    """Per (interval start UTC, agent id), over the contacts the agent handled."""
    groups: dict[tuple[str, ...], list[Contact]] = defaultdict(list)
    local_start: dict[str, str] = {}
    for record in records:
        if record["type"] in ("call", "conversation") and record["user"]:
            item = contact(record, rules)
            if item.handled:
                utc, local = interval_of(record["started_at"], rules)
                local_start[utc] = local
                groups[utc, record["user"]["id"]].append(item)
    result = {}
    for key, contacts in groups.items():
        handle = sum(_handle(c.record) for c in contacts)
        result[key] = {
            "interval_start_local": local_start[key[0]],
            "agent_name": contacts[0].record["user"]["name"],
            "handled": len(contacts),
            "talk_seconds": sum(_duration(c.record, "talk") for c in contacts),
            "hold_seconds": sum(_duration(c.record, "hold") for c in contacts),
            "handle_seconds": handle,
            "transferred_out": sum(c.transferred for c in contacts),
            "agent_hung_up_first": sum(c.agent_hung_up_first for c in contacts),
            "busy_share": handle / (rules.interval_minutes * 60),
        }
    return result


def repeat_contact_ids(records: list[dict[str, Any]], rules: Definitions) -> set[str]:
    """Answered inbound calls whose number calls in again after they ended, in the window."""
    inbound = [r for r in records if r["type"] == "call" and r["subtype"] == "inbound"]
    starts: dict[str, list[datetime]] = defaultdict(list)
    for call in inbound:
        number = (call.get("from") or {}).get("phone_number")
        if number:
            starts[number].append(moment(call["started_at"]))
    window = timedelta(hours=rules.repeat_window_hours)
    repeats = set()
    for call in inbound:
        number = (call.get("from") or {}).get("phone_number")
        if call["disposition"] in rules.answered and number and call["ended_at"]:
            ended = moment(call["ended_at"])
            if any(ended < start <= ended + window for start in starts[number]):
                repeats.add(call["id"])
    return repeats


def queue_daily(
    records: list[dict[str, Any]], rules: Definitions
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """KPIs per (local day, queue id, direction), over calls that went through a queue."""
    return _queue_periods(records, rules, lambda day: day)


def queue_weekly(
    records: list[dict[str, Any]], rules: Definitions
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """KPIs per (the Monday of the local day's week, queue id, direction)."""
    return _queue_periods(records, rules, lambda day: day - timedelta(days=day.weekday()))


def _queue_periods(
    records: list[dict[str, Any]], rules: Definitions, period_of: Callable[[date], date]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    groups: dict[tuple[str, str, str], list[Contact]] = defaultdict(list)
    for record in records:
        if record["type"] == "call" and record["data"].get("queue"):
            period = period_of(local_date(record["started_at"], rules.timezone)).isoformat()
            groups[period, str(record["data"]["queue"]["id"]), record["subtype"]].append(
                contact(record, rules)
            )
    repeats = repeat_contact_ids(records, rules)
    result = {}
    for key, contacts in groups.items():
        calls = [c.record for c in contacts]
        answered = sum(c.handled for c in contacts)
        repeat = sum(c.record["id"] in repeats for c in contacts)
        inbound = key[2] == "inbound"
        result[key] = {
            **_queue_figures(contacts),
            "answered": answered,
            "answer_rate": answered / len(calls),
            "repeat_contacts": repeat if inbound else None,
            "first_contact_resolution_rate": (
                1 - repeat / answered if inbound and answered else None
            ),
            "talk_seconds": sum(_duration(c, "talk") for c in calls),
            "hold_seconds": sum(_duration(c, "hold") for c in calls),
            "cost": sum(c["cost"] or 0 for c in calls),
        }
    return result


def agent_daily(
    records: list[dict[str, Any]], rules: Definitions
) -> dict[tuple[str, str], dict[str, Any]]:
    """KPIs per (local day, agent id), over the agent's calls and conversations."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record["type"] in ("call", "conversation") and record["user"]:
            day = local_date(record["started_at"], rules.timezone).isoformat()
            groups[day, record["user"]["id"]].append(record)
    result = {}
    for key, cdrs in groups.items():
        calls = [r for r in cdrs if r["type"] == "call"]
        conversations = [r for r in cdrs if r["type"] == "conversation"]
        answered = [c for c in calls if c["disposition"] in rules.answered]
        slas = [
            (conversation["data"].get("service_level_agreements") or {}).get(name) or {}
            for conversation in conversations
            for name in SLAS
        ]
        result[key] = {
            "agent_name": cdrs[0]["user"]["name"],
            "calls": len(calls),
            "answered_calls": len(answered),
            "conversations": len(conversations),
            "talk_seconds": sum(_duration(c, "talk") for c in calls),
            "hold_seconds": sum(_duration(c, "hold") for c in calls),
            "average_handle_time_seconds": _mean([_handle(c) for c in answered]),
            "average_mos": _mean(
                [c["data"]["mos"] for c in calls if c["data"].get("mos") is not None]
            ),
            "average_conversation_score": _mean(
                [
                    c["data"]["conversation_score"]
                    for c in calls
                    if c["data"].get("conversation_score") is not None
                ]
            ),
            "sla_breaches": sum(sla.get("status") == "breached" for sla in slas),
            "cost": sum(r["cost"] or 0 for r in cdrs),
        }
    return result


def agent_queue_daily(
    records: list[dict[str, Any]], rules: Definitions
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Per (local day, agent id, queue id or None), over the contacts the agent handled."""
    groups: dict[tuple[str, str, str], list[Contact]] = defaultdict(list)
    for record in records:
        if record["type"] in ("call", "conversation") and record["user"]:
            item = contact(record, rules)
            if item.handled:
                day = local_date(record["started_at"], rules.timezone).isoformat()
                queue = record["data"].get("queue")
                key = (day, record["user"]["id"], str(queue["id"]) if queue else "None")
                groups[key].append(item)
    repeats = repeat_contact_ids(records, rules)
    result = {}
    for key, contacts in groups.items():
        queue = contacts[0].record["data"].get("queue")
        result[key] = {
            "agent_name": contacts[0].record["user"]["name"],
            "queue_name": queue["name"] if queue else None,
            "handled": len(contacts),
            "talk_seconds": sum(_duration(c.record, "talk") for c in contacts),
            "hold_seconds": sum(_duration(c.record, "hold") for c in contacts),
            "handle_seconds": sum(_handle(c.record) for c in contacts),
            "transferred_out": sum(c.transferred for c in contacts),
            "repeat_contacts": sum(c.record["id"] in repeats for c in contacts),
        }
    return result
