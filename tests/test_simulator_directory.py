"""The simulator's directory (users, campaigns, queues): its own contract, over HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from voiso_simulator import CDR_ONLY_KEY, DEFAULT_KEY, FORBIDDEN_KEY, SimServer

LISTS = {
    "users": "/api/v4/users",
    "campaigns": "/api/v4/campaigns",
    "queues": "/api/v4/routing/queues",
}


def get(server: SimServer, path: str, key: str = DEFAULT_KEY, **params: Any) -> requests.Response:
    return requests.get(
        server.url + path, params=params, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )


def read_all(server: SimServer, path: str, array: str) -> list[dict[str, Any]]:
    """Every object of a list, page by page (limit 100, the most it takes)."""
    items: list[dict[str, Any]] = []
    while True:
        response = get(server, path, limit=100, offset=len(items))
        assert response.status_code == 200, response.text
        page = response.json()[array]
        items += page
        if len(page) < 100:
            return items


def latest_deleted(records: list[dict[str, Any]], pick: Any) -> dict[Any, bool]:
    """For each object `pick(record)` names: whether its latest CDR says it is deleted."""
    latest: dict[Any, tuple[str, bool]] = {}
    for record in records:
        obj = pick(record)
        if obj and (obj["id"] not in latest or latest[obj["id"]][0] <= record["started_at"]):
            latest[obj["id"]] = (record["started_at"], obj["deleted"])
    return {key: deleted for key, (_, deleted) in latest.items()}


def pick_user(record: dict[str, Any]) -> Any:
    return record["user"]


def related(name: str) -> Any:
    return lambda record: (record["data"] or {}).get(name)


def test_every_cdr_object_is_in_the_directory_unless_deleted(make_sim: Any) -> None:
    server = make_sim(records=3000, seed=5)
    records = server.simulator.visible_records()
    for resource, pick in (
        ("users", pick_user),
        ("queues", related("queue")),
        ("campaigns", related("campaign")),
    ):
        listed = {o["id"]: o for o in read_all(server, LISTS[resource], resource)}
        deleted = latest_deleted(records, pick)
        assert deleted, resource
        assert {k for k, d in deleted.items() if not d} <= set(listed), resource
        assert not {k for k, d in deleted.items() if d} & set(listed), resource
        assert len(listed) > len(deleted)  # objects no CDR names: staff, unused queues
        assert server.simulator.directory.listed_now(resource) == set(listed)
    users = {u["id"]: u for u in read_all(server, LISTS["users"], "users")}
    for record in records:
        if record["user"] and record["user"]["id"] in users:
            assert users[record["user"]["id"]]["email"] == record["user"]["email"]
    agents = [u for u in users.values() if u["security_access_group"]["name"] == "Agent"]
    assert {len(u["teams"]) for u in agents} >= {0, 1, 2}
    assert any(u["supervised_teams"] for u in users.values())
    assert 4 <= len({t["id"] for u in users.values() for t in u["teams"]}) <= 8
    queue_ids = {q["id"] for q in read_all(server, LISTS["queues"], "queues")}
    assert server.simulator.directory.queue_ids_in_cdrs() == set(
        latest_deleted(records, related("queue"))
    )
    for queue_id in queue_ids:
        body = get(server, f"/api/v4/routing/queues/{queue_id}").json()["queue"]
        assert body["id"] == queue_id
        assert {"music_on_hold", "in_queue_announcement", "failover_destination"} <= set(body)
        members = server.simulator.directory.members(queue_id)
        for role, path in (("agent", "users"), ("supervisor", "supervisors")):
            page = get(server, f"/api/v4/routing/queues/{queue_id}/{path}").json()
            assert {u["id"] for u in page["users"]} == members[role]
            assert page["metadata"]["total"] == len(members[role])


def mark_deleted(server: SimServer, queue_id: int, user_id: str) -> None:
    """Make the latest CDR naming `queue_id` and `user_id` say deleted, and an earlier CDR
    of queue 3 say deleted (its latest does not): before the directory is first read."""
    dataset = server.simulator.dataset
    original = dataset.record
    named = [(pos, original(pos)) for pos in range(len(dataset))]
    last_queue = max(
        p for p, r in named if ((r["data"] or {}).get("queue") or {}).get("id") == queue_id
    )
    last_user = max(p for p, r in named if (r["user"] or {}).get("id") == user_id)
    first_three = min(p for p, r in named if ((r["data"] or {}).get("queue") or {}).get("id") == 3)

    def record(pos: int) -> dict[str, Any]:
        built = original(pos)
        if pos in (last_queue, first_three):
            built["data"]["queue"]["deleted"] = True
        if pos == last_user:
            built["user"]["deleted"] = True
        if pos != last_user and built["user"] and built["user"]["id"] == user_id:
            built["user"]["deleted"] = False
        return built

    dataset.record = record  # type: ignore[method-assign]


def test_deleted_by_their_latest_cdr_are_not_listed_and_answer_404(make_sim: Any) -> None:
    server = make_sim(records=1500)
    mark_deleted(server, queue_id=2, user_id="1001")
    directory = server.simulator.directory
    assert 2 in directory.deleted_queue_ids()
    assert 3 not in directory.deleted_queue_ids()
    assert {2, 3} <= directory.queue_ids_in_cdrs()
    for path in ("", "/users", "/supervisors"):
        response = get(server, f"/api/v4/routing/queues/2{path}")
        assert (response.status_code, response.json()) == (404, {"error": "Not found"})
    assert get(server, "/api/v4/routing/queues/3").status_code == 200  # its latest CDR: not deleted
    assert get(server, "/api/v4/routing/queues/999").status_code == 404
    assert 2 not in {q["id"] for q in read_all(server, LISTS["queues"], "queues")}
    assert "1001" not in {u["id"] for u in read_all(server, LISTS["users"], "users")}
    assert all("1001" not in directory.members(q)["agent"] for q in directory.listed_now("queues"))


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"limit": 101}, {"limit": ["must be between 1 and 100"]}),
        ({"limit": 1000}, {"limit": ["must be between 1 and 100"]}),
        ({"limit": 0}, {"limit": ["must be between 1 and 100"]}),
        ({"limit": "ten"}, {"limit": ["must be an integer"]}),
        ({"offset": -1}, {"offset": ["must be greater than or equal to 0"]}),
        ({"name": "Jane"}, {"name": ["is not a permitted parameter"]}),
    ],
)
def test_paging_params_out_of_range_are_422(make_sim: Any, params: dict, errors: dict) -> None:
    server = make_sim(records=300)
    for path in [*LISTS.values(), "/api/v4/routing/queues/1/users"]:
        response = get(server, path, **params)
        assert (response.status_code, response.json()) == (422, {"errors": errors}), path


def test_pages_are_stable_and_cover_the_list(make_sim: Any) -> None:
    server = make_sim(records=600)
    whole = get(server, LISTS["users"]).json()
    assert whole["metadata"]["total"] == len(whole["users"])
    pages = [
        get(server, LISTS["users"], limit=2, offset=o).json()["users"] for o in range(0, 40, 2)
    ]
    assert [u for page in pages for u in page] == whole["users"]
    assert get(server, LISTS["users"], offset=10_000).json() == {
        "users": [],
        "metadata": {"total": len(whole["users"])},
    }


def test_total_is_left_out_when_switched_off(make_sim: Any) -> None:
    server = make_sim(records=300, directory_total=False)
    for resource, path in [*LISTS.items(), ("users", "/api/v4/routing/queues/1/users")]:
        body = get(server, path).json()
        assert body[resource if "queues/" not in path else "users"]
        assert body["metadata"] == {}


def test_scopes_per_endpoint(make_sim: Any) -> None:
    server = make_sim(records=300)
    cdrs = "/api/v4/reporting/cdrs"
    directory = [*LISTS.values(), "/api/v4/routing/queues/1", "/api/v4/routing/queues/1/users"]
    for path in directory:
        response = get(server, path, key=CDR_ONLY_KEY)
        assert (response.status_code, response.json()) == (403, {"error": "Forbidden"}), path
        assert get(server, path, key="no-such-key").status_code == 401
        assert get(server, path, key=FORBIDDEN_KEY).status_code == 403
        assert get(server, path).status_code == 200
    assert get(server, cdrs, key=CDR_ONLY_KEY).status_code == 200
    assert get(server, cdrs, key=FORBIDDEN_KEY).status_code == 403
    server.simulator.configure(key_scopes={DEFAULT_KEY: ["users.read"], "k2": ["campaigns.read"]})
    assert get(server, LISTS["users"]).status_code == 200
    assert get(server, LISTS["campaigns"]).status_code == 403
    assert get(server, cdrs).status_code == 403
    assert get(server, LISTS["campaigns"], key="k2").status_code == 200
    assert get(server, cdrs, key=CDR_ONLY_KEY).status_code == 401  # no longer a key


def test_queue_list_switched_off_is_404_but_by_id_works(make_sim: Any) -> None:
    server = make_sim(records=300, queue_list=False)
    response = get(server, LISTS["queues"])
    assert (response.status_code, response.json()) == (404, {"error": "Not found"})
    assert get(server, "/api/v4/routing/queues/1").status_code == 200
    assert get(server, "/api/v4/routing/queues/1/users").status_code == 200


def test_directory_requests_share_the_log_faults_and_rate_limit(make_sim: Any) -> None:
    server = make_sim(records=300, fail_next=["429"])
    assert get(server, LISTS["campaigns"]).status_code == 429
    assert get(server, LISTS["campaigns"]).status_code == 200
    deadline = time.monotonic() + 5
    while len(server.simulator.statuses) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # a status is logged just after its response is sent
    assert server.simulator.statuses == [429, 200]
    assert server.simulator.requests == ["/api/v4/campaigns", "/api/v4/campaigns"]
    server.simulator.configure(rate_limit_per_second=0.5)
    assert get(server, "/api/v4/reporting/cdrs").status_code == 200
    assert get(server, LISTS["users"]).status_code == 429  # one bucket per key, every endpoint


def test_list_churn_creates_at_the_front_and_deletes_one(make_sim: Any) -> None:
    server = make_sim(records=600, list_churn=2)
    directory = server.simulator.directory
    before = [u["id"] for u in get(server, LISTS["users"]).json()["users"]]  # page 1
    after = [c["id"] for c in get(server, LISTS["campaigns"]).json()["campaigns"]]  # page 2
    assert directory.listed_now("users") == set(before)  # the campaigns list changed
    assert len(directory.ever_listed("campaigns")) == len(after) + 1
    gone = directory.ever_listed("campaigns") - set(after)
    assert directory.listed_throughout("campaigns") == set(after) - {after[0]}
    assert get(server, f"/api/v4/campaigns/{gone.pop()}").status_code == 404
    assert get(server, f"/api/v4/campaigns/{after[0]}").status_code == 200
    get(server, LISTS["users"])  # page 3: no change
    users = get(server, LISTS["users"]).json()  # page 4: churn
    ids = [u["id"] for u in users["users"]]
    assert users["metadata"]["total"] == len(ids) == len(before)
    assert ids[0] not in before
    assert ids[1:] == [i for i in before if i in ids]
    assert directory.listed_now("users") == set(ids)
    assert directory.listed_throughout("users") == set(before) & set(ids)
    assert len(directory.listed_throughout("users")) == len(before) - 1
    assert directory.ever_listed("users") == set(before) | set(ids)

    queues = read_all(server, LISTS["queues"], "queues")  # page 5
    assert [q["id"] for q in get(server, LISTS["queues"]).json()["queues"]] != [  # page 6: churn
        q["id"] for q in queues
    ]
    (deleted,) = {q["id"] for q in queues} - directory.listed_now("queues")
    assert deleted in directory.deleted_queue_ids()
    assert get(server, f"/api/v4/routing/queues/{deleted}").status_code == 404


def test_foreign_user_ids_match_the_directory_only_by_email(make_sim: Any) -> None:
    plain = make_sim(records=800, seed=3)
    foreign = make_sim(records=800, seed=3, foreign_user_ids=True)
    directory = {u["id"]: u["email"] for u in read_all(foreign, LISTS["users"], "users")}
    assert directory == {u["id"]: u["email"] for u in read_all(plain, LISTS["users"], "users")}
    plain_users = [r["user"] for r in plain.simulator.visible_records() if r["user"]]
    foreign_users = [r["user"] for r in foreign.simulator.visible_records() if r["user"]]
    deleted = {
        k for k, d in latest_deleted(plain.simulator.visible_records(), pick_user).items() if d
    }
    assert {u["id"] for u in plain_users} - deleted <= set(directory)
    assert not {u["id"] for u in foreign_users} & set(directory)
    assert all(u["id"].isdigit() for u in foreign_users)
    by_email = {email.lower(): key for key, email in directory.items()}
    for before, after in zip(plain_users, foreign_users, strict=True):
        assert after["id"] != before["id"]
        assert after["name"] == before["name"]
        assert after["email"].lower() == before["email"].lower()
        if before["id"] not in deleted:
            assert by_email[after["email"].lower()] == before["id"]
    assert any(u["email"] not in directory.values() for u in foreign_users)
    served = get(foreign, "/api/v4/reporting/cdrs", user_id=foreign_users[0]["id"]).json()
    assert served["cdrs"]
    assert {c["user"]["id"] for c in served["cdrs"]} == {foreign_users[0]["id"]}
    assert any(u["email"] in directory.values() for u in foreign_users)
