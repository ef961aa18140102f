"""dbt_voiso's directory models end to end: the tap loads CDRs and the directory
(users, campaigns, queues, queue_members), Meltano runs `dbt build`, and
`voiso__agents`, `voiso__agent_teams`, `voiso__team_daily` and `voiso__campaign_daily`
are checked column by column against tests/kpis_directory.py.

One simulator, four states of each warehouse (one load each, every model checked in
each): `ids` (CDR user ids are the directory's), `emails` (they are not: agents match
by e-mail, its case changed on some; two strangers no user matches; days in
Asia/Manila), `cdr_only` (a key without the directory's scopes: its tables are there,
empty) and `absent` (the `ids` load with its directory tables dropped).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import kpis, kpis_directory
from tests.conftest import ROOT, sim_server
from tests.postgres import postgres_server
from tests.test_dbt import DUCKDB_PYTHON, assert_matches, duckdb_rows
from tests.test_meltano import meltano
from voiso_simulator import CDR_ONLY_KEY, SimServer, serving

MODELS = (
    "voiso__agents", "voiso__agent_teams", "voiso__team_daily", "voiso__campaign_daily",
    "voiso__campaign_queue_daily",
)  # fmt: skip
KEYS = {
    "voiso__agents": ("user_id", "cdr_user_id"),
    "voiso__agent_teams": ("user_id", "team_id", "role"),
    "voiso__team_daily": ("local_date", "team_id"),
    "voiso__campaign_daily": ("local_date", "campaign_id"),
    "voiso__campaign_queue_daily": ("local_date", "campaign_id", "queue_id"),
}
SCENARIOS = ("ids", "emails", "cdr_only", "absent")
WAREHOUSES = ("duckdb", "postgres")
MANILA = "Asia/Manila"
DIRECTORY_TABLES = ("users", "campaigns", "queues", "queue_members")
MATCH_TEST = "test.dbt_voiso.voiso_agent_match_rate"


@dataclass
class Load:
    """One state of a warehouse: what the API served, the models, the match-rate test."""

    records: list[dict[str, Any]]
    users: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    rules: kpis.Definitions
    models: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    match_test: str = ""  # the match-rate test's status in the build: pass or warn
    env: dict[str, str] = field(default_factory=dict)  # the build's settings


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    """Ten days of CDRs, and a directory with 20 agents no CDR names yet."""
    options = {"records": 3000, "span_days": 10, "burst": 0, "seed": 21}
    with serving(sim_server(**options, extra_users=20, extra_queues=3)) as server:
        supervise_a_team_as_an_agent(server)
        yield server


def supervise_a_team_as_an_agent(server: SimServer) -> None:
    """One CDR agent also supervises a team it is not in (the simulator's supervisors
    take no calls): its calls must not count for that team."""
    directory = server.simulator.directory
    users = directory.objects["users"]
    agent = min(set(directory.foreign_ids) & directory.listed_now("users"))
    teams = {team["id"]: team for user in users.values() for team in user["teams"]}
    own = {team["id"] for team in users[agent]["teams"]}
    users[agent]["supervised_teams"] = [teams[min(set(teams) - own)]]


def listed(sim: SimServer, resource: str) -> list[dict[str, Any]]:
    directory = sim.simulator.directory
    return [directory.objects[resource][key] for key in directory.listed_now(resource)]


def strangers(record: dict[str, Any]) -> dict[str, Any]:
    """Two agents the directory does not know (by id or e-mail), on about 1 CDR in 128."""
    if not isinstance(record.get("user"), dict) or record["id"][:2] not in ("00", "01"):
        return record
    n = record["id"][1]
    user = {"id": f"stranger-{n}", "name": f"Stranger {n}", "email": f"stranger{n}@elsewhere.test"}
    return {**record, "user": user}


def match_test_status(target: Path) -> str:
    results = json.loads((target / "run_results.json").read_text())["results"]
    (status,) = [r["status"] for r in results if r["unique_id"] == MATCH_TEST]
    return status


def load_all(
    tmp_path_factory,
    sim: SimServer,
    warehouse: str,
    env_for: Callable[[str], dict[str, str]],
    read: Callable[[str, str], list[dict[str, Any]]],
    drop: Callable[[str], None],
) -> dict[str, Load]:
    """The four states of one warehouse, each loaded (or dropped) and built."""
    utility = f"dbt-{warehouse}"
    prefix = utility.upper().replace("-", "_")
    loads: dict[str, Load] = {}
    config = sim.simulator.config
    for scenario in SCENARIOS:
        tmp = tmp_path_factory.mktemp(f"{warehouse}-{scenario}")
        env = {**env_for(scenario), "DBT_TARGET_PATH": str(tmp / "target")}
        env["DBT_LOG_PATH"] = str(tmp / "logs")
        rules = kpis.Definitions()
        if scenario == "emails":
            rules = kpis.Definitions(timezone=MANILA)
            env[f"{prefix}_VARS"] = json.dumps(
                {**json.loads(env.get(f"{prefix}_VARS", "{}")), "voiso_timezone": MANILA}
            )
        directory = scenario in ("ids", "emails")
        config.foreign_user_ids = scenario == "emails"
        sim.simulator.rewrite = strangers if scenario == "emails" else None
        try:
            records = sim.simulator.visible_records()
            if scenario == "absent":  # the `ids` load, its directory tables dropped
                drop(scenario)
                meltano(tmp, sim, "run", f"{utility}:build", **env)
            else:
                if scenario == "cdr_only":
                    env["TAP_VOISO_API_KEY"] = CDR_ONLY_KEY
                meltano(
                    tmp, sim, "run", "tap-voiso", f"target-{warehouse}", f"{utility}:build", **env
                )
        finally:
            config.foreign_user_ids = False
            sim.simulator.rewrite = None
        load = Load(
            records,
            listed(sim, "users") if directory else [],
            listed(sim, "campaigns") if directory else [],
            rules,
            match_test=match_test_status(tmp / "target"),
            env=env,
        )
        schema = env[f"{prefix}_SCHEMA"]
        load.models = {m: read(scenario, f"SELECT * FROM {schema}.{m}") for m in MODELS}  # noqa: S608
        loads[scenario] = load
    return loads


@pytest.fixture(scope="module")
def duckdb(sim, tmp_path_factory) -> dict[str, Load]:
    """A DuckDB file per load (`absent` drops the tables of the `ids` file)."""
    files = tmp_path_factory.mktemp("duckdb-files")

    def path(scenario: str) -> Path:
        return files / f"{'ids' if scenario == 'absent' else scenario}.duckdb"

    def env_for(scenario: str) -> dict[str, str]:
        database = str(path(scenario))
        return {
            "TARGET_DUCKDB_FILEPATH": database, "DBT_DUCKDB_PATH": database,
            "DBT_DUCKDB_SCHEMA": f"analytics_{scenario}",
        }  # fmt: skip

    def read(scenario: str, query: str) -> list[dict[str, Any]]:
        return duckdb_rows(path(scenario), query, as_dicts=True)

    def drop(scenario: str) -> None:
        tables = "; ".join(f"DROP TABLE voiso.{t}" for t in DIRECTORY_TABLES)
        script = "import duckdb, sys\nduckdb.connect(sys.argv[1]).execute(sys.argv[2])\n"
        command = [str(DUCKDB_PYTHON), "-c", script, str(path(scenario)), tables]
        subprocess.run(command, check=True)

    return load_all(tmp_path_factory, sim, "duckdb", env_for, read, drop)


@pytest.fixture(scope="module")
def postgres(sim, tmp_path_factory) -> Iterator[dict[str, Load]]:
    """One server, a source schema per load (`absent` drops the tables of `ids`')."""
    with postgres_server() as server:

        def source(scenario: str) -> str:
            return "voiso_ids" if scenario == "absent" else f"voiso_{scenario}"

        def env_for(scenario: str) -> dict[str, str]:
            return {
                "TARGET_POSTGRES_PORT": str(server.port), "DBT_POSTGRES_PORT": str(server.port),
                "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": source(scenario),
                "DBT_POSTGRES_VARS": json.dumps({"voiso_source_schema": source(scenario)}),
                "DBT_POSTGRES_SCHEMA": f"analytics_{scenario}",
            }  # fmt: skip

        def read(_scenario: str, query: str) -> list[dict[str, Any]]:
            rows = server.sql(f"SELECT row_to_json(t) FROM ({query}) t")  # noqa: S608
            return [json.loads(row[0]) for row in rows]

        def drop(scenario: str) -> None:
            server.sql(
                f"DROP TABLE {', '.join(f'{source(scenario)}.{t}' for t in DIRECTORY_TABLES)}"
            )

        yield load_all(tmp_path_factory, sim, "postgres", env_for, read, drop)


def expected(model: str, load: Load) -> dict[tuple[str, ...], dict[str, Any]]:
    records, users, rules = load.records, load.users, load.rules
    if model == "voiso__agents":
        return kpis_directory.agents(records, users)
    if model == "voiso__agent_teams":
        return kpis_directory.agent_teams(users)
    if model == "voiso__team_daily":
        return kpis_directory.team_daily(records, users, rules)
    if model == "voiso__campaign_queue_daily":
        return kpis_directory.campaign_queue_daily(records, load.campaigns, rules)
    return kpis_directory.campaign_daily(records, load.campaigns, rules)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_directory_models_match_ground_truth(request, warehouse, scenario, model):
    load = request.getfixturevalue(warehouse)[scenario]
    rows = load.models[model]
    want = expected(model, load)
    if model == "voiso__agent_teams" and scenario in ("cdr_only", "absent"):
        assert want == {}
    else:
        assert want
    for row in rows:  # every column the model holds is checked
        assert set(row) == set(KEYS[model]) | set(next(iter(want.values()), row)), model
    assert_matches(rows, want, KEYS[model])


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_agents_match_by_id_or_by_email_whatever_its_case(request, warehouse):
    loads = request.getfixturevalue(warehouse)
    by = {s: [r["matched_by"] for r in loads[s].models["voiso__agents"]] for s in SCENARIOS}
    assert {"id", None} == set(by["ids"])
    assert {"email", None} == set(by["emails"])
    assert set(by["cdr_only"]) == set(by["absent"]) == {None}
    emails = loads["emails"].models["voiso__agents"]
    recased = [r for r in emails if r["matched_by"] and r["cdr_email"] != r["email"]]
    assert recased
    assert all(r["cdr_email"].lower() == r["email"].lower() for r in recased)
    # Without the directory, an agent per CDR agent, none lost.
    for scenario, load in loads.items():
        cdr_agents = kpis_directory.cdr_agents(load.records)
        rows = load.models["voiso__agents"]
        assert {r["cdr_user_id"] for r in rows} - {None} == set(cdr_agents), scenario


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_match_rate_test_warns_below_the_var_and_passes_without_a_directory(request, warehouse):
    loads = request.getfixturevalue(warehouse)
    rates = {s: kpis_directory.match_rate(loads[s].records, loads[s].users) for s in loads}
    assert rates["ids"] == 1
    assert loads["ids"].match_test == "pass"
    # Two strangers beside the agents matched by e-mail: the build warns, and goes on.
    assert 0.5 < rates["emails"] < 0.95
    assert loads["emails"].match_test == "warn"
    # No directory: nothing to match against, no warning.
    assert rates["cdr_only"] == rates["absent"] == 0
    assert loads["cdr_only"].match_test == loads["absent"].match_test == "pass"


def test_the_match_rate_test_warns_only_below_the_var(duckdb, sim, tmp_path):
    load = duckdb["ids"]
    rate = kpis_directory.match_rate(load.records, load.users)
    statuses = []
    for threshold in (rate, rate + 0.001):
        target = tmp_path / f"target-{threshold}"
        env = {**load.env, "DBT_TARGET_PATH": str(target)}
        vars_ = json.dumps({"voiso_min_agent_match_rate": threshold})
        select = ("--select", "voiso_agent_match_rate", "--vars", vars_)
        meltano(tmp_path, sim, "invoke", "dbt-duckdb", "test", *select, **env)
        statuses.append(match_test_status(target))
    assert statuses == ["pass", "warn"]


def test_every_directory_model_and_column_is_documented(duckdb):
    path = ROOT / "dbt_voiso" / "models" / "marts" / "directory" / "_voiso__directory_models.yml"
    documented = yaml.safe_load(path.read_text())
    models = {m["name"]: m for m in documented["models"]}
    assert set(models) == set(MODELS)
    for name, model in models.items():
        assert model["description"]
        assert all(c["description"] for c in model["columns"]), name
        landed = set(duckdb["ids"].models[name][0])
        assert landed == {c["name"] for c in model["columns"]}, name
    project = yaml.safe_load((ROOT / "dbt_voiso" / "dbt_project.yml").read_text())
    assert project["vars"]["voiso_min_agent_match_rate"] == 0.95
