"""dbt_voiso end to end: the tap loads the simulator's CDRs, Meltano runs `dbt build`.

One DuckDB load and one PostgreSQL load (module fixtures) of realistic CDRs across the
night New York's clocks go back are built four times each (UTC and America/New_York,
15- and 30-minute intervals, other definitions off their defaults in New York), then
read again by an overlapping tap run and rebuilt. Every column of the queue and agent
models, daily and by interval, is checked against tests/kpis.py, which computes them
from the CDRs the simulator serves (Erlang C included).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from voiso_dashboard.page import embedded_data

from tests import kpis
from tests.conftest import ROOT, queries, sim_server
from tests.postgres import postgres_server
from tests.test_meltano import meltano
from voiso_simulator import SimServer, serving
from voiso_simulator.data import iso_ms, parse_iso

MODELS = (
    "voiso__queue_daily",
    "voiso__queue_weekly",
    "voiso__agent_daily",
    "voiso__queue_interval",
    "voiso__agent_interval",
    "voiso__agent_queue_daily",
)
KEYS = {
    "voiso__queue_daily": ("local_date", "queue_id", "direction"),
    "voiso__queue_weekly": ("week_start", "queue_id", "direction"),
    "voiso__agent_daily": ("local_date", "agent_id"),
    "voiso__queue_interval": ("interval_start_utc", "queue_id", "channel", "direction"),
    "voiso__agent_interval": ("interval_start_utc", "agent_id"),
    "voiso__agent_queue_daily": ("local_date", "agent_id", "queue_id"),
}
EXPECTED = {
    "voiso__queue_daily": kpis.queue_daily,
    "voiso__queue_weekly": kpis.queue_weekly,
    "voiso__agent_daily": kpis.agent_daily,
    "voiso__queue_interval": kpis.queue_interval,
    "voiso__agent_interval": kpis.agent_interval,
    "voiso__agent_queue_daily": kpis.agent_queue_daily,
}
ZONE = "America/New_York"  # clocks go back on 2026-11-01, inside the data
START = "2026-10-27T00:00:00Z"
# The zone's builds also move the other definitions off their defaults.
ZONE_RULES = kpis.Definitions(
    timezone=ZONE,
    abandoned=("abandoned", "no_answer"),
    service_level_seconds=30,
    conversation_handled=("resolved",),
    conversation_abandoned=("missed", "archived"),
    short_abandon_seconds=10,
    interval_minutes=30,
    service_level_target=0.9,
    transfer_tags=("warm_transfer",),
    repeat_window_hours=12,
)
# Build name: (schema, definitions); the first is the README's command, at the defaults.
BUILDS = {
    "UTC/15": ("voiso_analytics", kpis.Definitions()),
    "zone/30": ("voiso_zone", ZONE_RULES),
    "UTC/30": ("voiso_utc_30", kpis.Definitions(interval_minutes=30)),
    "zone/15": ("voiso_zone_15", replace(ZONE_RULES, interval_minutes=15)),
}
DUCKDB_PYTHON = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"


@dataclass
class Warehouse:
    """What one warehouse holds after the loads and builds, read back as plain rows."""

    built: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    reread: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # incremental
    full: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # the same, in full
    source_rows: list[int] = field(default_factory=list)  # rows of voiso.cdrs, per load
    source_ids: list[int] = field(default_factory=list)  # distinct ids, per load
    catalog: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the DuckDB file
    reread_from: list[str] = field(default_factory=list)  # started_at[gte] the re-read sent
    seconds: dict[str, float] = field(default_factory=dict)  # what each step took
    definitions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # per build
    page: dict[str, Any] = field(default_factory=dict)  # the dashboard's data, first build


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    """Ten days of realistic CDRs, a few thousand, read by both warehouses.

    The center keeps Manila's business hours, so that the two 01:00 hours of New York's
    night (13:00 and 14:00 in Manila) are busy ones."""
    options = {"records": 3000, "span_days": 10, "burst": 0, "seed": 21, "start": START}
    with serving(sim_server(**options, profile="realistic", timezone="Asia/Manila")) as server:
        yield server


@pytest.fixture(scope="module")
def served(sim) -> list[dict[str, Any]]:
    return sim.simulator.visible_records()


def midpoint(served: list[dict[str, Any]]) -> str:
    """A start date half way through the data: a run from here re-reads half the CDRs."""
    return iso_ms(parse_iso(served[len(served) // 2]["started_at"]))


def build_everything(
    tmp: Path,
    sim: SimServer,
    served,
    loader: str,
    utility: str,
    env: dict[str, str],
    read,
    before_reread=None,
) -> Warehouse:
    """Load and build (UTC), build the other definitions, re-read half and rebuild."""
    prefix = utility.upper().replace("-", "_")
    env = {**env, "DBT_TARGET_PATH": str(tmp / "target"), "DBT_LOG_PATH": str(tmp / "logs")}
    warehouse = Warehouse()

    def count_source() -> None:
        ((rows, ids),) = read("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM voiso.cdrs")
        warehouse.source_rows.append(int(rows))
        warehouse.source_ids.append(int(ids))

    def models(schema: str) -> dict[str, list[dict[str, Any]]]:
        return {model: read(f"SELECT * FROM {schema}.{model}", as_dicts=True) for model in MODELS}  # noqa: S608

    def definitions(schema: str) -> list[dict[str, Any]]:
        return read(f"SELECT * FROM {schema}.voiso__definitions", as_dicts=True)  # noqa: S608

    # The README's one command: load, then build and test the models.
    meltano(tmp, sim, "run", "tap-voiso", loader, f"{utility}:build", **env)
    count_source()
    warehouse.built["UTC/15"] = models(BUILDS["UTC/15"][0])
    warehouse.definitions["UTC/15"] = definitions(BUILDS["UTC/15"][0])
    # The dashboard of that build, read from this warehouse by the utility's settings.
    page = tmp / "dashboard.html"
    meltano(tmp, sim, "run", "dashboard:build", **env, DASHBOARD_OUTPUT=str(page))
    warehouse.page = embedded_data(page.read_text())
    # The same load, built with other vars into schemas of their own: the zone's with
    # its tests, the other two grains without (the same SQL, tested twice already).
    for name, (schema, rules) in list(BUILDS.items())[1:]:
        began = time.monotonic()
        command = f"{utility}:build" if name == "zone/30" else f"{utility}:run"
        options = {f"{prefix}_SCHEMA": schema, f"{prefix}_VARS": json.dumps(rules.dbt_vars())}
        meltano(tmp, sim, "run", command, **env, **options)
        warehouse.built[name] = models(schema)
        warehouse.definitions[name] = definitions(schema)
        warehouse.seconds[name] = time.monotonic() - began
    meltano(tmp, sim, "run", f"{utility}:docs-generate", **env)
    warehouse.catalog = json.loads((tmp / "target" / "catalog.json").read_text())
    warehouse.manifest = json.loads((tmp / "target" / "manifest.json").read_text())
    # An overlapping run: from the middle of the data, so half the CDRs come again.
    overlap = {"TAP_VOISO_START_DATE": midpoint(served)}
    build = (f"{utility}:build",)
    if before_reread is not None:
        before_reread()
    sim.simulator.reset_log()
    meltano(tmp, sim, "run", "--full-refresh", "tap-voiso", loader, *build, **env, **overlap)
    for query in queries(sim):
        warehouse.reread_from += query.get("started_at[gte]", [])
    count_source()
    warehouse.reread = models(BUILDS["UTC/15"][0])
    # The same source built in full (the README's `rebuild`), into a schema of its own.
    meltano(tmp, sim, "run", f"{utility}:rebuild", **env, **{f"{prefix}_SCHEMA": "voiso_full"})
    warehouse.full = models("voiso_full")
    return warehouse


def duckdb_rows(database: Path, query: str, *, as_dicts: bool = False) -> list[Any]:
    """Rows of a query, read with the DuckDB that wrote the file (target-duckdb's)."""
    script = (
        "import duckdb, json, sys\n"
        "cursor = duckdb.connect(sys.argv[1], read_only=True).execute(sys.argv[2])\n"
        "names = [d[0] for d in cursor.description]\n"
        "rows = cursor.fetchall()\n"
        "out = [dict(zip(names, r)) for r in rows] if sys.argv[3] == '1' else rows\n"
        "print(json.dumps(out, default=str))\n"
    )
    result = subprocess.run(
        [str(DUCKDB_PYTHON), "-c", script, str(database), query, "1" if as_dicts else "0"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def duckdb(sim, served, tmp_path_factory) -> Warehouse:
    tmp = tmp_path_factory.mktemp("dbt-duckdb")
    database = tmp / "warehouse.duckdb"

    def read(query: str, *, as_dicts: bool = False) -> list[Any]:
        return duckdb_rows(database, query, as_dicts=as_dicts)

    env = {
        "TARGET_DUCKDB_FILEPATH": str(database),
        "DBT_DUCKDB_PATH": str(database),
        "DASHBOARD_PATH": str(database),
    }
    warehouse = build_everything(tmp, sim, served, "target-duckdb", "dbt-duckdb", env, read)
    warehouse.path = database
    return warehouse


@pytest.fixture(scope="module")
def postgres(sim, served, tmp_path_factory) -> Warehouse:
    tmp = tmp_path_factory.mktemp("dbt-postgres")
    with postgres_server() as server:

        def read(query: str, *, as_dicts: bool = False) -> list[Any]:
            if not as_dicts:
                return server.sql(query)
            rows = server.sql(f"SELECT row_to_json(t) FROM ({query}) t")  # noqa: S608
            return [json.loads(row[0]) for row in rows]

        env = {
            "TARGET_POSTGRES_PORT": str(server.port),
            # No key, so target-postgres appends: every version of a CDR the tap reads
            # lands as a row of its own, and the staging model has to keep the latest.
            "TAP_VOISO_STREAM_MAPS": json.dumps({"cdrs": {"__key_properties__": []}}),
            "DBT_POSTGRES_PORT": str(server.port),
            "DASHBOARD_WAREHOUSE": "postgres",
            "DASHBOARD_PORT": str(server.port),
        }

        def outdate_the_first_versions() -> None:
            # The first load's copies of the CDRs the overlap reads again now differ from
            # the API's (as a field written after the first read would): the KPIs come
            # out right only if the newer version, appended by the re-read, wins.
            since = midpoint(served)
            query = f"UPDATE voiso.cdrs SET cost = cost + 1000 WHERE started_at >= '{since}'"  # noqa: S608
            server.sql(query)

        yield build_everything(
            tmp, sim, served, "target-postgres", "dbt-postgres", env, read,
            before_reread=outdate_the_first_versions,
        )  # fmt: skip


WAREHOUSES = ("duckdb", "postgres")


def text(value: Any) -> str:
    """A key or a text value as the test compares it: timestamps as `2026-11-01 05:00:00`."""
    return re.sub(r"^(\d{4}-\d\d-\d\d)T", r"\1 ", str(value))


def keyed(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[tuple[str, ...], dict]:
    """Rows by their key, as `assert_matches` expects them."""
    return {
        tuple(text(row[k]) for k in keys): {c: v for c, v in row.items() if c not in keys}
        for row in rows
    }


def assert_matches(rows: list[dict[str, Any]], expected: dict, keys: tuple[str, ...]) -> None:
    """Same keys; counts equal, rates and averages within 1e-6."""
    by_key = {tuple(text(row[k]) for k in keys): row for row in rows}
    assert len(by_key) == len(rows)
    assert set(by_key) == set(expected)
    for key, wanted in expected.items():
        got = by_key[key]
        # Every column checked but `dbt_built_at`: when the row was built, not a figure.
        want = {column: value for column, value in wanted.items() if column != "dbt_built_at"}
        assert set(got) - {"dbt_built_at"} == set(keys) | set(want), key
        for column, value in want.items():
            if value is None:
                assert got[column] is None, (key, column, got[column])
            elif isinstance(value, str):
                assert text(got[column]) == text(value), (key, column)
            elif isinstance(value, int):
                assert got[column] == value, (key, column, got[column], value)
            else:
                assert math.isclose(got[column], value, rel_tol=0, abs_tol=1e-6), (
                    key, column, got[column], value,
                )  # fmt: skip


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_kpis_match_ground_truth(request, served, warehouse, build, model):
    built = request.getfixturevalue(warehouse).built[build][model]
    expected = EXPECTED[model](served, BUILDS[build][1])
    assert expected
    assert_matches(built, expected, KEYS[model])


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_definitions_model_holds_the_vars_of_its_build(request, warehouse, build):
    """What the dashboard states its definitions from."""
    rules = BUILDS[build][1]
    (row,) = request.getfixturevalue(warehouse).definitions[build]
    assert row["timezone"] == rules.timezone
    assert row["interval_minutes"] == rules.interval_minutes
    assert row["service_level_seconds"] == rules.service_level_seconds
    assert row["service_level_target"] == pytest.approx(rules.service_level_target)
    assert row["short_abandon_seconds"] == rules.short_abandon_seconds


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_dashboard_holds_the_marts_of_the_warehouse_its_settings_name(request, warehouse):
    """DuckDB by its path, PostgreSQL by the settings named as dbt-postgres's."""
    built = request.getfixturevalue(warehouse)
    page, marts = built.page, built.built["UTC/15"]
    intervals = marts["voiso__queue_interval"]
    assert len(page["intervals"]["offered"]) == len(intervals)
    for column in (
        "offered",
        "handled",
        "abandoned",
        "agents_handling",
        "handled_within_20_seconds",
    ):
        assert sum(page["intervals"][column]) == sum(row[column] for row in intervals), column
    assert max(page["intervals"]["longest_wait_seconds"]) == max(
        row["longest_wait_seconds"] for row in intervals
    )
    agents = marts["voiso__agent_queue_daily"]
    assert sum(page["agents"]["repeat_contacts"]) == sum(row["repeat_contacts"] for row in agents)
    assert sum(page["agents"]["handled"]) == sum(row["handled"] for row in agents)
    assert page["definitions"]["timezone"] == ["UTC"]


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_data_exercises_every_figure(request, warehouse):
    """No column is checked only at zero: the realistic CDRs have short abandons,
    transfers, agents hanging up, repeat callers and intervals that need several agents."""
    built = request.getfixturevalue(warehouse).built["UTC/15"]
    intervals, daily = built["voiso__queue_interval"], built["voiso__queue_daily"]
    for column in ("short_abandoned", "transferred_out", "agent_hung_up_first"):
        assert sum(row[column] for row in intervals) > 0, column
    assert max(row["required_agents"] or 0 for row in intervals) >= 4
    assert max(row["agents_handling"] for row in intervals) >= 3
    assert sum(row["abandoned_within_300_seconds"] for row in intervals) > sum(
        row["abandoned_within_10_seconds"] for row in intervals
    )
    assert any(row["median_wait_seconds"] != row["longest_wait_seconds"] for row in intervals)
    assert sum(row["repeat_contacts"] or 0 for row in daily) > 0
    assert any(row["repeat_contacts"] is None for row in daily)  # outbound rows


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_a_day_is_the_sum_of_its_intervals(request, warehouse, build):
    built = request.getfixturevalue(warehouse).built[build]
    counts = ("offered", "abandoned", "short_abandoned", "answered_within_service_level",
              "transferred_out", "agent_hung_up_first")  # fmt: skip
    summed: dict[tuple[str, str, str], Counter[str]] = {}
    for row in built["voiso__queue_interval"]:
        if row["channel"] == "call":
            day = text(row["interval_start_local"])[:10]
            total = summed.setdefault((day, row["queue_id"], row["direction"]), Counter())
            total.update({c: row[c] for c in counts} | {"answered": row["handled"]})
    daily = {
        (text(r["local_date"]), r["queue_id"], r["direction"]): r
        for r in built["voiso__queue_daily"]
    }
    assert set(daily) == set(summed)
    for key, row in daily.items():
        assert {c: row[c] for c in (*counts, "answered")} == dict(summed[key]), key


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_a_week_is_the_sum_of_its_days(request, warehouse, build):
    built = request.getfixturevalue(warehouse).built[build]
    counts = ("offered", "answered", "abandoned", "short_abandoned", "transferred_out",
              "answered_within_service_level", "agent_hung_up_first")  # fmt: skip
    summed: dict[tuple[str, str, str], Counter[str]] = {}
    for row in built["voiso__queue_daily"]:
        day = date.fromisoformat(text(row["local_date"])[:10])
        monday = (day - timedelta(days=day.weekday())).isoformat()
        total = summed.setdefault((monday, row["queue_id"], row["direction"]), Counter())
        total.update({c: row[c] for c in counts})
    weekly = {
        (text(r["week_start"])[:10], r["queue_id"], r["direction"]): r
        for r in built["voiso__queue_weekly"]
    }
    assert set(weekly) == set(summed)
    assert len({key[0] for key in weekly}) >= 2  # the data spans weeks
    for key, row in weekly.items():
        assert {c: row[c] for c in counts} == dict(summed[key]), key


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_night_the_clocks_go_back_has_two_1am_hours(request, warehouse):
    """New York, 2026-11-01: 100 quarter hours; 01:00-01:59 local twice, an hour apart."""
    built = request.getfixturevalue(warehouse).built
    quarter_hours = {
        kpis.interval_of(kpis.iso_minute(minute), BUILDS["zone/15"][1])[0]
        for minute in range(int(kpis.moment("2026-11-01T04:00:00Z").timestamp() // 60),
                            int(kpis.moment("2026-11-02T05:00:00Z").timestamp() // 60))
    }  # fmt: skip
    assert len(quarter_hours) == 100
    for build in ("zone/15", "zone/30"):
        starts: dict[str, set[str]] = {}
        for row in built[build]["voiso__queue_interval"] + built[build]["voiso__agent_interval"]:
            local = text(row["interval_start_local"])
            starts.setdefault(local, set()).add(text(row["interval_start_utc"]))
        twice = {local: utc for local, utc in starts.items() if len(utc) > 1}
        assert twice, build  # the data has contacts in both 01:00 hours
        for local, utc in twice.items():
            assert local.startswith("2026-11-01 01:"), local
            first, second = sorted(utc)
            assert kpis.moment(second.replace(" ", "T") + "Z") - kpis.moment(
                first.replace(" ", "T") + "Z"
            ) == timedelta(hours=1)


def offered_per_day(rows: list[dict[str, Any]]) -> Counter[str]:
    per_day: Counter[str] = Counter()
    for row in rows:
        per_day[str(row["local_date"])] += row["offered"]
    return per_day


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_zone_days_move_calls_across_the_utc_day_boundary(request, served, warehouse):
    built = request.getfixturevalue(warehouse).built
    calls = [r for r in served if r["type"] == "call" and r["data"].get("queue")]

    def day(record: dict[str, Any], timezone: str) -> str:
        return kpis.local_date(record["started_at"], timezone).isoformat()

    moved = [r for r in calls if day(r, "UTC") != day(r, ZONE)]
    assert 0 < len(moved) < len(calls)
    utc = offered_per_day(built["UTC/15"]["voiso__queue_daily"])
    zone = offered_per_day(built["zone/30"]["voiso__queue_daily"])
    assert sum(utc.values()) == sum(zone.values()) == len(calls)
    # New York is UTC-4 or UTC-5: the calls before 04:00 or 05:00 UTC count the day before.
    for when in utc | zone:
        moved_out = sum(1 for r in moved if day(r, "UTC") == when)
        moved_in = sum(1 for r in moved if day(r, ZONE) == when)
        assert zone[when] == utc[when] - moved_out + moved_in, when
    assert zone != utc


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_a_run_that_reads_cdrs_again_changes_no_kpi(request, served, warehouse):
    built = request.getfixturevalue(warehouse)
    again = sum(1 for r in served if parse_iso(r["started_at"]) >= parse_iso(midpoint(served)))
    # The second run did read the second half again (from the midpoint on).
    assert min(built.reread_from, key=parse_iso) == midpoint(served)
    assert built.source_ids == [len(served), len(served)]
    if warehouse == "postgres":  # append-only: the re-read CDRs are there twice
        assert built.source_rows == [len(served), len(served) + again]
    else:  # target-duckdb replaces a row by its primary key
        assert built.source_rows == [len(served), len(served)]
    for model in MODELS:
        # Counts equal; sums and averages up to the order the warehouse adds them in.
        first = keyed(built.built["UTC/15"][model], KEYS[model])
        assert_matches(built.reread[model], first, KEYS[model])


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_incremental_rebuild_equals_a_full_build(request, warehouse):
    """After the re-read (on PostgreSQL: newer versions of half the CDRs appended, the
    first versions altered), the incremental build holds what a full build does."""
    built = request.getfixturevalue(warehouse)
    for model in MODELS:
        assert_matches(built.reread[model], keyed(built.full[model], KEYS[model]), KEYS[model])


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_docs_describe_every_model_and_column_the_warehouse_holds(request, warehouse):
    built = request.getfixturevalue(warehouse)
    models = {
        node["name"]: node
        for node in built.manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "dbt_voiso"
    }
    assert set(models) == {path.stem for path in (ROOT / "dbt_voiso" / "models").rglob("*.sql")}
    for unique_id, table in built.catalog["nodes"].items():
        node = built.manifest["nodes"][unique_id]
        assert node["description"], node["name"]
        landed = {name.lower() for name in table["columns"]}
        assert landed == set(node["columns"]), node["name"]
        assert all(column["description"] for column in node["columns"].values()), node["name"]
    assert {built.manifest["nodes"][u]["name"] for u in built.catalog["nodes"]} == set(models)


def test_meltano_yml_declares_the_dbt_utilities_inline():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    utilities = {
        u["name"]: u for u in project["plugins"]["utilities"] if u["name"].startswith("dbt-")
    }
    assert set(utilities) == {
        "dbt-duckdb",
        "dbt-postgres",
        "dbt-snowflake",
        "dbt-spark",
        "dbt-bigquery",
    }
    for utility in utilities.values():
        assert {"namespace", "pip_url", "executable", "commands", "settings"} <= utility.keys()
        assert "variant" not in utility
        assert utility["executable"] == "dbt"
        assert {"build", "run", "test", "rebuild", "docs-generate", "debug"} <= set(
            utility["commands"]
        )
    # The profile reads the PostgreSQL that target-postgres writes, by default.
    (loader,) = [p for p in project["plugins"]["loaders"] if p["name"] == "target-postgres"]
    settings = {s["name"]: s["value"] for s in utilities["dbt-postgres"]["settings"]}
    for name in ("host", "port", "user", "password"):
        assert settings[name] == loader["config"][name]
    assert settings["dbname"] == loader["config"]["database"]


PACKAGE_README = ROOT / "dbt_voiso" / "README.md"


def test_the_package_readme_lists_every_var_and_every_model():
    """Its var table has a row per var of dbt_project.yml, with the default it sets; its
    model table a row per model file."""
    project = yaml.safe_load((ROOT / "dbt_voiso" / "dbt_project.yml").read_text())
    readme = PACKAGE_README.read_text()
    rows = dict(re.findall(r"^\| `(voiso_[a-z]\w*)` \| ([^|]+) \|", readme, re.MULTILINE))
    assert set(rows) == set(project["vars"])
    for var, default in project["vars"].items():
        if default is not None:
            assert yaml.safe_load(rows[var].strip().strip("`")) == default, var
    models = re.findall(r"^\| `((?:stg_)?voiso__\w+)` \|", readme, re.MULTILINE)
    assert sorted(models) == sorted(p.stem for p in (ROOT / "dbt_voiso" / "models").rglob("*.sql"))


def test_the_package_readme_declares_the_dbt_and_adapter_versions_the_utilities_pin():
    """Each Meltano dbt utility pins dbt-core and its adapter inside the ranges the
    package README declares, and the README names those exact pins as tested."""
    project = yaml.safe_load((ROOT / "dbt_voiso" / "dbt_project.yml").read_text())
    readme = " ".join(PACKAGE_README.read_text().split())
    dbt_range = SpecifierSet(",".join(project["require-dbt-version"]))
    assert f"require-dbt-version: {json.dumps(project['require-dbt-version'])}" in readme
    ranges = {
        adapter: SpecifierSet(versions.replace(" ", ""))
        for adapter, versions in re.findall(r"\| `(dbt-\w+)` ([<>=0-9., ]+)[ |(]", readme)
    }
    utilities = yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["utilities"]
    for utility in (u for u in utilities if u["name"].startswith("dbt-")):
        pins = dict(  # `dbt-spark[session]==1.11.0`: dbt-spark, 1.11.0
            re.sub(r"\[.*\]", "", pin).split("==") for pin in utility["pip_url"].split()
        )
        assert pins["dbt-core"] in dbt_range
        assert f"`dbt-core=={pins['dbt-core']}`" in readme
        adapter = utility["name"]  # the utility is named after its adapter
        assert pins[adapter] in ranges[adapter], adapter
        assert f"`{adapter}=={pins[adapter]}`" in readme, adapter


def test_the_demos_kpi_table_shows_each_queues_figures(duckdb, served):
    """What scripts/demo prints after `dbt build`: per queue, inbound calls over all days,
    and the busiest interval with the agents it needed."""
    assert duckdb.path is not None
    printed = subprocess.run(
        [str(DUCKDB_PYTHON), str(ROOT / "scripts" / "kpi_table.py"), str(duckdb.path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    calls = [
        r for r in served
        if r["type"] == "call" and r["data"].get("queue") and r["subtype"] == "inbound"
    ]  # fmt: skip
    rules = kpis.Definitions()
    lines = printed.splitlines()
    assert "offered  service level  abandonment  ASA (s)  AHT (s)" in lines[2]
    rows = {line[:22].strip(): line[22:].split() for line in lines[3:] if line.startswith("  ")}
    assert set(rows) == {c["data"]["queue"]["name"] for c in calls}
    for name, (offered, service_level, abandonment, asa, aht) in rows.items():
        queue = [kpis.contact(c, rules) for c in calls if c["data"]["queue"]["name"] == name]
        answered = [c.record for c in queue if c.handled]
        net = len(queue) - sum(c.short_abandoned for c in queue)
        abandoned = sum(c.abandoned and not c.short_abandoned for c in queue)
        assert int(offered) == len(queue)
        assert service_level == f"{sum(c.within for c in queue) / net:.1%}"
        assert abandonment == f"{abandoned / net:.1%}"
        assert (
            asa == f"{sum(c['data']['durations']['queue'] for c in answered) / len(answered):.1f}"
        )
        handle = [c["data"]["durations"]["talk"] + c["data"]["durations"]["hold"] for c in answered]
        assert aht == f"{sum(handle) / len(handle):.1f}"
    # A contact center's figures, not a coin's: most calls answered in time, few abandoned.
    total = [kpis.contact(c, rules) for c in calls]
    assert 0.6 < sum(c.within for c in total) / len(total) < 0.95
    assert 0.01 < sum(c.abandoned for c in total) / len(total) < 0.1
    intervals = kpis.queue_interval(served, rules)
    # The most offered; of equals, the earliest, then the first queue name (as printed).
    busiest = min(
        (-v["offered"], k[0], v["queue_name"], k)
        for k, v in intervals.items()
        if k[2:] == ("call", "inbound")
    )
    want = intervals[busiest[-1]]
    assert lines[-1].endswith(
        f"{want['queue_name']}: {want['offered']} inbound calls,"
        f" AHT {want['average_handle_time_seconds']:.1f} s,"
        f" {want['required_agents']} agents required (Erlang C)"
    ), lines[-1]


def test_a_dbt_project_installs_the_package_from_packages_yml(duckdb, served, tmp_path):
    """The package README's packages.yml, the git URL pointed at this clone (its last
    commit), and its dbt_project.yml vars."""
    assert duckdb.path is not None
    readme = PACKAGE_README.read_text()
    packages = yaml.safe_load(re.search(r"# packages.yml\n(.*?)```", readme, re.DOTALL)[1])
    vars_ = yaml.safe_load(re.search(r"# dbt_project.yml\n(.*?)```", readme, re.DOTALL)[1])
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    (package,) = packages["packages"]
    package.update(git=ROOT.as_uri(), revision=commit)
    project = tmp_path / "analytics"
    project.mkdir()
    (project / "packages.yml").write_text(yaml.safe_dump(packages))
    (project / "dbt_project.yml").write_text(
        yaml.safe_dump({"name": "analytics", "profile": "analytics", **vars_})
    )
    database = tmp_path / "copy.duckdb"
    shutil.copy(duckdb.path, database)
    profile = {"type": "duckdb", "path": str(database), "schema": "analytics"}
    (project / "profiles.yml").write_text(
        yaml.safe_dump({"analytics": {"target": "dev", "outputs": {"dev": profile}}})
    )
    dbt = str(ROOT / ".meltano" / "utilities" / "dbt-duckdb" / "venv" / "bin" / "dbt")
    for command in (["deps"], ["build"]):
        result = subprocess.run(
            [dbt, *command, "--project-dir", str(project), "--profiles-dir", str(project)],
            cwd=project, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:]
    assert (project / "dbt_packages" / "dbt_voiso" / "dbt_project.yml").exists()
    rows = duckdb_rows(database, "SELECT * FROM analytics.voiso__queue_daily", as_dicts=True)
    rules = kpis.Definitions(timezone=vars_["vars"]["voiso_timezone"])
    expected = kpis.queue_daily(served, rules)
    assert_matches(rows, expected, KEYS["voiso__queue_daily"])
