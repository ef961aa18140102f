"""dbt_voiso on Snowflake (fakesnow's local server) equals its DuckDB build, model by model.

The data, the loads and the comparison are tests/warehouse_pair.py's; Snowflake's tables
are laid out as MeltanoLabs target-snowflake writes this tap's SCHEMA
(benchmarks/snowflake.py: it cannot load into fakesnow itself, which takes no PUT).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks import dbt_build, snowflake
from tests import engines
from tests import warehouse_pair as pair
from tests.test_meltano import meltano

LANDING = {
    "cdrs": ("CDRS", snowflake.CDRS),
    "users": ("USERS", snowflake.USERS),
    "campaigns": ("CAMPAIGNS", snowflake.CAMPAIGNS),
}


@pytest.fixture(scope="module")
def loads(tmp_path_factory: pytest.TempPathFactory) -> pair.Loads:
    return pair.write_loads(tmp_path_factory.mktemp("dbt-snowflake"))


@pytest.fixture(scope="module")
def built(loads: pair.Loads) -> Iterator[tuple[snowflake.Snowflake, Path]]:
    with snowflake.fakesnow_server() as server:
        pair.build_both(loads, pair.Landing(server, LANDING, "VOISO_ANALYTICS"))
        yield server, loads.folder / "warehouse.duckdb"


@pytest.mark.parametrize("step", ["full", "incremental"])
def test_every_model_on_snowflake_equals_duckdb(loads, built, step):
    pair.assert_equal_builds(loads, step)


def test_the_data_spans_the_night_the_clocks_go_forward_and_the_hour_changed_it(loads, built):
    """Not a vacuous equality: the zone's short day, the new hour and its changes."""
    pair.assert_the_data_is_not_vacuous(loads)


def test_a_native_uuid_id_reads_as_the_same_text(loads, built):
    """target-snowflake's default `uuid_format` (native) lands `ID` as UUID: the staging
    model reads it as the same lower-case text as `uuid_format: string`'s VARCHAR(36)."""
    server, _ = built
    native = tuple(
        ("ID", "UUID") if name == "ID" else (name, kind) for name, kind in snowflake.CDRS
    )
    for path, batch in (("first.json", pair.FIRST_BATCH), ("hour.json", pair.HOUR_BATCH)):
        server.load(loads.folder / path, "CDRS", native, batch, schema="VOISO_UUID")
    landed = server.sql(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = 'VOISO_UUID'"
        " AND table_name = 'CDRS' AND column_name = 'ID'"
    )
    assert landed == [["UUID"]]
    options = json.dumps({"voiso_timezone": pair.ZONE, "voiso_source_schema": "VOISO_UUID"})
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
        **server.env("VOISO_ANALYTICS"), "DBT_SNOWFLAKE_VARS": pair.VARS,
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
