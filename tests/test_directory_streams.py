"""The directory streams against the simulator's directory: every object listed, once.

users, campaigns, queues and queue_members, checked against what the simulator's
directory holds (`server.simulator.directory`): lists read whole while they change,
keys without a stream's scope, no queue list, a queue deleted since the CDRs named it,
one rate limit for every endpoint, and fields Voiso adds.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest

from benchmarks.directory import round_trips
from tests.conftest import (
    SHORT_END,
    assert_exactly_once,
    bookmark_of,
    catalog_selecting,
    parse_messages,
    run_cli,
    run_tap,
    tap_config,
)
from voiso_simulator import CDR_ONLY_KEY

DIRECTORY = ("users", "campaigns", "queues", "queue_members")
ALL = ("cdrs", *DIRECTORY)


def records_of(result, stream: str) -> list[dict]:
    return [m["record"] for m in result.messages if m["type"] == "RECORD" and m["stream"] == stream]


def cdrs_only(result):
    """The result with only the `cdrs` stream's messages (for `assert_exactly_once`)."""
    kept = [m for m in result.messages if m.get("stream", "cdrs") == "cdrs"]
    return type(result)(kept)


def run_all(server, streams=ALL, state=None, **overrides):
    config = tap_config(server, end_date=SHORT_END, **overrides)
    return run_tap(config, state=state, catalog=catalog_selecting(config, *streams))


def memberships(server, queue_ids) -> set[tuple[int, str, str]]:
    directory = server.simulator.directory
    return {
        (queue_id, user_id, role)
        for queue_id in queue_ids
        for role, users in directory.members(queue_id).items()
        for user_id in users
    }


@pytest.mark.parametrize("directory_total", [True, False])
def test_every_directory_object_comes_once_beside_the_cdrs(make_sim, directory_total):
    server = make_sim(
        records=3000, burst=0, extra_users=700, extra_queues=40, directory_total=directory_total
    )
    result = run_all(server)
    assert_exactly_once(cdrs_only(result), server)
    directory = server.simulator.directory
    for stream in ("users", "campaigns", "queues"):
        ids = Counter(record["id"] for record in records_of(result, stream))
        assert max(ids.values()) == 1, stream
        assert set(ids) == directory.listed_now(stream), stream
    members = Counter(
        (r["queue_id"], r["user_id"], r["role"]) for r in records_of(result, "queue_members")
    )
    assert max(members.values()) == 1
    assert set(members) == memberships(server, directory.listed_now("queues"))
    assert {r["role"] for r in records_of(result, "queue_members")} == {"agent", "supervisor"}
    # Teams come as listed, with the user.
    users = {r["id"]: r for r in records_of(result, "users")}
    assert any(u["teams"] for u in users.values())
    assert any(u["supervised_teams"] for u in users.values())
    # Every directory request asks for 100, the most these endpoints take (never
    # `page_size`), and none was refused.
    directory_queries = [
        parse_qs(urlsplit(path).query)
        for path in server.simulator.requests
        if "/reporting/cdrs" not in path
    ]
    assert directory_queries
    assert {q.get("limit", ["100"])[0] for q in directory_queries} <= {"100", "1"}
    assert 422 not in server.simulator.statuses
    # One SCHEMA per stream at least, and each directory stream read whole.
    assert {s["stream"] for s in result.schemas} >= set(ALL)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_list_that_changes_while_it_is_read_yields_every_object_listed_throughout_once(
    make_sim, seed
):
    # Every 3rd list page served, a user (or queue, or campaign) is created at the
    # front of its list and another deleted: every later offset shifts.
    server = make_sim(
        records=500, burst=0, extra_users=1500, extra_queues=30, list_churn=3, seed=seed
    )
    result = run_all(server, streams=("users", "campaigns", "queues"), concurrency=12)
    directory = server.simulator.directory
    for stream in ("users", "campaigns", "queues"):
        ids = Counter(record["id"] for record in records_of(result, stream))
        assert max(ids.values()) == 1, stream
        assert directory.listed_throughout(stream) <= set(ids), stream
        assert set(ids) <= directory.ever_listed(stream), stream
    assert len(directory.ever_listed("users")) > len(directory.listed_throughout("users"))


def test_a_cdr_only_key_gets_the_cdrs_and_a_warning_per_directory_stream(make_sim, tmp_path):
    server = make_sim(records=2000, burst=0)
    config = tap_config(server, api_key=CDR_ONLY_KEY, end_date=SHORT_END)
    catalog = catalog_selecting(config, *ALL)
    run = run_cli(config, tmp_path, "--catalog", str(write(tmp_path, catalog)))
    assert run.returncode == 0, run.stderr[-3000:]
    result = parse_messages(run.stdout)
    assert_exactly_once(cdrs_only(result), server)
    assert result.bookmark == SHORT_END.replace("Z", ".000Z")
    for stream in DIRECTORY:
        assert records_of(result, stream) == []
    assert {s["stream"] for s in result.schemas} >= set(DIRECTORY)  # a SCHEMA, no records
    warnings = [line for line in run.stderr.splitlines() if "| WARNING " in line]
    scopes = {
        "users": "users.read",
        "campaigns": "campaigns.read",
        "queues": "routing.queues.read",
        "queue_members": "routing.queues.read",
    }
    for stream, scope in scopes.items():
        said = [w for w in warnings if f"Stream `{stream}` skipped" in w]
        assert len(said) == 1, (stream, warnings)
        assert f"`{scope}` scope" in said[0]


def write(folder, value):
    path = folder / "catalog.json"
    path.write_text(json.dumps(value))
    return path


def test_without_a_queue_list_the_queues_the_cdrs_named_are_read_by_id_and_remembered(
    make_sim, caplog
):
    server = make_sim(records=2000, burst=0, queue_list=False)
    result = run_all(server)
    directory = server.simulator.directory
    named = directory.queue_ids_in_cdrs()
    assert named
    queues = Counter(r["id"] for r in records_of(result, "queues"))
    assert max(queues.values()) == 1
    assert set(queues) == named - directory.deleted_queue_ids()
    state = result.states[-1]
    assert set(state["bookmarks"]["queues"]["queue_ids_in_cdrs"]) == named
    members = {
        (r["queue_id"], r["user_id"], r["role"]) for r in records_of(result, "queue_members")
    }
    assert members == memberships(server, set(queues))

    # A later run that reads no CDRs still reads the queues earlier runs' CDRs named;
    # one since deleted in Voiso (404) is skipped with one INFO line.
    state["bookmarks"]["queues"]["queue_ids_in_cdrs"].append(987_654)
    caplog.set_level("INFO")
    again = run_all(server, streams=("queues",), state=state)
    assert {r["id"] for r in records_of(again, "queues")} == set(queues)
    skipped = [r for r in caplog.records if "Queue 987654 answers 404" in r.getMessage()]
    assert len(skipped) == 1
    assert bookmark_of(again.states[-1]) is not None  # the CDRs' bookmark is kept


def test_one_rate_limit_for_every_stream(make_sim, tmp_path):
    # Voiso counts every endpoint against one limit per key: the directory's requests
    # go out at the pace the CDRs' taught, instead of learning it again.
    server = make_sim(
        records=4000,
        burst=0,
        latency_ms=20,
        rate_limit_per_second=4,
        extra_users=600,
        extra_queues=20,
    )
    config = tap_config(
        server, start_date="2026-01-01T00:00:00Z", end_date=SHORT_END, page_size=200
    )
    catalog = catalog_selecting(config, *ALL)
    run = run_cli(config, tmp_path, "--catalog", str(write(tmp_path, catalog)), timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    statuses = server.simulator.statuses
    directory = sum(1 for p in server.simulator.requests if "/reporting/cdrs" not in p)
    assert directory > 20  # the directory was read under the limit too
    assert statuses.count(429) <= len(statuses) / 4


def test_a_field_voiso_adds_to_a_user_is_declared_before_the_record_holding_it(make_sim):
    server = make_sim(records=200, burst=0)
    directory = server.simulator.directory
    key = sorted(directory.listed_now("users"), key=str)[0]
    directory.objects["users"][key]["favourite_queue"] = {"id": 3, "since": "2026-01-01"}
    result = run_all(server, streams=("users",))
    messages = [m for m in result.messages if m.get("stream") == "users"]
    declared = next(
        i
        for i, m in enumerate(messages)
        if m["type"] == "SCHEMA" and "favourite_queue" in m["schema"]["properties"]
    )
    holding = next(
        i
        for i, m in enumerate(messages)
        if m["type"] == "RECORD" and "favourite_queue" in m["record"]
    )
    assert declared < holding


def test_the_connection_test_says_per_stream_whether_the_key_can_read_it(make_sim, tmp_path):
    server = make_sim(records=200, burst=0, queue_list=False)
    config = tap_config(server, api_key=CDR_ONLY_KEY)
    run = run_cli(config, tmp_path, "--test")
    assert run.returncode == 0, run.stderr[-2000:]
    said = dict(re.findall(r"Can the key read (\w+): (.*)", run.stderr))
    assert said["users"].startswith("no (the key lacks the `users.read` scope)")
    assert said["campaigns"].startswith("no (the key lacks the `campaigns.read` scope)")
    run = run_cli(tap_config(server), tmp_path, "--test")
    said = dict(re.findall(r"Can the key read (\w+): (.*)", run.stderr))
    assert said["users"].strip() == "yes"
    assert said["queues"].startswith("no list at /api/v4/routing/queues (HTTP 404)")


def test_a_large_centre_reads_each_list_in_a_few_round_trips(make_sim):
    # 5,000 users at 250 ms a request: the first page, then the rest at once within
    # `concurrency` (12), and one more to find the end: ceil(pages / 12) + 2 at most.
    server = make_sim(records=100, burst=0, extra_users=5000, latency_ms=250)
    result = run_all(server, streams=("users",))
    assert len(records_of(result, "users")) == len(server.simulator.directory.listed_now("users"))
    rounds = round_trips(list(server.simulator.started), 0.25)
    pages = math.ceil(5010 / 100)
    assert rounds <= math.ceil(pages / 12) + 2
