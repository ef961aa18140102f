"""Voiso's directory beside the CDRs: users, campaigns and queues (`/api/v4/...`).

Written from `shared/reference/voiso-v4-directory-api.md`. The directory is derived
from the data set's CDRs, read once (on the first directory request or accessor call,
so a CDR-only run never pays for it), through `Dataset.record` and only the fields the
reference gives a CDR: `user` {id, name, email, deleted}, `data.queue` and
`data.campaign` {id, name, deleted}. Whatever data profile builds the CDRs, then:

- every CDR agent is a directory user with the CDR's `user.id` and `user.email`, and
  every queue and campaign a CDR names is in the directory with its id and name;
- **deleted**: an object is deleted iff the latest CDR (by `started_at`) that names it
  says `deleted: true`. Deleted objects are not listed, and answer 404 by id;
- beside them, objects no CDR names: supervisors and admins (users), queues and
  campaigns nobody has used yet;
- teams (there is no teams endpoint) exist as users' `teams` and `supervised_teams`:
  4 to 8 of them, each agent in one (some in two, a few in none), supervisors
  supervising one or two.

Lists are ordered by creation, newest first, so an object created while a client pages
(`SimConfig.list_churn`) shifts every later offset by one. The ground truth a test
checks a client against: `listed_throughout`, `listed_now`, `ever_listed`, `members`,
`queue_ids_in_cdrs`, `deleted_queue_ids`.
"""

from __future__ import annotations

import json
import random
import re
import threading
import uuid
from collections.abc import Hashable
from typing import Any
from urllib.parse import parse_qsl

from voiso_simulator.config import (
    CAMPAIGNS_SCOPE,
    QUEUES_SCOPE,
    USERS_SCOPE,
    ApiError,
    SimConfig,
    int_param,
)
from voiso_simulator.data import Dataset, iso_ms, parse_iso

RESOURCES = ("users", "campaigns", "queues")
DIRECTORY_MAX_LIMIT = 100
DAY_MS = 86_400_000
TEAM_NAMES = [
    "Tier 1 Support",
    "Tier 2 Support",
    "Sales EMEA",
    "Sales Americas",
    "Billing",
    "Retention",
    "Night Shift",
    "VIP Desk",
]
STAFF = [
    ("Supervisor", "Marta Novak"),
    ("Supervisor", "Kwame Mensah"),
    ("Supervisor", "Elena Rossi"),
    ("Admin", "Priya Natarajan"),
    ("Admin", "Tomás Silva"),
]
ACCESS_GROUPS = {"Agent": 1, "Supervisor": 2, "Admin": 3}
TIMEZONES = ["Europe/London", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"]
QUEUE_STRATEGIES = ["ring_all", "round_robin", "longest_idle", "fewest_calls"]
CAMPAIGN_STATUSES = ["active", "paused", "completed", "stopped", "draft"]
SPARE_QUEUES = ["Escalations", "Partners"]
SPARE_CAMPAIGNS = ["Winback Q3", "Survey Follow-up"]
NOT_FOUND = {"error": "Not found"}
LIST_PATHS = {
    "/api/v4/users": ("users", USERS_SCOPE),
    "/api/v4/campaigns": ("campaigns", CAMPAIGNS_SCOPE),
    "/api/v4/routing/queues": ("queues", QUEUES_SCOPE),
}
QUEUE_PATH = re.compile(r"/api/v4/routing/queues/(\d+)(?:/(users|supervisors))?")
CAMPAIGN_PATH = re.compile(r"/api/v4/campaigns/(\d+)")
# Numeric CDR user ids (`SimConfig.foreign_user_ids`) start here.
FOREIGN_ID_BASE = 7000

Id = Hashable


class Directory:
    """The directory's objects, which of them are deleted, and the lists' history."""

    def __init__(self, dataset: Dataset, extra_users: int = 0, extra_queues: int = 0) -> None:
        self.lock = threading.Lock()
        self._rng = random.Random(f"directory:{dataset.spec.seed}")
        self.objects: dict[str, dict[Id, dict[str, Any]]] = {r: {} for r in RESOURCES}
        self.created: dict[str, dict[Id, int]] = {r: {} for r in RESOURCES}  # epoch ms
        self.deleted: dict[str, set[Id]] = {r: set() for r in RESOURCES}
        self.queue_agents: dict[int, set[str]] = {}
        self.queue_supervisors: dict[int, set[str]] = {}
        self._in_cdrs: dict[str, set[Id]] = {r: set() for r in RESOURCES}
        self._first: dict[str, set[Id]] = {}  # listed at each list's first request
        self._ever: dict[str, set[Id]] = {}
        self._list_pages = 0
        self._made = 0  # objects created by churn
        self.foreign_ids: dict[str, str] = {}  # directory user id -> the id CDRs carry
        self._extra = (extra_users, extra_queues)
        self._extra_agents: set[Id] = set()
        self._build(dataset)

    # -- building from the CDRs ----------------------------------------------------

    def _build(self, dataset: Dataset) -> None:
        latest: dict[str, dict[Id, tuple[tuple[str, int], dict[str, Any]]]] = {
            r: {} for r in RESOURCES
        }
        first: dict[str, dict[Id, str]] = {r: {} for r in RESOURCES}
        handled: dict[int, set[str]] = {}
        begin = iso_ms(parse_iso(dataset.spec.start))
        for pos in range(len(dataset)):
            record = dataset.record(pos)
            when = record.get("started_at") or begin
            named = {"users": record.get("user")}
            data = record.get("data")
            if isinstance(data, dict):
                named["queues"] = data.get("queue")
                named["campaigns"] = data.get("campaign")
            for resource, obj in named.items():
                if not isinstance(obj, dict) or obj.get("id") is None:
                    continue
                key = obj["id"]
                seen = latest[resource].get(key)
                if seen is None or seen[0] <= (when, pos):
                    latest[resource][key] = ((when, pos), obj)
                first[resource].setdefault(key, when)
                first[resource][key] = min(first[resource][key], when)
            user = named["users"] if isinstance(named["users"], dict) else {}
            queue = named.get("queues") if isinstance(named.get("queues"), dict) else {}
            if user.get("id") is not None and queue.get("id") is not None:
                handled.setdefault(queue["id"], set()).add(user["id"])
        start_ms = parse_iso(begin)
        for resource in RESOURCES:
            for key, ((_, _), obj) in latest[resource].items():
                created = parse_iso(first[resource][key]) - self._rng.randrange(1, 60) * DAY_MS
                self._add(resource, key, obj, created)
                self._in_cdrs[resource].add(key)
                if obj.get("deleted"):
                    self.deleted[resource].add(key)
        self._add_staff(start_ms)
        self._add_large_center(start_ms)
        for n, name in enumerate(SPARE_QUEUES):
            self._add("queues", self._next_id("queues"), {"name": name}, start_ms + n * DAY_MS)
        for n, name in enumerate(SPARE_CAMPAIGNS):
            self._add("campaigns", self._next_id("campaigns"), {"name": name}, start_ms - n)
        self._assign_teams()
        self._assign_queues(handled)
        self._foreign()

    def _next_id(self, resource: str) -> int:
        ids = [k for k in self.objects[resource] if isinstance(k, int)]
        return max(ids, default=0) + 1

    def _add(self, resource: str, key: Id, seen: dict[str, Any], created: int) -> None:
        build = {"users": self._user, "campaigns": self._campaign, "queues": self._queue}
        self.objects[resource][key] = build[resource](key, seen, created)
        self.created[resource][key] = created

    def _add_staff(self, start_ms: int) -> None:
        for n, (role, name) in enumerate(STAFF):
            key = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            email = f"{name.split()[0].lower()}.{n}@example.com"
            self._add("users", key, {"name": name, "email": email, "role": role}, start_ms - n)

    def _add_large_center(self, start_ms: int) -> None:
        """`extra_users` agents no CDR names yet, and `extra_queues` queues they work."""
        users, queues = self._extra
        for n in range(users):
            key = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            email = f"agent.{n}@example.com"
            self._add("users", key, {"name": f"Agent {n}", "email": email}, start_ms - n)
            self._extra_agents.add(key)  # an agent: teams and queues as any other
        for n in range(queues):
            name = f"Queue {n}"
            self._add("queues", self._next_id("queues"), {"name": name}, start_ms - n)

    def _user(self, key: Id, seen: dict[str, Any], _created: int) -> dict[str, Any]:
        rng = self._rng
        n = len(self.objects["users"])
        role = seen.get("role", "Agent")
        name = seen.get("name") or f"Agent {key}"
        local = str(seen.get("email") or f"agent{n}@example.com").split("@")[0].lower()
        return {
            "id": key,
            "name": name,
            "email": seen.get("email"),
            "sip_account": None if role == "Admin" else f"{local}@sim.voiso.com",
            "extension": None if n % 5 == 3 else str(100 + n),
            "caller_id": None if n % 4 == 2 else f"1555{rng.randrange(10**7):07d}",
            "employee_id": None if n % 3 == 2 else f"E{10000 + n}",
            "timezone": TIMEZONES[n % len(TIMEZONES)],
            "security_access_group": {"id": ACCESS_GROUPS[role], "name": role},
            "teams": [],
            "supervised_teams": [],
        }

    def _campaign(self, key: Id, seen: dict[str, Any], created: int) -> dict[str, Any]:
        rng = self._rng
        predictive = rng.random() < 0.5
        return {
            "id": key,
            "name": seen.get("name") or f"Campaign {key}",
            "status": rng.choice(CAMPAIGN_STATUSES),
            "strategy": "predictive_ai" if predictive else "simple",
            "dial_level": round(rng.uniform(1.2, 3.0), 1) if predictive else 1,
            "max_dial_time": rng.choice([20, 30, 45]),
            "max_wait_time": rng.choice([5, 10, 30]),
            "max_dial_attempts": rng.randrange(1, 6),
            "amd_enabled": predictive,
            "amd_voicemail_message": {
                "enabled": predictive,
                "voice_message": {"type": "tts", "name": "Voicemail greeting"}
                if predictive
                else None,
            },
            "caller_id_sets": [{"phone_numbers": [f"1555{rng.randrange(10**7):07d}"]}],
            "follow_up_mode": rng.choice(["none", "callback", "retry"]),
            "created_at": iso_ms(created),
            "updated_at": iso_ms(created + rng.randrange(DAY_MS)),
        }

    def _queue(self, key: Id, seen: dict[str, Any], _created: int) -> dict[str, Any]:
        rng = self._rng
        return {
            "id": key,
            "name": seen.get("name") or f"Queue {key}",
            "extension": str(800 + len(self.objects["queues"])),
            "strategy": rng.choice(QUEUE_STRATEGIES),
            "music_on_hold": {"type": "default", "name": "Default"},
            "in_queue_announcement": {
                "interval": rng.choice([30, 60]),
                "voice_message": {"type": "tts", "name": "Please hold"},
                "announce_position": rng.random() < 0.5,
                "announce_wait_time": rng.random() < 0.5,
            },
            "failover_destination": {
                "type": "voicemail",
                "wait_time": rng.choice([120, 300]),
                "destination": "General voicemail",
            },
            "callback": {
                "wait_time": 60,
                "caller_id_group": {"id": 1, "name": "Main lines"},
                "offer_voice_message": None,
                "confirmation_voice_message": None,
            },
            "post_call_rating": {"enabled": rng.random() < 0.5, "ivr": None},
        }

    def _assign_teams(self) -> None:
        users = self.objects["users"]
        agents = sorted(self._in_cdrs["users"] | self._extra_agents, key=str)
        count = min(len(TEAM_NAMES), max(4, len(agents) // 4))
        teams = [{"id": n + 1, "name": TEAM_NAMES[n]} for n in range(count)]
        for n, key in enumerate(agents):
            if n % 7 == 5:
                continue  # in no team
            users[key]["teams"].append(dict(teams[n % count]))
            if n % 4 == 1:
                users[key]["teams"].append(dict(teams[(n + 1) % count]))
        for n, key in enumerate(self._supervisors()):
            watched = {n % count, (n + count // 2) % count} if n % 2 == 0 else {n % count}
            users[key]["supervised_teams"] = [dict(teams[t]) for t in sorted(watched)]

    def _assign_queues(self, handled: dict[int, set[str]]) -> None:
        agents = sorted(self._in_cdrs["users"] | self._extra_agents, key=str)
        supervisors = self._supervisors()
        for n, key in enumerate(sorted(self.objects["queues"])):
            members = handled.get(key) or set(agents[n % max(1, len(agents)) :][:2])
            self.queue_agents[key] = set(members)
            self.queue_supervisors[key] = set(supervisors[n % max(1, len(supervisors)) :][:1])

    def _supervisors(self) -> list[str]:
        users = self.objects["users"].items()
        return [k for k, u in users if u["security_access_group"]["name"] == "Supervisor"]

    def _foreign(self) -> None:
        taken = {str(k) for k in self.objects["users"]}
        number = FOREIGN_ID_BASE
        for key in sorted(self._in_cdrs["users"]):
            while str(number) in taken:
                number += 1
            self.foreign_ids[key] = str(number)
            number += 1

    # -- what CDRs carry under `foreign_user_ids` ------------------------------------

    def foreign_user(self, user: dict[str, Any]) -> dict[str, Any]:
        """A CDR's `user` as it reads when CDR ids are not the directory's: a numeric id,
        the same e-mail with its case changed on every other user."""
        key = user.get("id")
        foreign = self.foreign_ids.get(key)
        if foreign is None:
            return user
        email = user.get("email")
        if isinstance(email, str) and int(foreign) % 2 == 0:
            local, _, domain = email.partition("@")
            email = f"{local[:1].upper()}{local[1:]}@{domain.upper()}"
        return {**user, "id": foreign, "email": email}

    # -- listing ---------------------------------------------------------------------

    def _order(self, resource: str) -> list[Id]:
        created = self.created[resource]
        alive = [k for k in self.objects[resource] if k not in self.deleted[resource]]
        return sorted(alive, key=lambda k: (-created[k], str(k)))

    def list_page(
        self, resource: str, offset: int, limit: int, churn_every: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of a list (the objects and the list's total), after any churn."""
        with self.lock:
            if resource not in self._first:
                self._first[resource] = set(self._order(resource))
                self._ever[resource] = set(self._first[resource])
            self._list_pages += 1
            if churn_every and self._list_pages % churn_every == 0:
                self._churn(resource)
            order = self._order(resource)
            return [_copy(self.objects[resource][k]) for k in order[offset : offset + limit]], len(
                order
            )

    def _churn(self, resource: str) -> None:
        """One object created at the front of the order, one listed object deleted."""
        listed = self._order(resource)
        if listed:
            self.deleted[resource].add(listed[self._rng.randrange(len(listed))])
        self._made += 1
        newest = max(self.created[resource].values(), default=0) + 1000
        if resource == "users":
            key: Id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            seen = {"name": f"New Agent {self._made}", "email": f"new{self._made}@example.com"}
        else:
            key = self._next_id(resource)
            seen = {"name": f"New {resource[:-1].title()} {self._made}"}
        self._add(resource, key, seen, newest)
        self._ever[resource].add(key)

    def get(self, resource: str, key: Id) -> dict[str, Any] | None:
        """A listed object by id, None when unknown or deleted."""
        with self.lock:
            if key not in self.objects[resource] or key in self.deleted[resource]:
                return None
            return _copy(self.objects[resource][key])

    def queue_members(
        self, queue_id: int, role: str, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int] | None:
        """A page of a queue's agents (`role` "agent") or supervisors; None: no such queue."""
        with self.lock:
            if queue_id not in self.objects["queues"] or queue_id in self.deleted["queues"]:
                return None
            wanted = self._members(queue_id)[role]
            order = [k for k in self._order("users") if k in wanted]
            users = self.objects["users"]
            return [_copy(users[k]) for k in order[offset : offset + limit]], len(order)

    def _members(self, queue_id: int) -> dict[str, set[str]]:
        alive = set(self.objects["users"]) - self.deleted["users"]
        return {
            "agent": self.queue_agents.get(queue_id, set()) & alive,
            "supervisor": self.queue_supervisors.get(queue_id, set()) & alive,
        }

    # -- ground truth for tests --------------------------------------------------------

    def listed_now(self, resource: str) -> set[Id]:
        """The ids the list holds now."""
        with self.lock:
            return set(self._order(resource))

    def listed_throughout(self, resource: str) -> set[Id]:
        """The ids listed from the list's first request to now (none created or deleted
        in between): what a client that read the whole list must have seen."""
        with self.lock:
            now = set(self._order(resource))
            return now if resource not in self._first else self._first[resource] & now

    def ever_listed(self, resource: str) -> set[Id]:
        """Every id the list held at any time since its first request."""
        with self.lock:
            now = set(self._order(resource))
            return now | self._ever.get(resource, set())

    def members(self, queue_id: int) -> dict[str, set[str]]:
        """A queue's listed agents and supervisors: {"agent": ids, "supervisor": ids}."""
        with self.lock:
            return self._members(queue_id)

    def queue_ids_in_cdrs(self) -> set[int]:
        """Every queue id a CDR names, deleted queues included."""
        return set(self._in_cdrs["queues"])

    def deleted_queue_ids(self) -> set[int]:
        """The queues that are deleted now (by their latest CDR, or by churn)."""
        with self.lock:
            return set(self.deleted["queues"])


class Request:
    """A directory request: which list or object, and the scope it needs."""

    def __init__(self, resource: str, view: str, scope: str, key: int | None = None) -> None:
        self.resource = resource
        self.view = view  # "list", "one", "users" or "supervisors" (a queue's members)
        self.scope = scope
        self.key = key


def match(path: str) -> Request | None:
    """The directory request `path` names, None when it names none."""
    if path in LIST_PATHS:
        resource, scope = LIST_PATHS[path]
        return Request(resource, "list", scope)
    found = QUEUE_PATH.fullmatch(path)
    if found:
        return Request("queues", found.group(2) or "one", QUEUES_SCOPE, int(found.group(1)))
    found = CAMPAIGN_PATH.fullmatch(path)
    if found:
        return Request("campaigns", "one", CAMPAIGNS_SCOPE, int(found.group(1)))
    return None


def paging(raw_query: str, allowed: bool = True) -> tuple[int, int]:
    """`(offset, limit)` of a list request; 422 for a bad value or any other parameter."""
    errors: dict[str, list[str]] = {}
    given: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        if allowed and name in ("limit", "offset"):
            given[name] = value
        else:
            errors.setdefault(name, []).append("is not a permitted parameter")
    limit = int_param(given.get("limit", "100"), "limit", 1, DIRECTORY_MAX_LIMIT, errors)
    offset = int_param(given.get("offset", "0"), "offset", 0, None, errors)
    if errors:
        raise ApiError(422, {"errors": errors})
    return offset, limit


def respond(
    directory: Directory, config: SimConfig, request: Request, raw_query: str
) -> dict[str, Any]:
    """The JSON body of a directory request (ApiError for a 404, a 422 or a 503)."""
    if request.resource in config.absent_endpoints:
        raise ApiError(404, NOT_FOUND)
    if request.view == "list" and request.resource in config.failing_lists:
        raise ApiError(503, {"error": "Service Unavailable"})
    if request.view == "list" and request.resource == "queues" and not config.queue_list:
        raise ApiError(404, NOT_FOUND)
    payload = _respond(directory, config, request, raw_query)
    if config.directory_new_fields or config.directory_other_types:
        array = next(key for key in payload if key != "metadata")
        resource = "users" if array in ("users", "user") else request.resource
        items = payload[array] if isinstance(payload[array], list) else [payload[array]]
        for item in items:
            served(resource, item, config)
    return payload


def _respond(
    directory: Directory, config: SimConfig, request: Request, raw_query: str
) -> dict[str, Any]:
    if request.view == "one":
        paging(raw_query, allowed=False)
        found = directory.get(request.resource, request.key)
        if found is None:
            raise ApiError(404, NOT_FOUND)
        if request.resource == "campaigns":
            found.update(CAMPAIGN_DETAILS)
        return {request.resource[:-1]: found}
    offset, limit = paging(raw_query)
    if request.view == "list":
        items, total = directory.list_page(request.resource, offset, limit, config.list_churn)
        array = request.resource
    else:
        role = "agent" if request.view == "users" else "supervisor"
        members = directory.queue_members(request.key or 0, role, offset, limit)
        if members is None:
            raise ApiError(404, NOT_FOUND)
        items, total = members
        array = "users"
    return {array: items, "metadata": {"total": total} if config.directory_total else {}}


def served(resource: str, obj: dict[str, Any], config: SimConfig) -> None:
    """`obj` (a copy) as a cluster serves it that the reference leaves open, in place.

    `directory_new_fields`: fields the tap does not declare, at the top level, nested in
    an object and in an array's objects. `directory_other_types`: values of another JSON
    type than the reference shows, some numbers sent as strings (which a client can turn
    back), some strings sent as numbers (which it cannot know to).
    """
    if config.directory_new_fields:
        if resource == "users":
            obj["skills"] = [{"name": "billing", "level": 3}, {"name": "spanish", "level": 2}]
            if isinstance(obj.get("security_access_group"), dict):
                obj["security_access_group"]["permissions"] = ["reports.view", "calls.listen"]
            for team in obj.get("teams") or []:
                team["joined_at"] = "2025-11-03T09:00:00.000Z"
        elif resource == "campaigns":
            obj["dialer_stats"] = {"dialed_today": 412, "connected_today": 97, "rates": [0.24]}
            for caller_ids in obj.get("caller_id_sets") or []:
                caller_ids["label"] = "Main lines"
        else:
            obj["sla_threshold_seconds"] = 20
            if isinstance(obj.get("callback"), dict):
                obj["callback"]["max_callbacks"] = 5
            obj["music_on_hold"] = {**(obj.get("music_on_hold") or {}), "file": {"seconds": 30}}
    if config.directory_other_types:
        if resource in ("users", "queues") and isinstance(obj.get("extension"), str):
            obj["extension"] = int(obj["extension"])
        if resource == "campaigns":
            obj["dial_level"] = str(obj["dial_level"])
            obj["max_dial_time"] = str(obj["max_dial_time"])
        if resource == "queues":
            obj["id"] = str(obj["id"])
            announcement = obj.get("in_queue_announcement")
            if isinstance(announcement, dict):
                announcement["interval"] = str(announcement["interval"])


# What `GET /api/v4/campaigns/{id}` adds to a listed campaign.
CAMPAIGN_DETAILS: dict[str, Any] = {
    "dial_level_override": {"enabled": False, "value": None, "active_agents_threshold": None},
    "use_local_caller_id": False,
    "asr_optimization_enabled": False,
}


def _copy(obj: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(obj))
    return copied
