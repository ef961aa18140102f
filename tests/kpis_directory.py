"""dbt_voiso's directory models computed in plain Python: the ground truth for
`voiso__agents`, `voiso__agent_teams`, `voiso__team_daily` and `voiso__campaign_daily`.

From the CDRs as the API serves them and the directory objects as the API lists them
(nothing when the key lacks the scopes), written independently of the package's SQL
(its definitions: dbt_voiso/models/marts/directory/_voiso__directory_models.yml).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from statistics import fmean
from typing import Any

from tests.kpis import Definitions, _duration, local_date

Row = dict[str, Any]


def _normal(email: Any) -> str | None:
    return email.strip().lower() if isinstance(email, str) else None


def _latest(records: list[Row]) -> Row:
    """The record that started last (ties: the largest id)."""
    return max(records, key=lambda r: (datetime.fromisoformat(r["started_at"]), r["id"]))


def cdr_agents(records: list[Row]) -> dict[str, dict[str, Any]]:
    """Each CDR agent (a distinct `user.id`): its latest CDR's user and its CDR count."""
    by_agent: dict[str, list[Row]] = defaultdict(list)
    for record in records:
        user = record.get("user")
        if isinstance(user, dict) and user.get("id") is not None:
            by_agent[str(user["id"])].append(record)
    return {agent: {**_latest(cdrs)["user"], "cdrs": len(cdrs)} for agent, cdrs in by_agent.items()}


def matches(records: list[Row], users: list[Row]) -> dict[str, tuple[str, str]]:
    """CDR agent id -> (user id, "id" or "email"), for the agents that match a user."""
    ids = {str(u["id"]) for u in users}
    by_email: dict[str, str] = {}
    for user in users:
        email = _normal(user.get("email"))
        if email is not None:
            by_email[email] = min(by_email.get(email, str(user["id"])), str(user["id"]))
    found = {}
    for agent, seen in cdr_agents(records).items():
        if agent in ids:
            found[agent] = (agent, "id")
        elif _normal(seen.get("email")) in by_email:
            found[agent] = (by_email[_normal(seen["email"])], "email")
    return found


def match_rate(records: list[Row], users: list[Row]) -> float:
    return len(matches(records, users)) / len(cdr_agents(records))


def agents(records: list[Row], users: list[Row]) -> dict[tuple[str, str], Row]:
    """One row per (user id, CDR agent id): each user, each unmatched CDR agent."""
    agents_seen = cdr_agents(records)
    matched = matches(records, users)
    per_user: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for agent, (user_id, how) in matched.items():
        per_user[user_id].append((agent, how))
    result = {}
    for user in users:
        for agent, how in per_user.get(str(user["id"])) or [(None, None)]:
            seen = agents_seen.get(agent, {}) if agent else {}
            result[str(user["id"]), str(agent)] = {
                "name": user.get("name"),
                "email": user.get("email"),
                "timezone": user.get("timezone"),
                "matched_by": how,
                "security_access_group": (user.get("security_access_group") or {}).get("name"),
                "employee_id": user.get("employee_id"),
                "extension": user.get("extension"),
                "cdr_name": seen.get("name"),
                "cdr_email": seen.get("email"),
                "cdrs": seen.get("cdrs", 0),
            }
    for agent, seen in agents_seen.items():
        if agent not in matched:
            result["None", agent] = {
                "name": seen.get("name"),
                "email": seen.get("email"),
                "timezone": None,
                "matched_by": None,
                "security_access_group": None,
                "employee_id": None,
                "extension": None,
                "cdr_name": seen.get("name"),
                "cdr_email": seen.get("email"),
                "cdrs": seen["cdrs"],
            }
    return result


ROLES = {"teams": "member", "supervised_teams": "supervisor"}


def agent_teams(users: list[Row]) -> dict[tuple[str, str, str], Row]:
    """One row per (user id, team id, role) of the users' `teams` and `supervised_teams`."""
    result: dict[tuple[str, str, str], Row] = {}
    for user in users:
        for field, role in ROLES.items():
            for team in user.get(field) or []:
                if team.get("id") is None:
                    continue
                key = (str(user["id"]), str(team["id"]), role)
                names = [n for n in (team.get("name"), result.get(key, {}).get("team_name")) if n]
                result[key] = {
                    "name": user.get("name"),
                    "email": user.get("email"),
                    "team_name": max(names, default=None),
                }
    return result


def team_daily(
    records: list[Row], users: list[Row], rules: Definitions
) -> dict[tuple[str, str], Row]:
    """KPIs per (local day, team id): a contact once per team its agent is a member of;
    no agent, an unmatched agent or one in no team: team "None"."""
    matched = matches(records, users)
    teams = {
        key[:2]: row["team_name"] for key, row in agent_teams(users).items() if key[2] == "member"
    }
    member_of: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for (user_id, team_id), name in teams.items():
        member_of[user_id].append((team_id, name))
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    names: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record["type"] not in ("call", "conversation"):
            continue
        agent = str(record["user"]["id"]) if record.get("user") else None
        user_id = matched[agent][0] if agent in matched else None
        day = local_date(record["started_at"], rules.timezone).isoformat()
        for team_id, name in member_of.get(user_id or "") or [(None, None)]:
            groups[day, str(team_id)].append(record)
            if name:
                names[str(team_id)].add(name)
    result = {}
    for (day, team), contacts in groups.items():
        calls = [c for c in contacts if c["type"] == "call"]
        answered = [c for c in calls if c["disposition"] in rules.answered]
        handle = [_duration(c, "talk") + _duration(c, "hold") for c in answered]
        result[day, team] = {
            "team_name": max(names[team], default=None),
            "calls": len(calls),
            "answered_calls": len(answered),
            "conversations": len(contacts) - len(calls),
            "agents": len(
                {a for c in contacts if (a := (c.get("user") or {}).get("id")) is not None}
            ),
            "talk_seconds": sum(_duration(c, "talk") for c in calls),
            "hold_seconds": sum(_duration(c, "hold") for c in calls),
            "average_handle_time_seconds": fmean(handle) if handle else None,
        }
    return result


def campaign_daily(
    records: list[Row], campaigns: list[Row], rules: Definitions
) -> dict[tuple[str, str], Row]:
    """KPIs per (local day, campaign id) over the campaign's calls; name, status and
    strategy from the directory when it lists the campaign, else the latest call's name."""
    listed = {str(c["id"]): c for c in campaigns}
    calls = [
        r for r in records
        if r["type"] == "call" and (r["data"].get("campaign") or {}).get("id") is not None
    ]  # fmt: skip
    by_campaign: dict[str, list[Row]] = defaultdict(list)
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for call in calls:
        campaign = str(call["data"]["campaign"]["id"])
        by_campaign[campaign].append(call)
        groups[local_date(call["started_at"], rules.timezone).isoformat(), campaign].append(call)
    result = {}
    for (day, campaign), group in groups.items():
        directory = listed.get(campaign)
        connected = [c for c in group if c["disposition"] in rules.answered]
        abandoned = [c for c in group if c["disposition"] in rules.abandoned]
        handle = [_duration(c, "talk") + _duration(c, "hold") for c in connected]
        snapshot = _latest(by_campaign[campaign])["data"]["campaign"].get("name")
        result[day, campaign] = {
            "campaign_name": directory["name"] if directory else snapshot,
            "campaign_status": directory.get("status") if directory else None,
            "strategy": directory.get("strategy") if directory else None,
            "dial_attempts": len(group),
            "connected": len(connected),
            "connect_rate": len(connected) / len(group),
            "abandoned": len(abandoned),
            "abandon_rate": len(abandoned) / len(connected) if connected else None,
            "average_handle_time_seconds": fmean(handle) if handle else None,
            "talk_seconds": sum(_duration(c, "talk") for c in group),
            "cost": sum(c["cost"] or 0 for c in group),
        }
    return result


def campaign_queue_daily(
    records: list[Row], campaigns: list[Row], rules: Definitions
) -> dict[tuple[str, str, str], Row]:
    """Per (local day, campaign id, queue id or None): the campaign's calls by queue,
    named as `campaign_daily` names the campaign that day."""
    named = campaign_daily(records, campaigns, rules)
    groups: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for call in records:
        campaign = (call["data"].get("campaign") or {}).get("id")
        if call["type"] == "call" and campaign is not None:
            queue = call["data"].get("queue")
            day = local_date(call["started_at"], rules.timezone).isoformat()
            groups[day, str(campaign), str(queue["id"]) if queue else "None"].append(call)
    result = {}
    for (day, campaign, queue), group in groups.items():
        connected = sum(c["disposition"] in rules.answered for c in group)
        abandoned = sum(c["disposition"] in rules.abandoned for c in group)
        result[day, campaign, queue] = {
            "campaign_name": named[day, campaign]["campaign_name"],
            "queue_name": (group[0]["data"].get("queue") or {}).get("name"),
            "dial_attempts": len(group),
            "connected": connected,
            "connect_rate": connected / len(group),
            "abandoned": abandoned,
            "abandon_rate": abandoned / connected if connected else None,
        }
    return result
