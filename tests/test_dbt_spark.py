"""dbt_voiso on Apache Spark (dbt-spark's `session` method, pyspark) equals its DuckDB build.

Four days of the simulator's realistic CDRs across the night New York's clocks go
forward (2026-03-08), with the directory (users and their teams, campaigns), counted in
New York time. Spark reads them as a lakehouse lands Singer output: the files
target-jsonl writes, behind the tables `voiso_spark_create_sources` creates (objects as
structs); DuckDB reads the same CDRs as target-duckdb lands them. Both are built in full
(benchmarks/dbt_build.run: all but the last hour), then the last hour lands (new CDRs,
300 finished and re-costed ones as later versions, callers of the day before calling
back: a second JSONL file on Spark, an upsert on DuckDB) and both build incrementally.
After each build every model on Spark equals DuckDB's row for row: every column but
`dbt_built_at`, numbers within 1e-6, timestamps equal, JSON columns the same values
(a team's id as text).
tests/test_dbt_clocks_forward.py holds the DuckDB build of this night equal to
tests/kpis.py's ground truth. Last, the way a user runs it: Meltano runs the tap into
target-jsonl and the `dbt-spark` utility's `create-sources` and `build` over its files.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from benchmarks import dbt_build
from tests import engines
from tests.conftest import sim_server
from tests.test_dbt import duckdb_rows
from tests.test_dbt_clocks_forward import ZONE
from tests.test_meltano import jsonl_ids, meltano
from voiso_simulator import serving
from voiso_simulator.data import Dataset, DatasetSpec
from voiso_simulator.directory import Directory

SPEC = DatasetSpec(
    records=3000, seed=21, start="2026-03-06T00:00:00Z", span_days=4, burst=0,
    profile="realistic", timezone="Asia/Manila",
)  # fmt: skip
OPTIONS = {"voiso_timezone": ZONE}
MODELS = (
    *dbt_build.MODELS,
    "stg_voiso__users", "stg_voiso__user_teams", "stg_voiso__campaigns",
    "voiso__agents", "voiso__agent_teams", "voiso__team_daily", "voiso__campaign_daily",
)  # fmt: skip
STAGES = ("full", "incremental")
Built = dict[str, dict[str, list[dict[str, Any]]]]  # stage: model: rows


def directory() -> dict[str, list[dict[str, Any]]]:
    """The users and campaigns the directory lists, as the tap's streams emit them."""
    listing = Directory(Dataset(SPEC))
    return {
        resource: [listing.objects[resource][key] for key in listing.listed_now(resource)]
        for resource in ("users", "campaigns")
    }


def build(engine: str, folder: Path) -> tuple[dbt_build.Result, Built]:
    """Full build, then the hour and the incremental build; every model read after each."""
    built: Built = {}

    def read(stage: str, result_folder: Path) -> None:
        if engine == "spark":
            built[stage] = dbt_build.Spark(result_folder).model_rows("voiso_analytics", MODELS)
        else:
            database = result_folder / "warehouse.duckdb"
            query = "SELECT * FROM voiso_analytics.{}"
            built[stage] = {
                model: duckdb_rows(database, query.format(model), as_dicts=True) for model in MODELS
            }

    result = dbt_build.run(
        0, folder, engine=engine, spec=SPEC, directory=directory(), options=OPTIONS,
        after_full=lambda: read("full", folder), floor=False,
    )  # fmt: skip
    read("incremental", folder)
    return result, built


@pytest.fixture(scope="module")
def duckdb(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build("duckdb", tmp_path_factory.mktemp("dbt-duckdb"))[1]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> tuple[dbt_build.Result, Built]:
    return build("spark", tmp_path_factory.mktemp("dbt-spark"))


def without_nulls(value: Any, ids_as_text: bool = False) -> Any:
    """A JSON value with its null fields left out (Spark's to_json writes none); with
    `ids_as_text`, each `id` as text (Spark's `users` declares a team's id text, which
    the API leaves an integer or a string: both engines' team_id is text)."""
    if isinstance(value, dict):
        return {
            k: str(v) if k == "id" and ids_as_text else without_nulls(v, ids_as_text)
            for k, v in value.items()
            if v is not None
        }
    if isinstance(value, list):
        return [without_nulls(v, ids_as_text) for v in value]
    return value


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their JSON text parsed and null fields left out (see without_nulls),
    for tests/engines.py to compare."""
    return [
        {
            column: without_nulls(json.loads(value), column.endswith("teams_json"))
            if column.endswith("_json") and isinstance(value, str) and value
            else value
            for column, value in row.items()
        }
        for row in rows
    ]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stage", STAGES)
def test_every_model_on_spark_equals_duckdb(
    duckdb: Built, spark: tuple[dbt_build.Result, Built], stage: str, model: str
) -> None:
    assert duckdb[stage][model]  # every model has rows in this data set
    got, want = spark[1][stage][model], duckdb[stage][model]
    assert engines.differences(comparable(got), comparable(want)) == []


def test_the_data_crosses_the_night_and_the_hour_changed_cdrs(
    spark: tuple[dbt_build.Result, Built],
) -> None:
    """Not a vacuous equality: the jump's night is in the data, the hour brought new
    CDRs and later versions of landed ones, and Spark's staging holds each CDR once, in
    its latest version (from two files where the CDR was landed twice)."""
    result, built = spark
    assert result.new_cdrs > 20
    assert result.changed_cdrs > 50
    assert result.callbacks >= 10
    staged = built["incremental"]["stg_voiso__cdrs"]
    assert len(staged) == result.cdrs == len({row["cdr_id"] for row in staged})
    assert len(built["full"]["stg_voiso__cdrs"]) == result.cdrs - result.new_cdrs
    open_then = {r["cdr_id"] for r in built["full"]["stg_voiso__cdrs"] if r["ended_at"] is None}
    still_open = {r["cdr_id"] for r in staged if r["ended_at"] is None}
    assert len(open_then - still_open) >= result.changed_cdrs // 2  # the later versions won
    days = {row["local_date"] for row in built["incremental"]["voiso__queue_daily"]}
    assert "2026-03-08" in days
    assert built["incremental"]["voiso__agent_teams"]  # the directory was read


def test_the_incremental_build_on_spark_overwrote_only_some_days(
    spark: tuple[dbt_build.Result, Built],
) -> None:
    """Spark's CDR models are partitioned by day: the incremental build rewrote the
    days of the changed CDRs, and kept the others (the full build's `dbt_built_at`)."""
    built = spark[1]["incremental"]
    for model in ("stg_voiso__cdrs", "voiso__calls"):
        built_at = {row["local_date"]: row["dbt_built_at"] for row in built[model]}
        runs = Counter(built_at.values())
        assert len(runs) == 2, (model, runs)
        rebuilt = max(runs)  # the later build's time
        assert 0 < runs[rebuilt] < len(built_at), (model, runs)


def test_meltano_runs_the_tap_into_jsonl_and_builds_the_package_on_spark(tmp_path: Path) -> None:
    """The way a user runs it: `meltano run tap-voiso target-jsonl dbt-spark:create-sources
    dbt-spark:build` against the simulator, the utility's settings pointing Spark and the
    JSONL folder at `tmp_path`; the build (models, data and unit tests) passes, and
    staging holds each CDR target-jsonl wrote, once."""
    env = {
        "DBT_SPARK_SPARK_DIR": str(tmp_path / "spark"),
        "DBT_SPARK_JSONL_PATH": str(tmp_path / "jsonl"),
        "DBT_SPARK_VARS": json.dumps(OPTIONS),
    }
    with serving(sim_server(records=400, seed=5, span_days=3, burst=0)) as server:
        steps = ("tap-voiso", "target-jsonl", "dbt-spark:create-sources", "dbt-spark:build")
        meltano(tmp_path, server, "run", *steps, **env)
        served = {record["id"] for record in server.simulator.visible_records()}
    landed = jsonl_ids(tmp_path / "jsonl" / "cdrs.jsonl")
    assert set(landed) == served
    staged = dbt_build.Spark(tmp_path).model_rows("voiso_analytics", ("stg_voiso__cdrs",))
    assert sorted(row["cdr_id"] for row in staged["stg_voiso__cdrs"]) == sorted(served)
