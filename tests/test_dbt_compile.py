"""dbt_voiso compiles for Redshift: every model, full and incremental.

No Redshift runs here (nothing on PyPI runs Redshift's SQL: its SUPER type and PartiQL),
so this adapter is compiled only: dbt-redshift (`.venv-dbt-compile`, made by
scripts/setup) runs `dbt compile` with the warehouse's answers to dbt's questions
given offline (tests/data/dbt_compile_offline.py: the landed tables exist with the
tap's columns; the models' own tables absent, then present, so that both the full
build's SQL and the incremental SQL are rendered). What that proves: every dispatched
macro has a branch for the adapter and renders, the Jinja of every model holds, and the
SQL is the adapter's dialect where the branches say so. Not that the warehouse accepts
it: docs/warehouses.md says which engines execute the package.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests import engines

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv-dbt-compile" / "bin" / "python"
SCRIPT = ROOT / "tests" / "data" / "dbt_compile_offline.py"
# Each adapter's branch, as the compiled staging model must show it (JSON access).
DIALECT = {"redshift": "json_extract_path_text("}


@pytest.fixture(scope="module", params=[("redshift", 0), ("redshift", 1)])
def compiled(request, tmp_path_factory) -> tuple[str, bool, Path]:
    target, incremental = request.param
    folder = tmp_path_factory.mktemp(f"compile-{target}-{incremental}")
    env = {
        **os.environ, "DBT_PROFILES_DIR": str(ROOT / "dbt_voiso" / "profiles"),
        "DBT_TARGET_PATH": str(folder / "target"), "DBT_LOG_PATH": str(folder / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }  # fmt: skip
    result = subprocess.run(
        [str(PYTHON), str(SCRIPT), target, str(incremental),
         "--project-dir", str(ROOT / "dbt_voiso"),
         "--vars", json.dumps({"voiso_timezone": "America/New_York"})],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    return target, bool(incremental), folder / "target"


def test_every_model_compiles(compiled):
    target, incremental, folder = compiled
    results = json.loads((folder / "run_results.json").read_text())["results"]
    models = {
        r["unique_id"].split(".")[-1]: r["status"]
        for r in results
        if r["unique_id"].startswith("model.")
    }
    assert models == dict.fromkeys(engines.model_names(), "success")
    for model in engines.model_names():
        (path,) = (folder / "compiled" / "dbt_voiso" / "models").rglob(f"{model}.sql")
        sql = path.read_text()
        assert "select" in sql.lower(), model
        assert " as materialized (" not in sql, model  # DuckDB and PostgreSQL only
    staging = next((folder / "compiled").rglob("stg_voiso__cdrs.sql")).read_text()
    assert DIALECT[target] in staging
    calls = next((folder / "compiled").rglob("voiso__calls.sql")).read_text()
    assert ("dbt_built_at >" in calls) == incremental  # the incremental SQL, when asked for
