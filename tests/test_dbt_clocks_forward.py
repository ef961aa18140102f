"""dbt_voiso's interval models on the night the clocks go forward, on DuckDB and PostgreSQL.

New York's clocks jump from 02:00 to 03:00 on 2026-03-08: that local day has 23 hours,
92 quarter hours, and no 02:00-02:59. Realistic CDRs across that night (the center keeps
Manila's business hours, so New York's small hours are busy ones) are written straight
into a `voiso.cdrs` shaped like target-duckdb's and one shaped like target-postgres's,
without the tap or Meltano (as benchmarks/dbt_build.py does), and built at 15 and
30 minutes in New York time. Every column of the interval, daily and weekly models must equal
tests/kpis.py's, computed from the same CDRs; no interval may start in the skipped hour,
and the last interval before the jump and the first after it are one interval apart in
UTC. tests/test_dbt.py covers the night the clocks go back (2026-11-01), through full
Meltano runs.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from benchmarks import dbt_build
from tests import kpis
from tests.postgres import postgres_server
from tests.test_dbt import EXPECTED, KEYS, MODELS, assert_matches, duckdb_rows, text
from voiso_simulator.data import Dataset, DatasetSpec

ZONE = "America/New_York"
DAY = "2026-03-08"  # 02:00 EST (07:00 UTC) becomes 03:00 EDT
DAY_UTC = ("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z")  # its local midnights
JUMP = "2026-03-08T07:00:00Z"  # 03:00 EDT, the first moment after the jump
# Interval minutes: the schema built at that grain, in New York time.
SCHEMAS = {15: "voiso_ny_15", 30: "voiso_ny_30"}
# Interval minutes: the last interval's wall-clock start before the jump.
BEFORE = {15: f"{DAY} 01:45:00", 30: f"{DAY} 01:30:00"}
INTERVAL_MODELS = ("voiso__queue_interval", "voiso__agent_interval")
WAREHOUSES = ("duckdb", "postgres")
# target-postgres 0.8.1's table for the tap's `cdrs` schema (its connector's types for
# tap_voiso.cdrs.schemas.cdr_schema()), with the batch time it writes on every row.
PG_CREATE = """
CREATE SCHEMA voiso;
CREATE TABLE voiso.cdrs (
    id UUID PRIMARY KEY, type TEXT, subtype TEXT, disposition TEXT, "from" JSONB, "to" JSONB,
    "user" JSONB, cost DECIMAL, tags TEXT[], started_at TIMESTAMP WITHOUT TIME ZONE,
    ended_at TIMESTAMP WITHOUT TIME ZONE, data JSONB,
    _sdc_batched_at TIMESTAMP WITHOUT TIME ZONE DEFAULT (now() AT TIME ZONE 'UTC')
)
"""
# The NDJSON rows into it, with psycopg2 (dbt-postgres's): objects as jsonb, tags as text[].
PG_LOAD = """
import json, sys
import psycopg2
from psycopg2.extras import Json, execute_values
port, path = sys.argv[1:]
columns = ("id", "type", "subtype", "disposition", "from", "to", "user", "cost", "tags",
           "started_at", "ended_at", "data")
with open(path) as lines:
    rows = [json.loads(line) for line in lines]
values = [[Json(r[c]) if isinstance(r[c], dict) else r[c] for c in columns] for r in rows]
names = ", ".join(f'"{c}"' for c in columns)
with psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="voiso") as db:
    execute_values(db.cursor(), f"INSERT INTO voiso.cdrs ({names}) VALUES %s", values)
"""
PG_PYTHON = dbt_build.DBT_POSTGRES.parent / "python"

Built = dict[int, dict[str, list[dict[str, Any]]]]  # minutes: model: rows


def rules(minutes: int) -> kpis.Definitions:
    return kpis.Definitions(timezone=ZONE, interval_minutes=minutes)


@pytest.fixture(scope="module")
def served() -> list[dict[str, Any]]:
    """Four days of realistic CDRs around the night, as the API serves them."""
    spec = DatasetSpec(
        records=3000, seed=21, start="2026-03-06T00:00:00Z", span_days=4, burst=0,
        profile="realistic", timezone="Asia/Manila",
    )  # fmt: skip
    data = Dataset(spec)
    return [json.loads(data.record_json(pos)) for pos in range(len(data))]


@pytest.fixture(scope="module")
def cdrs_file(served: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cdrs") / "cdrs.json"
    dbt_build.write_rows(path, served)
    return path


def build(warehouse: Path | int, folder: Path) -> None:
    """The four models and what they read, at each grain into its schema."""
    for minutes, schema in SCHEMAS.items():
        options = json.dumps(rules(minutes).dbt_vars())
        select = [f"+{model}" for model in MODELS]
        dbt_build.dbt(warehouse, folder, "run", "--select", *select, "--vars", options,
                      schema=schema)  # fmt: skip


@pytest.fixture(scope="module")
def duckdb(cdrs_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("dbt-duckdb")
    database = folder / "warehouse.duckdb"
    load = dbt_build.LOAD.format(path=cdrs_file, columns=dbt_build.COLUMNS)
    dbt_build.duckdb(database, dbt_build.CREATE + load + ";\nSELECT count(*) FROM voiso.cdrs")
    build(database, folder)
    return {
        minutes: {
            model: duckdb_rows(database, f"SELECT * FROM {schema}.{model}", as_dicts=True)  # noqa: S608
            for model in MODELS
        }
        for minutes, schema in SCHEMAS.items()
    }


@pytest.fixture(scope="module")
def postgres(cdrs_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("dbt-postgres")
    with postgres_server() as server:
        server.sql(PG_CREATE)
        subprocess.run(
            [str(PG_PYTHON), "-c", PG_LOAD, str(server.port), str(cdrs_file)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        build(server.port, folder)

        def rows(query: str) -> list[dict[str, Any]]:
            as_json = f"SELECT row_to_json(t) FROM ({query}) t"  # noqa: S608
            return [json.loads(row[0]) for row in server.sql(as_json)]

        yield {
            minutes: {model: rows(f"SELECT * FROM {schema}.{model}") for model in MODELS}  # noqa: S608
            for minutes, schema in SCHEMAS.items()
        }


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("minutes", SCHEMAS)
@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_kpis_match_ground_truth(
    request: pytest.FixtureRequest,
    served: list[dict[str, Any]],
    warehouse: str,
    minutes: int,
    model: str,
) -> None:
    built = request.getfixturevalue(warehouse)[minutes][model]
    expected = cast(
        "dict[tuple[str, ...], dict[str, Any]]", EXPECTED[model](served, rules(minutes))
    )
    assert expected
    assert_matches(built, expected, KEYS[model])


def wall_clock_starts(minutes: int) -> set[str]:
    """Every interval start New York's clocks show on the day, minute by minute."""
    first, end = (int(kpis.moment(t).timestamp() // 60) for t in DAY_UTC)
    return {
        kpis.interval_of(kpis.iso_minute(minute), rules(minutes))[1] for minute in range(first, end)
    }


def utc(value: Any) -> datetime:
    """A UTC start as the warehouse returns it, as a moment."""
    return kpis.moment(text(value).replace(" ", "T") + "Z")


@pytest.mark.parametrize("minutes", SCHEMAS)
@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_night_the_clocks_go_forward_has_no_2am_hour(
    request: pytest.FixtureRequest, warehouse: str, minutes: int
) -> None:
    """New York, 2026-03-08: 92 quarter hours (46 half hours); none starts at 02:xx, and
    the interval before the jump starts one interval (in UTC) before 03:00's."""
    possible = wall_clock_starts(minutes)
    assert len(possible) == {15: 92, 30: 46}[minutes]  # 23 hours
    assert not {s for s in possible if s.startswith(f"{DAY} 02:")}
    before, after = BEFORE[minutes], f"{DAY} 03:00:00"
    assert {before, after} <= possible
    built = request.getfixturevalue(warehouse)[minutes]
    for model in INTERVAL_MODELS:
        starts: dict[str, set[str]] = {}
        for row in built[model]:
            starts.setdefault(text(row["interval_start_local"]), set()).add(
                text(row["interval_start_utc"])
            )
        assert not [local for local in starts if local.startswith(f"{DAY} 02:")], model
        on_the_day = {local for local in starts if local.startswith(DAY)}
        assert on_the_day <= possible, (model, on_the_day - possible)
        assert all(len(moments) == 1 for moments in starts.values()), model  # no hour twice
        # Not vacuous: the data has contacts on both sides of the jump.
        assert before in starts, model
        assert after in starts, model
        ((first,), (second,)) = (starts[before], starts[after])
        assert utc(second) == kpis.moment(JUMP), model
        assert utc(second) - utc(first) == timedelta(minutes=minutes), model
