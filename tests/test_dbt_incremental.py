"""dbt_voiso's incremental build equals a full refresh, on DuckDB (benchmarks/dbt_build.py).

20,000 realistic CDRs but their last hour are written into a DuckDB `voiso.cdrs` shaped
like target-duckdb's (a few hundred of them still open) and built in full; the last hour
lands, with those finished and re-costed (some conversations open for days), as
target-duckdb's upsert would replace them, and some of its inbound calls come from
numbers helped the day before (repeat contacts of an earlier day), and the incremental
build must then hold exactly what a full refresh of the same table builds, in every
model (but `dbt_built_at`, the time of the build that wrote each row).
"""

from __future__ import annotations

import ast
import math
import shutil
from pathlib import Path

import pytest

from benchmarks import dbt_build


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dbt_build.Result:
    folder: Path = tmp_path_factory.mktemp("dbt-incremental")
    result = dbt_build.run(20_000, folder)
    dbt_build.dbt(result.database, folder, "run", "--full-refresh", schema="voiso_full")
    return result


def same(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=0, abs_tol=1e-6)  # type: ignore[arg-type]
    return a == b


@pytest.mark.parametrize("model", dbt_build.MODELS)
def test_an_incremental_build_equals_a_full_refresh(built, model):
    incremental = dbt_build.model_rows(built.database, "voiso_analytics", model)
    full = dbt_build.model_rows(built.database, "voiso_full", model)
    assert incremental
    assert len(incremental) == len(full)
    for got, want in zip(incremental, full, strict=True):
        differ = [(a, b) for a, b in zip(got, want, strict=True) if not same(a, b)]
        assert not differ, (got[0], differ)


def test_the_incremental_build_took_the_new_hour_and_the_changed_cdrs(built):
    """Not a vacuous equality: the last hour and the changed CDRs are in the models."""
    assert built.new_cdrs > 20
    assert built.changed_cdrs > 100
    assert built.callbacks >= 10  # repeat contacts of the day before, in the new hour
    counted = dbt_build.duckdb(
        built.database,
        "SELECT (SELECT count(*) FROM voiso_analytics.stg_voiso__cdrs),"
        " (SELECT count(*) FROM voiso.cdrs),"
        " (SELECT round(sum(cost), 4) FROM voiso_analytics.stg_voiso__cdrs),"
        " (SELECT round(sum(cost), 4) FROM voiso.cdrs),"
        " (SELECT count(*) FROM voiso.cdrs s JOIN voiso_analytics.stg_voiso__cdrs t"
        "  ON s.id = t.cdr_id AND s.ended_at = t.ended_at)",
    )
    staged, landed, staged_cost, landed_cost, same_end = ast.literal_eval(counted)[0]
    assert staged == landed == built.cdrs
    assert staged_cost == landed_cost  # the 300 re-costed CDRs were taken again
    assert same_end == built.cdrs  # and their later ends


@pytest.mark.parametrize(
    ("model", "grain"),
    [
        ("stg_voiso__cdrs", "cdr_id"),
        ("voiso__calls", "call_id"),
        ("voiso__queue_daily", "local_date"),
        ("voiso__queue_interval", "interval_start_utc"),
        ("voiso__agent_interval", "interval_start_utc"),
    ],
)
def test_the_incremental_build_rebuilt_only_what_changed(built, model, grain):
    """Not a full build in disguise: most rows keep the full build's `dbt_built_at`;
    the incremental build wrote the new hour, the lookback, and the days or intervals of
    the changed CDRs and of the callbacks."""
    counted = dbt_build.duckdb(
        built.database,
        f"SELECT CAST(dbt_built_at AS VARCHAR), count(DISTINCT {grain})"  # noqa: S608
        f" FROM voiso_analytics.{model} GROUP BY ALL ORDER BY 1",
    )
    (_, kept), (_, rebuilt) = ast.literal_eval(counted)
    assert 0 < rebuilt < kept / 4, (kept, rebuilt)


def test_a_table_an_earlier_package_built_stops_the_build_naming_the_rebuild(built, tmp_path):
    """A daily model built as a table by an earlier dbt_voiso has no `dbt_built_at`: the
    incremental build stops, naming the table and the command that rebuilds it, rather
    than failing on a missing column; after the rebuild, incremental builds go on."""
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(built.database, database)
    drop = "ALTER TABLE voiso_analytics.voiso__agent_daily DROP COLUMN dbt_built_at"
    dbt_build.duckdb(database, drop + ";\nSELECT 1")
    with pytest.raises(RuntimeError) as stopped:
        dbt_build.dbt(database, tmp_path, "run", "--select", "voiso__agent_daily")
    assert "voiso__agent_daily" in str(stopped.value)
    assert "built by an earlier dbt_voiso" in str(stopped.value)
    assert "meltano run dbt-duckdb:rebuild" in str(stopped.value)
    dbt_build.dbt(database, tmp_path, "run", "--select", "voiso__agent_daily", "--full-refresh")
    dbt_build.dbt(database, tmp_path, "run", "--select", "voiso__agent_daily")
