"""End to end through Meltano with real plugins: target-jsonl, PostgreSQL, parallel slices.

The plugins are installed by `scripts/setup` (`meltano install`, from PyPI); each test
gives Meltano its own system database, so state from one test never leaks into another.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import re
import subprocess
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tap_voiso.cdrs.windows import iso_ms, to_ms
from tap_voiso.settings import DEFAULT_LOOKBACK_MINUTES
from tests.conftest import ROOT, check_bookmarks, queries
from tests.postgres import Postgres, postgres_server
from voiso_simulator import DEFAULT_KEY, SimServer
from voiso_simulator.data import parse_iso

MELTANO = str(ROOT / ".venv" / "bin" / "meltano")
LOOKBACK_MS = DEFAULT_LOOKBACK_MINUTES * 60_000


def recent_sim(make_sim, records: int = 3000, **options: object) -> SimServer:
    """CDRs over the ten days up to now, some of them (long conversations) ending later."""
    start = datetime.now(timezone.utc) - timedelta(days=10)
    return make_sim(
        records=records,
        start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        span_days=10,
        burst=0,
        **options,
    )


def meltano(
    tmp_path: Path, server: SimServer, *args: str, **env: str
) -> subprocess.CompletedProcess:
    """Run `meltano` in this project, against `server`, with a system database of its own."""
    environment = {
        **os.environ,
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_VOISO_API_KEY": DEFAULT_KEY,
        "TAP_VOISO_API_URL": server.url,
        "TAP_VOISO_START_DATE": "2020-01-01T00:00:00Z",
        "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "jsonl"),
        **env,
    }
    (tmp_path / "jsonl").mkdir(exist_ok=True)
    result = subprocess.run(
        [MELTANO, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def jsonl_ids(path: Path) -> list[str]:
    return (
        [json.loads(line)["id"] for line in path.read_text().splitlines()] if path.exists() else []
    )


def test_meltano_run_twice_into_jsonl_second_run_reads_only_late_and_new_cdrs(make_sim, tmp_path):
    server = recent_sim(make_sim)
    served = server.simulator.visible_records()
    meltano(tmp_path, server, "run", "tap-voiso", "target-jsonl")
    first = jsonl_ids(tmp_path / "jsonl" / "cdrs.jsonl")
    assert Counter(first) == Counter(r["id"] for r in served)

    state = json.loads(
        meltano(tmp_path, server, "state", "get", "dev:tap-voiso-to-target-jsonl").stdout
    )
    check_bookmarks(state["singer_state"])
    bookmark = state["singer_state"]["bookmarks"]["cdrs"]["replication_key_value"]

    server.simulator.reset_log()
    meltano(tmp_path, server, "run", "tap-voiso", "target-jsonl")
    second = jsonl_ids(tmp_path / "jsonl" / "cdrs.jsonl")[len(first) :]
    late_query = queries(server, "/reporting/cdrs")[0]
    assert late_query["ended_at[gte]"] == [iso_ms(parse_iso(bookmark) - LOOKBACK_MS)]
    late_or_new = {
        r["id"]
        for r in served
        if parse_iso(r["started_at"]) >= parse_iso(bookmark)
        or parse_iso(r["ended_at"]) >= parse_iso(bookmark) - LOOKBACK_MS
    }
    assert set(second) == late_or_new
    assert 0 < len(second) < len(first) / 20


@pytest.fixture(scope="module")
def postgres() -> Postgres:
    with postgres_server() as server:
        yield server


def test_postgres_one_row_per_cdr_after_two_runs_with_data_as_jsonb(make_sim, tmp_path, postgres):
    server = recent_sim(make_sim, records=4000)
    served = server.simulator.visible_records()
    env = {
        "TARGET_POSTGRES_PORT": str(postgres.port),
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": "e2e",
    }
    meltano(tmp_path, server, "run", "tap-voiso", "target-postgres", **env)
    meltano(tmp_path, server, "run", "tap-voiso", "target-postgres", **env)

    ((rows, distinct),) = postgres.sql("SELECT count(*), count(DISTINCT id) FROM e2e.cdrs")
    assert int(rows) == int(distinct) == len(served)
    by_type = dict(postgres.sql("SELECT type, count(*) FROM e2e.cdrs GROUP BY type"))
    assert {k: int(v) for k, v in by_type.items()} == Counter(r["type"] for r in served)
    ((data_type,),) = postgres.sql("SELECT pg_typeof(data)::text FROM e2e.cdrs LIMIT 1")
    assert data_type == "jsonb"
    talk = postgres.sql(
        "SELECT id, data->'durations'->>'talk' FROM e2e.cdrs "
        "WHERE type = 'call' ORDER BY id LIMIT 20"
    )
    expected = {r["id"]: r["data"]["durations"]["talk"] for r in served if r["type"] == "call"}
    assert talk
    for record_id, value in talk:
        assert float(value) == expected[record_id]


def test_parallel_backfill_slices_then_one_incremental_job(make_sim, tmp_path):
    """The README's scaling recipe, small: disjoint slices in parallel, then incremental."""
    server = recent_sim(make_sim, records=3000)
    served = server.simulator.visible_records()
    now = datetime.now(timezone.utc)
    edges = [now - timedelta(days=11), now - timedelta(days=7), now - timedelta(days=3)]
    slices = list(itertools.pairwise(edges))

    # Parallel jobs share one, already initialized, system database (state backend).
    meltano(tmp_path, server, "state", "list")
    procs = []
    for index, (start, end) in enumerate(slices):
        out = tmp_path / f"slice-{index}"
        # Each job gets its own .meltano directory (Meltano writes each run's config and
        # catalog there), sharing the installed plugins; in production, its own container.
        sys_dir = out / ".meltano"
        sys_dir.mkdir(parents=True)
        for kind in ("extractors", "loaders"):
            (sys_dir / kind).symlink_to(ROOT / ".meltano" / kind)
        env = {
            "MELTANO_SYS_DIR_ROOT": str(sys_dir),
            **os.environ,
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TAP_VOISO_API_KEY": DEFAULT_KEY,
            "TAP_VOISO_API_URL": server.url,
            "TAP_VOISO_START_DATE": iso_ms(to_ms(start)),
            "TAP_VOISO_END_DATE": iso_ms(to_ms(end)),
            "TARGET_JSONL_DESTINATION_PATH": str(out),
        }
        command = [
            MELTANO,
            "run",
            "--state-id-suffix",
            f"slice-{index}",
            "tap-voiso",
            "target-jsonl",
        ]
        procs.append(
            subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        )
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()[-6000:]

    for index, (start, end) in enumerate(slices):
        got = set(jsonl_ids(tmp_path / f"slice-{index}" / "cdrs.jsonl"))
        assert got == {
            r["id"] for r in served if to_ms(start) <= parse_iso(r["started_at"]) < to_ms(end)
        }

    # Switch to one incremental job, starting where the last slice ended.
    last_end = iso_ms(to_ms(slices[-1][1]))
    state = {
        "singer_state": {
            "bookmarks": {
                "cdrs": {"replication_key": "started_at", "replication_key_value": last_end}
            }
        }
    }
    meltano(
        tmp_path,
        server,
        "state",
        "set",
        "--force",
        "dev:tap-voiso-to-target-jsonl",
        json.dumps(state),
    )
    meltano(tmp_path, server, "run", "tap-voiso", "target-jsonl")
    incremental = set(jsonl_ids(tmp_path / "jsonl" / "cdrs.jsonl"))
    assert incremental == {  # the new CDRs, and the late ones of the slices
        r["id"]
        for r in served
        if parse_iso(r["started_at"]) >= to_ms(slices[-1][1])
        or parse_iso(r["ended_at"]) >= to_ms(slices[-1][1]) - LOOKBACK_MS
    }
    everything = incremental.union(
        *(jsonl_ids(tmp_path / f"slice-{i}" / "cdrs.jsonl") for i in range(len(slices)))
    )
    assert everything == {r["id"] for r in served}


def test_duckdb_quick_start_target_loads_every_cdr(make_sim, tmp_path):
    """The quick start's target: DuckDB 1.3+ would take each batch's first row for a header."""
    server = recent_sim(make_sim, records=1500)
    served = server.simulator.visible_records()
    database = tmp_path / "warehouse.duckdb"
    meltano(
        tmp_path, server, "run", "tap-voiso", "target-duckdb", TARGET_DUCKDB_FILEPATH=str(database)
    )
    python = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
    query = (
        "import duckdb, json, sys; db = duckdb.connect(sys.argv[1], read_only=True); "
        "print(json.dumps(db.sql('SELECT type, count(*) FROM voiso.cdrs GROUP BY 1').fetchall()))"
    )
    counts = subprocess.run(
        [str(python), "-c", query, str(database)], capture_output=True, text=True, check=True
    )
    assert dict(json.loads(counts.stdout)) == Counter(r["type"] for r in served)


# What each target holds of the new fields, by stream and id: (account_id, future_field),
# as text, `None` for null; `cdrs` keeps `future_field` inside its JSON `data` column.
Loaded = dict[str, dict[str, tuple[str | None, str | None]]]


def loaded_from_postgres(postgres: Postgres) -> Loaded:
    queries = {
        "cdrs": "SELECT id, account_id, data->>'future_field' FROM evolved.cdrs",
        "calls": "SELECT id, account_id, future_field FROM evolved.calls",
    }
    return {
        stream: {row[0]: (row[1] or None, row[2] or None) for row in postgres.sql(query)}
        for stream, query in queries.items()
    }


def loaded_from_duckdb(database: Path) -> Loaded:
    python = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
    query = (
        "import duckdb, json, sys; db = duckdb.connect(sys.argv[1], read_only=True); "
        "print(json.dumps({"
        "'cdrs': db.sql('SELECT id, account_id, data FROM voiso.cdrs').fetchall(), "
        "'calls': db.sql('SELECT id, account_id, future_field FROM voiso.calls').fetchall()}, "
        "default=str))"
    )
    result = subprocess.run(
        [str(python), "-c", query, str(database)], capture_output=True, text=True, check=True
    )
    tables = json.loads(result.stdout)
    future = {row[0]: json.loads(row[2] or "{}").get("future_field") for row in tables["cdrs"]}
    return {
        "cdrs": {row[0]: (row[1], _text(future[row[0]])) for row in tables["cdrs"]},
        "calls": {row[0]: (row[1], _text(row[2])) for row in tables["calls"]},
    }


def loaded_from_csv(folder: Path) -> Loaded:
    def rows(stream: str) -> list[dict[str, str]]:
        with (folder / f"{stream}.csv").open(newline="") as file:
            return list(csv.DictReader(file))

    return {
        "cdrs": {
            row["id"]: (
                row["account_id"] or None,
                _text(csv_data_field(row["data"], "future_field")),
            )
            for row in rows("cdrs")
        },
        "calls": {
            row["id"]: (row["account_id"] or None, row["future_field"] or None)
            for row in rows("calls")
        },
    }


def csv_data_field(text: str, key: str) -> str | None:
    """A number in target-csv's `data` column: Python's repr (`Decimal('2.5')`), not JSON."""
    found = re.search(rf"'{key}': (?:Decimal\(')?(-?[\d.]+)", text)
    return found.group(1) if found else None


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def served_new_fields(server: SimServer) -> Loaded:
    served = server.simulator.visible_records()
    pairs = {r["id"]: (r.get("account_id"), r["data"].get("future_field")) for r in served}
    calls = {r["id"] for r in served if r["type"] == "call"}
    return {"cdrs": pairs, "calls": {key: pairs[key] for key in calls}}


def same_values(loaded: Loaded, expected: Loaded) -> None:
    for stream, rows in expected.items():
        assert set(loaded[stream]) == set(rows), stream
        for record_id, (account_id, future) in rows.items():
            got_account, got_future = loaded[stream][record_id]
            assert got_account == account_id, (stream, record_id)
            assert (got_future is None) == (future is None), (stream, record_id)
            if future is not None:
                assert float(str(got_future)) == future, (stream, record_id)


@pytest.mark.parametrize("target", ["target-postgres", "target-duckdb", "target-csv"])
def test_new_fields_mid_run_become_columns_with_their_values(make_sim, tmp_path, request, target):
    """`account_id` appears half-way, `future_field` now and then: both become columns."""
    server = recent_sim(make_sim, records=3000, new_fields=True)
    expected = served_new_fields(server)
    assert any(a is None for a, _ in expected["calls"].values())  # some rows predate them
    assert any(f is not None for _, f in expected["calls"].values())
    env = {"TAP_VOISO__SELECT": json.dumps(["cdrs.*", "calls.*"])}
    if target == "target-postgres":
        postgres = request.getfixturevalue("postgres")
        env |= {"TARGET_POSTGRES_PORT": str(postgres.port)}
        env |= {"TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": "evolved"}
    env["TARGET_DUCKDB_FILEPATH"] = str(tmp_path / "warehouse.duckdb")
    env["TARGET_CSV_OUTPUT_PATH"] = str(tmp_path / "csv")
    meltano(tmp_path, server, "run", "tap-voiso", target, **env)
    if target == "target-postgres":
        loaded = loaded_from_postgres(postgres)
    elif target == "target-duckdb":
        loaded = loaded_from_duckdb(tmp_path / "warehouse.duckdb")
    else:
        loaded = loaded_from_csv(tmp_path / "csv")
    same_values(loaded, expected)
