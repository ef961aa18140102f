"""Two builds of dbt_voiso from the same CDRs: DuckDB's, and another warehouse's.

Four days of the simulator's realistic CDRs around the night New York's clocks go
forward (2026-03-08), built with `voiso_timezone` America/New_York, and the simulator's
directory (users with their teams, campaigns). The same rows go into the other
warehouse laid out as its loader writes this tap's SCHEMA (its server's `load`) and into
a DuckDB laid out as target-duckdb writes it (benchmarks/dbt_build.py). All but the last
hour land first (a few hundred still open), both build in full, and every model must be
equal; then the hour lands with those CDRs finished and re-costed and some callers
calling back (the benchmark's helpers), both build incrementally, and every model must
be equal again. The DuckDB build itself is held to tests/kpis.py's ground truth
elsewhere (tests/test_dbt.py, tests/test_dbt_clocks_forward.py). Used by
tests/test_dbt_snowflake.py and tests/test_dbt_bigquery.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks import dbt_build
from tests import engines
from tests.test_dbt import duckdb_rows
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


def write_loads(folder: Path) -> Loads:
    """Write the NDJSON files both warehouses load (see the module's docstring)."""
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


@dataclass(frozen=True)
class Landing:
    """How the warehouse beside DuckDB takes the loads: its server (`load(path, table,
    columns, batch)` as its loader would, `tables(schema, models)` to read a build back),
    each stream's table name and column types, and the schema its models go to."""

    server: Any
    tables: dict[str, tuple[str, tuple[tuple[str, str], ...]]]
    schema: str


def build_both(loads: Loads, landing: Landing) -> None:
    """Load, build in full, read both; load the hour, build incrementally, read both
    (into `loads.full` and `loads.incremental`: {"warehouse": ..., "duckdb": ...})."""
    folder = loads.folder
    database = folder / "warehouse.duckdb"
    directory = DUCKDB_DIRECTORY.format(
        users=folder / "users.json", campaigns=folder / "campaigns.json"
    )
    for stream in ("users", "campaigns"):
        table, columns = landing.tables[stream]
        landing.server.load(folder / f"{stream}.json", table, columns, FIRST_BATCH)
    for step, path, batch in (
        ("full", "first.json", FIRST_BATCH),
        ("incremental", "hour.json", HOUR_BATCH),
    ):
        table, columns = landing.tables["cdrs"]
        landing.server.load(folder / path, table, columns, batch)
        load = dbt_build.LOAD.format(path=folder / path, columns=dbt_build.COLUMNS)
        setup = dbt_build.CREATE + directory if step == "full" else ""
        dbt_build.duckdb(database, setup + load + ";\nSELECT count(*) FROM voiso.cdrs")
        command = ("run", "--full-refresh") if step == "full" else ("run",)
        for warehouse in (landing.server, database):
            target = folder / f"{step}-{'duckdb' if warehouse is database else 'warehouse'}"
            dbt_build.dbt(warehouse, target, *command, "--vars", VARS)
        getattr(loads, step).update(
            warehouse=landing.server.tables(landing.schema, MODELS),
            duckdb=duckdb_models(database),
        )  # fmt: skip


def assert_equal_builds(loads: Loads, step: str) -> None:
    """Every model of the warehouse's build equals DuckDB's, and none is empty."""
    builds = getattr(loads, step)
    assert set(builds["duckdb"]) == set(MODELS)
    empty = [m for m in MODELS if not builds["duckdb"][m]]
    assert not empty  # the data exercises every model
    assert engines.compare_builds(builds["warehouse"], builds["duckdb"]) == {}


def assert_the_data_is_not_vacuous(loads: Loads) -> None:
    """The zone's short day, the new hour and its changes, the directory: all there."""
    full, incremental = (getattr(loads, s)["warehouse"] for s in ("full", "incremental"))
    full = {m.lower(): rows for m, rows in full.items()}
    incremental = {m.lower(): rows for m, rows in incremental.items()}
    volume = [{k.lower(): v for k, v in r.items()} for r in full["voiso__hourly_volume"]]
    days = {str(r["local_date"]) for r in volume}
    assert "2026-03-08" in days
    hours = {r["local_hour"] for r in volume if str(r["local_date"]) == "2026-03-08"}
    assert 2 not in hours  # 02:00-02:59 does not exist that night
    assert {1, 3} <= hours
    assert loads.changed >= 40
    assert loads.callbacks >= 5
    assert len(incremental["stg_voiso__cdrs"]) == loads.records > len(full["stg_voiso__cdrs"])
    assert full["voiso__agent_teams"]
    assert full["voiso__campaign_daily"]
    # loaded_at, left out of the comparison, is the loader's batch time.
    loaded = {str({k.lower(): v for k, v in r.items()}["loaded_at"])
              for r in incremental["stg_voiso__cdrs"]}  # fmt: skip
    assert {str(datetime.fromisoformat(t)) for t in loaded} == {FIRST_BATCH, HOUR_BATCH}
