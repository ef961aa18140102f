"""dbt_voiso on BigQuery (bqemulator's local server) equals its DuckDB build, model by model.

The data, the loads and the comparison are tests/warehouse_pair.py's; BigQuery's tables
are laid out as a BigQuery target writes this tap's SCHEMA with typed columns (objects
and arrays JSON, moments TIMESTAMP: benchmarks/bigquery.py), upserted on `id`.
bqemulator runs GoogleSQL on DuckDB through SQLGlot: it is not BigQuery, and
docs/warehouses.md says what that does and does not prove.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from benchmarks import bigquery
from tests import warehouse_pair as pair
from tests.test_meltano import meltano

LANDING = {
    "cdrs": ("cdrs", bigquery.CDRS),
    "users": ("users", bigquery.USERS),
    "campaigns": ("campaigns", bigquery.CAMPAIGNS),
}


@pytest.fixture(scope="module")
def loads(tmp_path_factory: pytest.TempPathFactory) -> pair.Loads:
    return pair.write_loads(tmp_path_factory.mktemp("dbt-bigquery"))


@pytest.fixture(scope="module")
def built(loads: pair.Loads) -> Iterator[bigquery.BigQuery]:
    with bigquery.bqemulator_server() as server:
        pair.build_both(loads, pair.Landing(server, LANDING, "voiso_analytics"))
        yield server


@pytest.mark.parametrize("step", ["full", "incremental"])
def test_every_model_on_bigquery_equals_duckdb(loads, built, step):
    pair.assert_equal_builds(loads, step)


def test_the_data_spans_the_night_the_clocks_go_forward_and_the_hour_changed_it(loads, built):
    """Not a vacuous equality: the zone's short day, the new hour and its changes."""
    pair.assert_the_data_is_not_vacuous(loads)


def test_the_meltano_utility_runs_the_package_tests_on_the_build(loads, built, tmp_path):
    """`meltano invoke dbt-bigquery:test`, its settings pointing at bqemulator: the
    utility's command and settings reach the profile, and the package's data and unit
    tests pass on BigQuery's build (run_results: none failed)."""
    env = {
        **built.env("voiso_analytics"), "DBT_BIGQUERY_VARS": pair.VARS,
        "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs"),
    }  # fmt: skip
    del env["DBT_TARGET"]  # the utility's own
    meltano(
        tmp_path, SimpleNamespace(url="http://127.0.0.1:9"), "invoke", "dbt-bigquery:test", **env
    )
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    assert len(results) > 50
    assert {r["status"] for r in results} <= {"pass", "warn"}
