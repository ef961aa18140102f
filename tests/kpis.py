"""Contact-center KPIs computed in plain Python from CDRs as the API serves them.

The ground truth for dbt_voiso's `voiso__queue_daily` and `voiso__agent_daily`: the same
definitions (see the package's schema.yml), written independently of its SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

SLAS = ("first_response", "resolution", "avg_reply")


@dataclass(frozen=True)
class Definitions:
    """The package's vars, at their documented defaults unless given."""

    timezone: str = "UTC"
    answered: tuple[str, ...] = ("answered",)
    abandoned: tuple[str, ...] = ("abandoned",)
    service_level_seconds: float = 20


def local_date(started_at: str, timezone: str) -> date:
    """The contact center's day of a CDR's start."""
    moment = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    return moment.astimezone(ZoneInfo(timezone)).date()


def _mean(values: list[float]) -> float | None:
    return fmean(values) if values else None


def _duration(record: dict[str, Any], name: str) -> float:
    return record["data"].get("durations", {}).get(name) or 0


def queue_daily(
    records: list[dict[str, Any]], rules: Definitions
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """KPIs per (local day, queue id, direction), over calls that went through a queue."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record["type"] == "call" and record["data"].get("queue"):
            day = local_date(record["started_at"], rules.timezone).isoformat()
            groups[day, str(record["data"]["queue"]["id"]), record["subtype"]].append(record)
    result = {}
    for key, calls in groups.items():
        answered = [c for c in calls if c["disposition"] in rules.answered]
        abandoned = [c for c in calls if c["disposition"] in rules.abandoned]
        within = [c for c in answered if _duration(c, "queue") <= rules.service_level_seconds]
        offered = len(calls)
        result[key] = {
            "queue_name": calls[0]["data"]["queue"]["name"],
            "offered": offered,
            "answered": len(answered),
            "abandoned": len(abandoned),
            "answered_within_service_level": len(within),
            "answer_rate": len(answered) / offered,
            "abandonment_rate": len(abandoned) / offered,
            "service_level": len(within) / offered,
            "average_speed_of_answer_seconds": _mean([_duration(c, "queue") for c in answered]),
            "average_handle_time_seconds": _mean(
                [_duration(c, "talk") + _duration(c, "hold") for c in answered]
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
            "average_handle_time_seconds": _mean(
                [_duration(c, "talk") + _duration(c, "hold") for c in answered]
            ),
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
