"""dbt_voiso/integration_tests, run as a dbt user runs a package's integration tests.

On DuckDB and on PostgreSQL (a throwaway server): `dbt deps` installs the package by
its relative path, `dbt seed` loads the landed tables and the expected figures, and
each var scenario of scenarios.yml is one `dbt build --full-refresh --vars`. Every model
must build and every test pass, the integration project's own included: they compare
six key models with the figures tests/kpis.py computed from the same CDRs under the
scenario's vars (scripts/integration_seeds.py wrote them; a test here checks that the
committed seeds are still what it writes).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import integration_seeds
from tests import kpis, kpis_directory
from tests.conftest import ROOT
from tests.postgres import postgres_server

PROJECT = ROOT / "dbt_voiso" / "integration_tests"
SCENARIOS: dict[str, dict[str, Any]] = {
    name: dbt_vars or {}
    for name, dbt_vars in yaml.safe_load((PROJECT / "scenarios.yml").read_text()).items()
}
WAREHOUSES = ("duckdb", "postgres")
MATCH_TEST = "test.dbt_voiso.voiso_agent_match_rate"
PACKAGE_MODELS = {path.stem for path in (ROOT / "dbt_voiso" / "models").rglob("*.sql")}
# As the package README runs them: deps, seed, then a build per scenario (with --vars).
DEPS, SEED, BUILD = (
    ("deps",),
    ("seed", "--full-refresh"),
    ("build", "--full-refresh", "--exclude-resource-type", "seed"),
)
EQUALITY_TESTS = {f"voiso__{model}_equals_expected" for model in integration_seeds.EXPECTED}


def dbt_executable(warehouse: str) -> str:
    return str(ROOT / ".meltano" / "utilities" / f"dbt-{warehouse}" / "venv" / "bin" / "dbt")


def run_scenarios(warehouse: str, tmp: Path, env: dict[str, str]) -> dict[str, list[dict]]:
    """deps, seed, then one build per scenario: each build's run results.

    One target directory for all, so that the default scenario's build reuses the
    seed's parse (dbt's partial parsing: the same vars, none)."""
    target = tmp / "target"
    environment = {**os.environ, "DBT_PROFILES_DIR": str(PROJECT), **env}
    environment |= {"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(tmp / "logs")}

    def dbt(*args: str) -> list[dict]:
        (target / "run_results.json").unlink(missing_ok=True)
        result = subprocess.run(
            [dbt_executable(warehouse), *args, "--target", warehouse],
            cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=600,
            check=False,
        )  # fmt: skip
        if args[0] == "deps":
            assert result.returncode == 0, result.stdout[-3000:]
            return []
        return json.loads((target / "run_results.json").read_text())["results"]

    dbt(*DEPS)
    seeded = dbt(*SEED)
    assert [r["status"] for r in seeded] == ["success"] * len(seeded)
    assert len(seeded) == 3 + len(SCENARIOS) * len(EQUALITY_TESTS)
    built = {}
    for name, dbt_vars in SCENARIOS.items():
        # The default scenario as the README runs it, without --vars; the others with.
        options = ["--vars", json.dumps({**dbt_vars, "integration_scenario": name})]
        built[name] = dbt(*BUILD, *(options if dbt_vars else []))
    return built


@pytest.fixture(scope="module")
def duckdb(tmp_path_factory) -> dict[str, list[dict]]:
    tmp = tmp_path_factory.mktemp("integration-duckdb")
    return run_scenarios("duckdb", tmp, {"DBT_DUCKDB_PATH": str(tmp / "integration.duckdb")})


@pytest.fixture(scope="module")
def postgres(tmp_path_factory) -> Iterator[dict[str, list[dict]]]:
    tmp = tmp_path_factory.mktemp("integration-postgres")
    with postgres_server() as server:
        yield run_scenarios("postgres", tmp, {"DBT_POSTGRES_PORT": str(server.port)})


def short_name(unique_id: str) -> str:
    return unique_id.rsplit(".", maxsplit=1)[-1]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_every_model_builds_and_every_test_passes(request, warehouse, scenario):
    results = request.getfixturevalue(warehouse)[scenario]
    kinds: dict[str, dict[str, str]] = {}
    for result in results:
        kind, package, name = result["unique_id"].split(".")[:3]
        kinds.setdefault(kind, {})[f"{package}.{name}"] = result["status"]
    models, tests = kinds.pop("model"), kinds.pop("test")
    assert models == {f"dbt_voiso.{name}": "success" for name in PACKAGE_MODELS}
    assert {name for name in tests if name.startswith("dbt_voiso_integration_tests.")} == {
        f"dbt_voiso_integration_tests.{name}" for name in EQUALITY_TESTS
    }
    assert len(tests) > 80  # the package's own tests ran too
    del tests[MATCH_TEST.removeprefix("test.")]  # its own test below
    assert {name: status for name, status in tests.items() if status != "pass"} == {}
    assert kinds == {"unit_test": dict.fromkeys(kinds.get("unit_test", {}), "pass")}


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_match_rate_test_warns_only_below_the_scenarios_threshold(request, warehouse, scenario):
    """The seeded directory has deleted one of the six CDR agents: 5/6 match."""
    results = request.getfixturevalue(warehouse)[scenario]
    (status,) = [r["status"] for r in results if r["unique_id"] == MATCH_TEST]
    simulator = integration_seeds.Simulator(integration_seeds.SPEC)
    directory = simulator.directory
    users = [directory.objects["users"][key] for key in directory.listed_now("users")]
    rate = kpis_directory.match_rate(simulator.visible_records(), users)
    threshold = SCENARIOS[scenario].get("voiso_min_agent_match_rate", 0.95)
    assert status == ("warn" if rate < threshold else "pass")


def test_the_committed_seeds_are_what_the_script_writes(tmp_path):
    (tmp_path / "scenarios.yml").write_text((PROJECT / "scenarios.yml").read_text())
    integration_seeds.write_seeds(tmp_path)
    written = {p.relative_to(tmp_path) for p in (tmp_path / "seeds").rglob("*") if p.is_file()}
    committed = {p.relative_to(PROJECT) for p in (PROJECT / "seeds").rglob("*") if p.is_file()}
    assert committed - written == {Path("seeds/_landed.yml")}
    for path in written:
        assert (tmp_path / path).read_text() == (PROJECT / path).read_text(), path


def test_a_scenario_moves_the_definitions_off_their_defaults_across_the_clocks_going_back():
    """New York's clocks go back on 2026-11-01: a 01:00 half hour there is two rows of
    the expected intervals, an hour apart (and so two of the build's)."""
    default = kpis.Definitions()
    (moved,) = [
        kpis.Definitions.from_dbt_vars(v) for v in SCENARIOS.values() if v.get("voiso_timezone")
    ]
    changed = {name for name in kpis.VARS if getattr(moved, name) != getattr(default, name)}
    assert changed == set(kpis.VARS) - {"answered"}  # an answered call stays answered
    expected = PROJECT / "seeds" / "expected" / "expected_new_york_queue_interval.csv"
    with expected.open() as file:
        rows = list(csv.DictReader(file))
    starts: dict[str, set[datetime]] = {}
    for row in rows:
        if row["interval_start_local"].startswith("2026-11-01 01:"):
            utc = datetime.fromisoformat(row["interval_start_utc"])
            starts.setdefault(row["interval_start_local"], set()).add(utc)
    twice = [sorted(utc) for utc in starts.values() if len(utc) == 2]
    assert twice, starts
    assert all(second - first == timedelta(hours=1) for first, second in twice)


def test_the_package_readme_runs_the_integration_tests_as_this_module_does():
    readme = (ROOT / "dbt_voiso" / "README.md").read_text()
    block = readme.split("## Integration tests\n", 1)[1].split("```bash\n", 1)[1].split("```")[0]
    assert "cd dbt_voiso/integration_tests\nexport DBT_PROFILES_DIR=.\n" in block
    ran = [command.split("#")[0].split() for line in block.splitlines()
           for command in line.split("&&") if command.strip().startswith("dbt ")]  # fmt: skip
    assert ran == [["dbt", *DEPS], ["dbt", *SEED], ["dbt", *BUILD]]
