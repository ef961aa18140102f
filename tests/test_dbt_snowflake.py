"""dbt_voiso on Snowflake (fakesnow's local server) equals its DuckDB build, model by model.

Four days of the simulator's realistic CDRs around the night New York's clocks go
forward (2026-03-08), built with `voiso_timezone` America/New_York, and the simulator's
directory (users with their teams, campaigns). The same rows go into a Snowflake laid out
as MeltanoLabs target-snowflake writes this tap's SCHEMA (benchmarks/snowflake.py: it
cannot load into fakesnow itself, which takes no PUT) and into a DuckDB laid out as
target-duckdb writes it (benchmarks/dbt_build.py). All but the last hour land first (a
few hundred still open), both build in full, and every model must be equal; then the
hour lands with those CDRs finished and re-costed and some callers calling back (the
benchmark's helpers), both build incrementally, and every model must be equal again.
The DuckDB build itself is held to tests/kpis.py's ground truth elsewhere
(tests/test_dbt.py, tests/test_dbt_clocks_forward.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from benchmarks import dbt_build, snowflake
from tests import engines
from tests.test_dbt import duckdb_rows
from tests.test_meltano import meltano
from voiso_simulator.data import Dataset, DatasetSpec
from voiso_simulator.directory import Directory

ZONE = "America/New_York"
VARS = json.dumps({"voiso_timezone": ZONE})
FIRST_BATCH, HOUR_BATCH = "2026-03-10 00:00:00", "2026-03-10 01:00:00"
MODELS = engines.model_names()
# target-duckdb's directory tables (the columns dbt_voiso reads).
DUCKDB_DIRECTORY = """
CREATE TABLE voiso.users (
    id VARCHAR PRIMARY KEY, name VARCHAR, email VARCHAR, sip_account VARCHAR,
    extension VARCHAR, caller_id VARCHAR, employee_id VARCHAR, timezone VARCHAR,
    security_access_group JSON, teams JSON, supervised_teams JSON
);
CREATE TABLE voiso.campaigns (
    id BIGINT PRIMARY KEY, name VARCHAR, status VARCHAR, strategy VARCHAR,
    dial_level DOUBLE, max_dial_time BIGINT, created_at TIMESTAMP, updated_at TIMESTAMP
);
INSERT INTO voiso.users SELECT * FROM read_json('{users}', format = 'newline_delimited',
    columns = {{id: 'VARCHAR', name: 'VARCHAR', email: 'VARCHAR', sip_account: 'VARCHAR',
    extension: 'VARCHAR', caller_id: 'VARCHAR', employee_id: 'VARCHAR', timezone: 'VARCHAR',
    security_access_group: 'JSON', teams: 'JSON', supervised_teams: 'JSON'}});
INSERT INTO voiso.campaigns SELECT * FROM read_json('{campaigns}', format = 'newline_delimited',
    columns = {{id: 'BIGINT', name: 'VARCHAR', status: 'VARCHAR', strategy: 'VARCHAR',
    dial_level: 'DOUBLE', max_dial_time: 'BIGINT', created_at: 'TIMESTAMP',
    updated_at: 'TIMESTAMP'}});
"""


@dataclass
class Loads:
    """The NDJSON files both warehouses load, and what the hour brought."""

    folder: Path
    records: int
    changed: int
    callbacks: int
    full: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    incremental: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)


def naive(value: str | None) -> str | None:
    """An ISO 8601 UTC time as the targets land it (naive UTC)."""
    return value.replace("T", " ").rstrip("Z") if value else value


@pytest.fixture(scope="module")
def loads(tmp_path_factory: pytest.TempPathFactory) -> Loads:
    folder = tmp_path_factory.mktemp("dbt-snowflake")
    spec = DatasetSpec(
        records=3000, seed=21, start="2026-03-06T00:00:00Z", span_days=4, burst=0,
        profile="realistic", timezone="Asia/Manila",
    )  # fmt: skip
    data = Dataset(spec)
    rows = [json.loads(data.record_json(pos)) for pos in range(len(data))]
    cut = data.started[-1] - dbt_build.HOUR_MS
    first = [r for r, s in zip(rows, data.started, strict=True) if s < cut]
    last_hour = rows[len(first) :]
    changed = dbt_build.changed_later(first, cut, 150)
    callbacks = dbt_build.calling_back(first, last_hour, cut)
    dbt_build.write_rows(folder / "first.json", first)
    dbt_build.write_rows(folder / "hour.json", last_hour + changed)
    directory = Directory(data)
    for resource in ("users", "campaigns"):
        with (folder / f"{resource}.json").open("w") as out:
            for key in sorted(directory.listed_now(resource), key=str):
                record = dict(directory.objects[resource][key])
                for name in ("created_at", "updated_at"):
                    if name in record:
                        record[name] = naive(record[name])
                out.write(json.dumps(record) + "\n")
    return Loads(folder, len(rows), len(changed), callbacks)


def duckdb_models(database: Path) -> dict[str, list[dict[str, Any]]]:
    """Every model's rows, read in one query (a JSON object of them)."""
    parts = ", ".join(
        f"'{m}', (SELECT coalesce(list(to_json(t)), []) FROM voiso_analytics.{m} t)"  # noqa: S608
        for m in MODELS
    )
    ((built,),) = duckdb_rows(database, f"SELECT to_json(json_object({parts}))")
    return {m: [json.loads(row) if isinstance(row, str) else row for row in rows]
            for m, rows in json.loads(built).items()}  # fmt: skip


def build_both(loads: Loads) -> Iterator[tuple[snowflake.Snowflake, Path]]:
    """Load, build in full, read; load the hour, build incrementally, read."""
    folder = loads.folder
    database = folder / "warehouse.duckdb"
    directory = DUCKDB_DIRECTORY.format(
        users=folder / "users.json", campaigns=folder / "campaigns.json"
    )
    with snowflake.fakesnow_server() as server:
        for resource, columns in (("USERS", snowflake.USERS), ("CAMPAIGNS", snowflake.CAMPAIGNS)):
            server.load(folder / f"{resource.lower()}.json", resource, columns, FIRST_BATCH)
        for step, path, batch in (
            ("full", "first.json", FIRST_BATCH),
            ("incremental", "hour.json", HOUR_BATCH),
        ):
            server.load(folder / path, "CDRS", snowflake.CDRS, batch)
            load = dbt_build.LOAD.format(path=folder / path, columns=dbt_build.COLUMNS)
            setup = dbt_build.CREATE + directory if step == "full" else ""
            dbt_build.duckdb(database, setup + load + ";\nSELECT count(*) FROM voiso.cdrs")
            command = ("run", "--full-refresh") if step == "full" else ("run",)
            for warehouse in (server, database):
                target = folder / f"{step}-{'snowflake' if warehouse is server else 'duckdb'}"
                dbt_build.dbt(warehouse, target, *command, "--vars", VARS)
            getattr(loads, step).update(
                snowflake=server.tables("VOISO_ANALYTICS", MODELS),
                duckdb=duckdb_models(database),
            )  # fmt: skip
        yield server, database


@pytest.fixture(scope="module")
def built(loads: Loads) -> Iterator[tuple[snowflake.Snowflake, Path]]:
    yield from build_both(loads)


@pytest.mark.parametrize("step", ["full", "incremental"])
def test_every_model_on_snowflake_equals_duckdb(loads, built, step):
    builds = getattr(loads, step)
    assert set(builds["duckdb"]) == set(MODELS)
    empty = [m for m in MODELS if not builds["duckdb"][m]]
    assert not empty  # the data exercises every model
    assert engines.compare_builds(builds["snowflake"], builds["duckdb"]) == {}


def test_the_data_spans_the_night_the_clocks_go_forward_and_the_hour_changed_it(loads, built):
    """Not a vacuous equality: the zone's short day, the new hour and its changes."""
    full, incremental = (getattr(loads, s)["snowflake"] for s in ("full", "incremental"))
    days = {str(r["local_date"]) for r in full["voiso__hourly_volume"]}
    assert "2026-03-08" in days
    hours = {
        r["local_hour"]
        for r in full["voiso__hourly_volume"]
        if str(r["local_date"]) == "2026-03-08"
    }
    assert 2 not in hours  # 02:00-02:59 does not exist that night
    assert {1, 3} <= hours
    assert loads.changed >= 40
    assert loads.callbacks >= 5
    assert len(incremental["stg_voiso__cdrs"]) == loads.records > len(full["stg_voiso__cdrs"])
    assert full["voiso__agent_teams"]
    assert full["voiso__campaign_daily"]
    # loaded_at, left out of the comparison, is target-snowflake's batch time.
    assert {str(r["loaded_at"]) for r in incremental["stg_voiso__cdrs"]} == {
        FIRST_BATCH,
        HOUR_BATCH,
    }


def test_a_native_uuid_id_reads_as_the_same_text(loads, built):
    """target-snowflake's default `uuid_format` (native) lands `ID` as UUID: the staging
    model reads it as the same lower-case text as `uuid_format: string`'s VARCHAR(36)."""
    server, _ = built
    native = tuple(
        ("ID", "UUID") if name == "ID" else (name, kind) for name, kind in snowflake.CDRS
    )
    for path, batch in (("first.json", FIRST_BATCH), ("hour.json", HOUR_BATCH)):
        server.load(loads.folder / path, "CDRS", native, batch, schema="VOISO_UUID")
    landed = server.sql(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = 'VOISO_UUID'"
        " AND table_name = 'CDRS' AND column_name = 'ID'"
    )
    assert landed == [["UUID"]]
    options = json.dumps({"voiso_timezone": ZONE, "voiso_source_schema": "VOISO_UUID"})
    dbt_build.dbt(server, loads.folder / "uuid", "run", "--select", "stg_voiso__cdrs",
                  "--vars", options, schema="VOISO_UUID_ANALYTICS")  # fmt: skip
    rows = server.tables("VOISO_UUID_ANALYTICS", ["STG_VOISO__CDRS"])["STG_VOISO__CDRS"]
    want = loads.incremental["duckdb"]["stg_voiso__cdrs"]
    assert engines.differences(rows, want) == []


def test_the_meltano_utility_runs_the_package_tests_on_the_build(loads, built, tmp_path):
    """`meltano invoke dbt-snowflake:test`, its settings pointing at fakesnow: the
    utility's command and settings reach the profile, and the package's data tests
    pass on Snowflake's build (run_results: none failed). Its unit tests are left out:
    dbt-snowflake runs them in a temporary table named with its database, which fakesnow
    cannot create (they run on DuckDB, and on Snowflake itself)."""
    server, _ = built
    env = {
        **server.env("VOISO_ANALYTICS"), "DBT_SNOWFLAKE_VARS": VARS,
        "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs"),
    }  # fmt: skip
    del env["DBT_TARGET"]  # the utility's own
    meltano(
        tmp_path,
        SimpleNamespace(url="http://127.0.0.1:9"),
        "invoke",
        "dbt-snowflake:test",
        "--exclude",
        "test_type:unit",
        **env,
    )
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    assert len(results) > 50
    assert {r["status"] for r in results} <= {"pass", "warn"}
