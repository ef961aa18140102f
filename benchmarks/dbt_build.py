"""dbt_voiso at a million CDRs on DuckDB: a full build, then an incremental one after an hour.

    .venv/bin/python -m benchmarks.dbt_build                 # 1,000,000 CDRs
    .venv/bin/python -m benchmarks.dbt_build --records 20000 --keep /tmp/bench
    .venv/bin/python -m benchmarks.dbt_build --records 100000 --engine snowflake  # fakesnow

The simulator's realistic CDRs (30 days ending on a weekday at 15:00 UTC, the afternoon
peak) are written straight into a DuckDB `voiso.cdrs` table shaped like the one
target-duckdb writes (the same columns and types, `id` its primary key), rather than
pushed through the tap: the tap's own speed is benchmarks.run's subject, and a million
CDRs through Meltano would measure the loader. All but the last hour's CDRs go in first
(300 of them still open); `dbt run --full-refresh` builds every model (timed); the last
hour's CDRs are inserted (20 of its inbound calls from numbers helped the day before)
and the 300 replaced by their finished, re-costed versions, as target-duckdb's upsert
would; then `dbt run` (incremental, timed); then a `dbt run` that selects no model (timed:
what any dbt command costs here before and after its models).
tests/test_dbt_incremental.py runs the same at 20,000 CDRs and holds the incremental
result equal to a full refresh, model by model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.snowflake import CDRS as SNOWFLAKE_CDRS
from benchmarks.snowflake import DBT_SNOWFLAKE, Snowflake, fakesnow_server
from voiso_simulator.data import Dataset, DatasetSpec, iso_ms, parse_iso

ROOT = Path(__file__).resolve().parents[1]
DUCKDB_PYTHON = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
DBT = ROOT / ".meltano" / "utilities" / "dbt-duckdb" / "venv" / "bin" / "dbt"
DBT_POSTGRES = ROOT / ".meltano" / "utilities" / "dbt-postgres" / "venv" / "bin" / "dbt"
START = "2026-02-02T15:00:00Z"  # a Monday: 30 days on, Wednesday 15:00 UTC
HOUR_MS = 3_600_000
# target-duckdb's table for the tap's `cdrs` stream (read back from a test run's file).
CREATE = """
CREATE SCHEMA IF NOT EXISTS voiso;
CREATE TABLE IF NOT EXISTS voiso.cdrs (
    cost DOUBLE, data JSON, disposition VARCHAR, ended_at TIMESTAMP, "from" JSON,
    id VARCHAR PRIMARY KEY, started_at TIMESTAMP, subtype VARCHAR, tags JSON, "to" JSON,
    type VARCHAR, "user" JSON
);
"""
COLUMNS = (
    "{cost: 'DOUBLE', data: 'JSON', disposition: 'VARCHAR', ended_at: 'TIMESTAMP',"
    " \"from\": 'JSON', id: 'VARCHAR', started_at: 'TIMESTAMP', subtype: 'VARCHAR',"
    " tags: 'JSON', \"to\": 'JSON', type: 'VARCHAR', \"user\": 'JSON'}"
)
LOAD = """
INSERT OR REPLACE INTO voiso.cdrs
SELECT cost, data, disposition, ended_at, "from", id, started_at, subtype, tags, "to", type, "user"
FROM read_json('{path}', format = 'newline_delimited', columns = {columns})
"""
ELAPSED: list[float] = []  # dbt's own elapsed time of each dbt command, in order
# The models dbt_voiso builds.
MODELS = (
    "stg_voiso__cdrs", "voiso__calls", "voiso__conversations", "voiso__sms_messages",
    "voiso__hlr_lookups", "voiso__queue_daily", "voiso__queue_weekly", "voiso__agent_daily",
    "voiso__hourly_volume", "voiso__conversation_sla_daily", "voiso__queue_interval",
    "voiso__agent_interval", "voiso__agent_queue_daily", "voiso__definitions",
)  # fmt: skip


def write_rows(path: Path, rows: list[dict]) -> None:
    """CDRs as newline-delimited JSON, timestamps as target-duckdb lands them (naive UTC)."""
    with path.open("w") as out:
        for row in rows:
            record = dict(row)
            for name in ("started_at", "ended_at"):
                if record[name]:
                    record[name] = record[name].replace("T", " ").rstrip("Z")
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def duckdb(database: Path, script: str) -> str:
    """Run SQL statements with target-duckdb's DuckDB (the file's format); the last's rows."""
    code = (
        "import duckdb, sys\n"
        "db = duckdb.connect(sys.argv[1])\n"
        "statements = [s for s in sys.argv[2].split(';\\n') if s.strip()]\n"
        "for s in statements[:-1]: db.execute(s)\n"
        "print(db.execute(statements[-1]).fetchall())\n"
    )
    return subprocess.run(
        [str(DUCKDB_PYTHON), "-c", code, str(database), script],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def dbt(
    database: Path | int | Snowflake, target: Path, *args: str, schema: str = "voiso_analytics"
) -> float:
    """Seconds one dbt command took as a process (it must succeed); what dbt itself counts
    (its run_results' elapsed time, without start-up and parsing) goes to `ELAPSED`.

    `database`: a DuckDB file, the port of a PostgreSQL on loopback (dbt-postgres, the
    profile's other defaults: database `voiso`, user `postgres`), or a fakesnow server
    (dbt-snowflake)."""
    if isinstance(database, Snowflake):
        executable = DBT_SNOWFLAKE
        warehouse = database.env(schema)
    elif isinstance(database, int):
        executable = DBT_POSTGRES
        warehouse = {"DBT_TARGET": "postgres", "DBT_POSTGRES_PORT": str(database),
                     "DBT_POSTGRES_SCHEMA": schema}  # fmt: skip
    else:
        executable = DBT
        warehouse = {"DBT_TARGET": "duckdb", "DBT_DUCKDB_PATH": str(database),
                     "DBT_DUCKDB_SCHEMA": schema}  # fmt: skip
    env = {
        **os.environ,
        **warehouse,
        "DBT_PROFILES_DIR": str(ROOT / "dbt_voiso" / "profiles"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET_PATH": str(target / "target"),
        "DBT_LOG_PATH": str(target / "logs"),
    }
    began = time.monotonic()
    result = subprocess.run(
        [str(executable), *args, "--project-dir", str(ROOT / "dbt_voiso")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.monotonic() - began
    if result.returncode:
        raise RuntimeError(result.stdout[-3000:])
    results = json.loads((target / "target" / "run_results.json").read_text())
    ELAPSED.append(results["elapsed_time"])
    return wall


def changed_later(first: list[dict], cut: int, count: int) -> list[dict]:
    """CDRs that change after they land, as the tap reads them again: the first load holds
    them open (`ended_at` NULL; a conversation handled in the end as `missed`), the
    hour's load finished and re-costed. Most started in the two hours before the cut; a
    sixth are conversations open for one to three days, finished within the hour."""
    recent = [r for r in first if parse_iso(r["started_at"]) >= cut - 2 * HOUR_MS]
    long_open = [
        r for r in first
        if r["type"] == "conversation"
        and cut - 72 * HOUR_MS <= parse_iso(r["started_at"]) < cut - 24 * HOUR_MS
    ]  # fmt: skip
    picked = recent[:: max(1, len(recent) // (count - count // 6))][: count - count // 6]
    picked += long_open[:: max(1, len(long_open) // (count // 6))][: count // 6]
    changed = []
    for row in picked:
        again = dict(row)
        again["cost"] = round((row["cost"] or 0) + 0.01, 4)
        if parse_iso(row["started_at"]) < cut - 2 * HOUR_MS:
            again["ended_at"] = iso_ms(cut + HOUR_MS // 2)
        row["ended_at"] = None  # the first load's version: still open
        if row["type"] == "conversation" and row["disposition"] != "missed":
            row["disposition"] = "missed"  # not yet picked up: handled only later
        changed.append(again)
    return changed


def model_rows(database: Path, schema: str, model: str) -> list[list]:
    """A model's rows, every column, in one order (DuckDB's ORDER BY ALL)."""
    query = f"SELECT COLUMNS(c -> c <> 'dbt_built_at') FROM {schema}.{model} ORDER BY ALL"  # noqa: S608
    code = (
        "import duckdb, json, sys\n"
        "rows = duckdb.connect(sys.argv[1], read_only=True).execute(sys.argv[2]).fetchall()\n"
        "print(json.dumps(rows, default=str))\n"
    )
    result = subprocess.run(
        [str(DUCKDB_PYTHON), "-c", code, str(database), query],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def calling_back(first: list[dict], last_hour: list[dict], cut: int, count: int = 20) -> int:
    """Make `count` of the hour's inbound calls repeat contacts of calls 20 to 23 hours
    before the cut (the day before, in the center's zone), as callers who were not
    helped call back: an incremental build must rebuild those earlier days too. Returns
    how many it made."""
    earlier = [
        r for r in first
        if r["type"] == "call" and r["subtype"] == "inbound" and r["disposition"] == "answered"
        and r["ended_at"] and cut - 23 * HOUR_MS <= parse_iso(r["ended_at"]) < cut - 20 * HOUR_MS
    ]  # fmt: skip
    later = [r for r in last_hour if r["type"] == "call" and r["subtype"] == "inbound"]
    pairs = list(zip(earlier[:: max(1, len(earlier) // count)], later, strict=False))[:count]
    for before, after in pairs:
        after["from"] = {**after["from"], "phone_number": before["from"]["phone_number"]}
    return len(pairs)


@dataclass
class Result:
    """What one benchmark run measured."""

    cdrs: int
    new_cdrs: int
    changed_cdrs: int
    callbacks: int  # the hour's inbound calls that repeat a call of the day before
    full_seconds: float
    incremental_seconds: float
    full_models_seconds: float  # dbt's elapsed time: the models' SQL, no start-up
    incremental_models_seconds: float
    floor_seconds: float  # a `dbt run` that builds nothing: start-up, parsing, exit
    database: Path


def run(records: int, folder: Path, changed: int = 300, engine: str = "duckdb") -> Result:
    """Load all but the last hour, build in full, add the hour, build incrementally.

    `engine`: `duckdb` (a file shaped like target-duckdb's), or `snowflake` (fakesnow's
    server, tables shaped like target-snowflake's: benchmarks/snowflake.py)."""
    spec = DatasetSpec(
        records=records, seed=11, start=START, span_days=30, burst=0, profile="realistic"
    )
    data = Dataset(spec)
    cut = data.started[-1] - HOUR_MS
    rows = []
    for pos in range(len(data)):
        record = data.record(pos)
        del record["_hidden"]
        rows.append(record)
    first = [r for r, s in zip(rows, data.started, strict=True) if s < cut]
    last_hour = rows[len(first) :]
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "warehouse.duckdb"
    database.unlink(missing_ok=True)
    later = changed_later(first, cut, changed)
    callbacks = calling_back(first, last_hour, cut)
    write_rows(folder / "first.json", first)
    write_rows(folder / "hour.json", last_hour + later)
    if engine == "snowflake":
        with fakesnow_server() as server:
            timed = build(
                server, lambda path: server.load(path, "CDRS", SNOWFLAKE_CDRS, now()), folder
            )
            ((staged,),) = server.sql("SELECT count(*) FROM VOISO_ANALYTICS.STG_VOISO__CDRS")
            if staged != len(rows):  # the builds took every CDR
                raise RuntimeError(f"{staged} CDRs staged of {len(rows)}")
    else:

        def load(path: Path) -> None:
            create = CREATE if path.name == "first.json" else ""
            duckdb(database, create + LOAD.format(path=path, columns=COLUMNS)
                   + ";\nSELECT count(*) FROM voiso.cdrs")  # fmt: skip

        timed = build(database, load, folder)
    full, incremental, floor = timed
    full_models, incremental_models = ELAPSED[-3:-1]
    return Result(
        cdrs=len(rows), new_cdrs=len(last_hour), changed_cdrs=len(later), callbacks=callbacks,
        full_seconds=full, incremental_seconds=incremental,
        full_models_seconds=full_models, incremental_models_seconds=incremental_models,
        floor_seconds=floor,
        database=database,
    )  # fmt: skip


def now() -> str:
    """The time, as a loader stamps its batch (naive UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def build(
    warehouse: Path | Snowflake, load: Callable[[Path], None], folder: Path
) -> tuple[float, float, float]:
    """Seconds of the full build of `first.json`, the incremental one after `hour.json`,
    and a `dbt run` that builds nothing (start-up, parsing, exit)."""
    load(folder / "first.json")
    full = dbt(warehouse, folder, "run", "--full-refresh")
    load(folder / "hour.json")
    incremental = dbt(warehouse, folder, "run")
    # What any `dbt run` costs here before and after its models: one that selects none.
    floor = dbt(warehouse, folder, "run", "--select", "tag:voiso_no_such_tag")
    return full, incremental, floor


def main() -> None:
    """Generate, load, build in full, add an hour, build incrementally, report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    parser.add_argument("--engine", choices=("duckdb", "snowflake"), default="duckdb")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="dbt-bench-"))
    result = run(args.records, folder, engine=args.engine)
    print(f"{args.engine}: {result.cdrs} CDRs in voiso.cdrs ({args.records} generated)")
    print(
        f"full build (dbt run --full-refresh), all but the last hour: {result.full_seconds:.1f} s"
        f" (dbt's elapsed time, start-up and parsing left out: {result.full_models_seconds:.1f} s)"
    )
    print(
        f"incremental build (dbt run) after {result.new_cdrs} new CDRs (the last hour)"
        f" and {result.changed_cdrs} changed: {result.incremental_seconds:.1f} s"
        f" = {result.incremental_seconds / result.full_seconds:.1%} of the full build"
        f" (dbt's elapsed time: {result.incremental_models_seconds:.1f} s ="
        f" {result.incremental_models_seconds / result.full_models_seconds:.1%})"
    )
    beyond = result.incremental_seconds - result.floor_seconds
    print(
        f"a dbt run that builds no model (start-up, parsing, exit): {result.floor_seconds:.1f} s;"
        f" the incremental build beyond it: {beyond:.1f} s"
        f" = {beyond / (result.full_seconds - result.floor_seconds):.1%} of the full build's"
    )
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
