"""dbt_voiso at a million CDRs on DuckDB: a full build, then an incremental one after an hour.

    .venv/bin/python -m benchmarks.dbt_build                 # 1,000,000 CDRs
    .venv/bin/python -m benchmarks.dbt_build --records 20000 --keep /tmp/bench
    .venv/bin/python -m benchmarks.dbt_build --records 100000 --engine snowflake  # fakesnow
    .venv/bin/python -m benchmarks.dbt_build --records 100000 --engine bigquery  # bqemulator
    .venv/bin/python -m benchmarks.dbt_build --records 100000 --engine spark

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

`--engine snowflake`: the same CDRs in fakesnow's server, tables laid out as MeltanoLabs
target-snowflake writes them (benchmarks/snowflake.py), built by dbt-snowflake.
`--engine spark`: the same CDRs as target-jsonl writes them (`cdrs.jsonl`, then the
hour's, new and changed versions, as a second file), read by Spark through the tables
`dbt run-operation voiso_spark_create_sources` creates, built by dbt-spark's `session`
method (tests/test_dbt_spark.py holds its models equal to DuckDB's).
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
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.bigquery import CDRS as BIGQUERY_CDRS
from benchmarks.bigquery import DBT_BIGQUERY, BigQuery, bqemulator_server
from benchmarks.snowflake import CDRS as SNOWFLAKE_CDRS
from benchmarks.snowflake import DBT_SNOWFLAKE, Snowflake, fakesnow_server
from voiso_simulator.data import Dataset, DatasetSpec, iso_ms, parse_iso

ROOT = Path(__file__).resolve().parents[1]
DUCKDB_PYTHON = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
DBT = ROOT / ".meltano" / "utilities" / "dbt-duckdb" / "venv" / "bin" / "dbt"
DBT_POSTGRES = ROOT / ".meltano" / "utilities" / "dbt-postgres" / "venv" / "bin" / "dbt"
DBT_SPARK = ROOT / ".meltano" / "utilities" / "dbt-spark" / "venv" / "bin" / "dbt"
SPARK_PYTHON = DBT_SPARK.parent / "python"
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


@dataclass(frozen=True)
class Spark:
    """A Spark warehouse of dbt-spark's `session` method in `folder`: Spark's directory
    (warehouse and metastore, the profile's DBT_SPARK_DIR) and the folder target-jsonl
    writes (`jsonl`, DBT_SPARK_JSONL_PATH)."""

    folder: Path

    @property
    def spark_dir(self) -> Path:
        return self.folder / "spark"

    @property
    def jsonl(self) -> Path:
        return self.folder / "jsonl"

    def land(self, stream: str, rows: list[dict], suffix: str = "") -> None:
        """Rows as target-jsonl writes them: each record as the tap emits it, one line,
        into `<stream><suffix>.jsonl` (a suffix: its do_timestamp_file's second file)."""
        self.jsonl.mkdir(parents=True, exist_ok=True)
        with (self.jsonl / f"{stream}{suffix}.jsonl").open("w") as out:
            out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)

    def model_rows(self, schema: str, models: tuple[str, ...]) -> dict[str, list[dict]]:
        """Each model's rows (dicts) as Spark reads the parquet files dbt-spark wrote
        (partition columns typed from their folders' names)."""
        code = (
            "import decimal, json, sys\n"
            "from pyspark.sql import SparkSession\n"
            "spark = (SparkSession.builder.config('spark.sql.session.timeZone', 'UTC')\n"
            "         .config('spark.ui.enabled', 'false').getOrCreate())\n"
            "out = {}\n"
            "for model in sys.argv[2:]:\n"
            "    rows = spark.read.parquet(f'{sys.argv[1]}/{model}').collect()\n"
            "    out[model] = [{k: float(v) if isinstance(v, decimal.Decimal) else v\n"
            "                   for k, v in r.asDict().items()} for r in rows]\n"
            "print(json.dumps(out, default=str))\n"
        )
        tables = self.spark_dir / "warehouse" / f"{schema}.db"
        result = subprocess.run(
            [str(SPARK_PYTHON), "-c", code, str(tables), *models],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return json.loads(result.stdout.splitlines()[-1])


def write_rows(path: Path, rows: list[dict]) -> None:
    """CDRs as newline-delimited JSON, timestamps as target-duckdb lands them (naive UTC)."""
    with path.open("w") as out:
        for row in rows:
            record = dict(row)
            for name in ("started_at", "ended_at"):
                if record.get(name):
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
    database: Path | int | Snowflake | Spark | BigQuery,
    target: Path,
    *args: str,
    schema: str = "voiso_analytics",
) -> float:
    """Seconds one dbt command took as a process (it must succeed); what dbt itself counts
    (its run_results' elapsed time, without start-up and parsing) goes to `ELAPSED`.

    `database`: a DuckDB file, the port of a PostgreSQL on loopback (dbt-postgres, the
    profile's other defaults: database `voiso`, user `postgres`), a fakesnow server
    (dbt-snowflake), a Spark (dbt-spark), or a bqemulator server (dbt-bigquery)."""
    if isinstance(database, Snowflake):
        executable = DBT_SNOWFLAKE
        warehouse = database.env(schema)
    elif isinstance(database, BigQuery):
        executable = DBT_BIGQUERY
        warehouse = database.env(schema)
    elif isinstance(database, Spark):
        executable = DBT_SPARK
        warehouse = {"DBT_TARGET": "spark", "DBT_SPARK_DIR": str(database.spark_dir),
                     "DBT_SPARK_JSONL_PATH": str(database.jsonl),
                     "DBT_SPARK_SCHEMA": schema}  # fmt: skip
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


# target-duckdb's tables for the tap's directory streams that dbt_voiso reads (objects
# and lists as JSON), for `run(directory=...)`.
DIRECTORY_COLUMNS = {
    "users": "{id: 'VARCHAR', name: 'VARCHAR', email: 'VARCHAR', sip_account: 'VARCHAR',"
    " extension: 'VARCHAR', caller_id: 'VARCHAR', employee_id: 'VARCHAR', timezone: 'VARCHAR',"
    " security_access_group: 'JSON', teams: 'JSON', supervised_teams: 'JSON'}",
    "campaigns": "{id: 'BIGINT', name: 'VARCHAR', status: 'VARCHAR', strategy: 'VARCHAR',"
    " dial_level: 'DOUBLE', created_at: 'TIMESTAMP', updated_at: 'TIMESTAMP'}",
}
# The second file target-jsonl writes with `do_timestamp_file` (a later run's).
HOUR_SUFFIX = "-20260304T150000"


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
    floor_seconds: float  # a `dbt run` that builds no model: start-up, parsing, exit
    database: Path  # the DuckDB file (engine duckdb)
    spark: Spark | None = None  # the Spark warehouse (engine spark)


def load_server(server: Snowflake | BigQuery, path: Path) -> None:
    """Upsert a file of CDRs into a server's `cdrs`, as its loader would."""
    if isinstance(server, Snowflake):
        server.load(path, "CDRS", SNOWFLAKE_CDRS, now())
    else:
        server.load(path, "cdrs", BIGQUERY_CDRS, now())


def now() -> str:
    """The time, as a loader stamps its batch (naive UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class Landings:
    """The CDRs of a data set as two loads land them: all but the last hour's (some
    still open), then the hour's and the later versions of the changed ones."""

    first: list[dict]
    hour: list[dict]
    new_cdrs: int
    changed_cdrs: int
    callbacks: int


def landings(spec: DatasetSpec, changed: int = 300) -> Landings:
    """Split the data set's CDRs at an hour before the last start (see the docstring)."""
    data = Dataset(spec)
    cut = data.started[-1] - HOUR_MS
    rows = []
    for pos in range(len(data)):
        record = data.record(pos)
        del record["_hidden"]
        rows.append(record)
    first = [r for r, s in zip(rows, data.started, strict=True) if s < cut]
    last_hour = rows[len(first) :]
    later = changed_later(first, cut, changed)
    callbacks = calling_back(first, last_hour, cut)
    return Landings(first, last_hour + later, len(last_hour), len(later), callbacks)


def load_duckdb(database: Path, folder: Path, name: str, rows: list[dict], first: bool) -> None:
    """CDRs into `voiso.cdrs` as target-duckdb's upsert lands them (the table created first)."""
    write_rows(folder / name, rows)
    create = CREATE if first else ""
    duckdb(database, create + LOAD.format(path=folder / name, columns=COLUMNS)
           + ";\nSELECT count(*) FROM voiso.cdrs")  # fmt: skip


def run(
    records: int,
    folder: Path,
    changed: int = 300,
    engine: str = "duckdb",
    spec: DatasetSpec | None = None,
    directory: dict[str, list[dict]] | None = None,
    options: dict | None = None,
    after_full: Callable[[], None] | None = None,
    floor: bool = True,
) -> Result:
    """Load all but the last hour, build in full, add the hour, build incrementally.
    `spec`: another data set than `records` realistic CDRs over 30 days; `directory`:
    rows of `users` and `campaigns` landed with the first load; `options`: dbt vars;
    `after_full`: called after the full build (to read it); `floor`: time a run of no
    model too (else its time is 0). `engine`: `duckdb` (a file shaped like
    target-duckdb's), `snowflake` (fakesnow's server, tables shaped like
    target-snowflake's: benchmarks/snowflake.py), `bigquery` (bqemulator's server:
    benchmarks/bigquery.py) or `spark` (target-jsonl's files)."""
    spec = spec or DatasetSpec(
        records=records, seed=11, start=START, span_days=30, burst=0, profile="realistic"
    )
    land = landings(spec, changed)
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "warehouse.duckdb"
    spark = Spark(folder) if engine == "spark" else None
    chosen = ("--vars", json.dumps(options)) if options else ()
    with ExitStack() as stack:
        warehouse: Path | Snowflake | Spark | BigQuery = database
        if engine in ("snowflake", "bigquery"):
            if directory:
                raise ValueError("directory rows: engines duckdb and spark only")
            server = stack.enter_context(
                fakesnow_server() if engine == "snowflake" else bqemulator_server()
            )
            warehouse = server
            write_rows(folder / "first.json", land.first)
            load_server(server, folder / "first.json")
        elif spark:
            warehouse = spark
            shutil.rmtree(spark.folder / "spark", ignore_errors=True)
            shutil.rmtree(spark.jsonl, ignore_errors=True)
            spark.land("cdrs", land.first)
            for stream, rows in (directory or {}).items():
                spark.land(stream, rows)
            streams = json.dumps({"streams": ["cdrs", *(directory or {})]})
            dbt(spark, folder, "run-operation", "voiso_spark_create_sources", "--args", streams)
        else:
            database.unlink(missing_ok=True)
            load_duckdb(database, folder, "first.json", land.first, first=True)
            for stream, rows in (directory or {}).items():
                write_rows(folder / f"{stream}.json", rows)
                duckdb(database, f"CREATE TABLE voiso.{stream} AS SELECT * FROM read_json("  # noqa: S608
                       f"'{folder / stream}.json', format = 'newline_delimited',"
                       f" columns = {DIRECTORY_COLUMNS[stream]});\nSELECT 1")  # fmt: skip
        full = dbt(warehouse, folder, "run", "--full-refresh", *chosen)
        if after_full:
            after_full()
        if isinstance(warehouse, Snowflake | BigQuery):
            write_rows(folder / "hour.json", land.hour)
            load_server(warehouse, folder / "hour.json")
        elif spark:
            spark.land("cdrs", land.hour, suffix=HOUR_SUFFIX)
        else:
            load_duckdb(database, folder, "hour.json", land.hour, first=False)
        incremental = dbt(warehouse, folder, "run", *chosen)
        # What any `dbt run` costs here before and after its models: one that selects none.
        nothing = (
            dbt(warehouse, folder, "run", "--select", "tag:voiso_no_such_tag") if floor else 0.0
        )
        full_models, incremental_models = ELAPSED[-3:-1] if floor else ELAPSED[-2:]
        staged = len(land.first) + land.new_cdrs
        if isinstance(warehouse, Snowflake):
            ((staged,),) = warehouse.sql("SELECT count(*) FROM VOISO_ANALYTICS.STG_VOISO__CDRS")
        elif isinstance(warehouse, BigQuery):
            ((row,),) = warehouse.query("SELECT count(*) AS n FROM voiso_analytics.stg_voiso__cdrs")
            staged = row["n"]
        if staged != len(land.first) + land.new_cdrs:  # the builds took every CDR
            raise RuntimeError(f"{staged} CDRs staged of {len(land.first) + land.new_cdrs}")
    return Result(
        cdrs=len(land.first) + land.new_cdrs, new_cdrs=land.new_cdrs,
        changed_cdrs=land.changed_cdrs, callbacks=land.callbacks,
        full_seconds=full, incremental_seconds=incremental,
        full_models_seconds=full_models, incremental_models_seconds=incremental_models,
        floor_seconds=nothing,
        database=database, spark=spark,
    )  # fmt: skip


def main() -> None:
    """Generate, load, build in full, add an hour, build incrementally, report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    parser.add_argument(
        "--engine", choices=("duckdb", "snowflake", "bigquery", "spark"), default="duckdb"
    )
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
