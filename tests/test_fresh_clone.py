"""The README, as a new user meets it: a fresh clone, its commands run in the README's order.

`git clone` of this repository's HEAD into an empty directory (a clone holds what is
committed, nothing this working tree has made: no `.venv`, no `.meltano`, no `output/`
beyond what git keeps). Every ```bash block the README marks `<!-- fresh-clone -->` is
taken from the clone's README text, in order, and run as one bash script in the clone
(one shell, as a user types them: `source` and a server started with `&` carry over),
with an environment stripped of this test run's own `.venv`, `TAP_VOISO_*`, `MELTANO_*`,
`DBT_*` and `TARGET_*` variables. The one change to what the README says: its port 8765
becomes a free port (in the commands and in the clone's `meltano.yml`), so the run
cannot meet another server on 8765. `scripts/demo` runs last, in the same clone: the
marked blocks must not need it.

The clone sets itself up (`scripts/setup`: its own `.venv` and Meltano plugins, from
PyPI or pip's cache), so this module costs minutes; one clone serves every test here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from voiso_dashboard.page import embedded_data

from tests import kpis
from tests.conftest import BOOKMARK_FORMAT, ROOT
from tests.test_dbt import KEYS, MODELS, assert_matches, duckdb_rows
from voiso_simulator.__main__ import parse_args, simulator_of

MARK = "<!-- fresh-clone -->"
README_PORT = "8765"
# Variables of this test run that a new user's shell would not have.
FOREIGN = ("TAP_VOISO_", "MELTANO_", "DBT_", "TARGET_", "VIRTUAL_ENV", "PYTHONPATH")


def marked_blocks(readme: str) -> list[str]:
    """The README's ```bash blocks marked to run in a fresh clone, in order."""
    return re.findall(rf"{re.escape(MARK)}\n```bash\n(.*?)```", readme, re.DOTALL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def user_environment() -> dict[str, str]:
    """This process's environment as a new user's shell would have it."""
    ours = str(ROOT / ".venv" / "bin")
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != ours)
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
    return {**env, "PATH": path}


@dataclass
class FreshClone:
    """A clone after the README's marked blocks ran in it."""

    path: Path
    blocks: list[str]
    script: str
    result: subprocess.CompletedProcess
    seconds: float  # set-up included
    finished: float  # when the marked blocks had run (time.time())
    served: list[dict[str, Any]]  # the CDRs the README's simulator command serves


def simulator_command(script: str) -> list[str]:
    """The arguments of the README's `python -m voiso_simulator` line."""
    (line,) = [x for x in script.splitlines() if "-m voiso_simulator" in x]
    words = shlex.split(line.split("&")[0], comments=True)
    return words[words.index("voiso_simulator") + 1 :]


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory) -> FreshClone:
    clone = tmp_path_factory.mktemp("fresh") / "tap-voiso"
    subprocess.run(
        ["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, capture_output=True
    )
    blocks = marked_blocks((clone / "README.md").read_text())
    port = str(free_port())
    meltano_yml = clone / "meltano.yml"
    assert f"127.0.0.1:{README_PORT}" in meltano_yml.read_text()
    meltano_yml.write_text(meltano_yml.read_text().replace(README_PORT, port))
    script = "\n".join(blocks).replace(README_PORT, port)
    start = time.monotonic()
    result = subprocess.run(
        # Every command echoed (-x), the first failure ends the script, and whatever it
        # started in the background (the simulator) ends with it.
        ["bash", "-c", f"set -xeo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n{script}"],
        cwd=clone, env=user_environment(), capture_output=True, text=True, timeout=3600,
        check=False,
    )  # fmt: skip
    seconds = time.monotonic() - start
    served = simulator_of(parse_args(simulator_command(script))).visible_records()
    return FreshClone(clone, blocks, script, result, seconds, time.time(), served)


def test_the_readme_marks_the_blocks_a_new_user_runs_in_a_clone():
    blocks = marked_blocks((ROOT / "README.md").read_text())
    commands = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    assert commands[0] == "scripts/setup"  # from nothing: no step before it is assumed
    # The first run is target-duckdb's: its file, output/warehouse.duckdb, must find its
    # directory in a fresh clone (target-jsonl would make output/ and hide a missing one).
    runs = [c for c in commands if c.startswith("meltano run")]
    assert runs[0] == "meltano run tap-voiso target-duckdb"
    assert "meltano run tap-voiso target-duckdb dbt-duckdb:build" in commands
    assert "meltano run tap-voiso target-duckdb dbt-duckdb:build dashboard:build" in commands


def test_every_marked_command_runs_as_written_in_a_fresh_clone(fresh_clone):
    result = fresh_clone.result
    ran = f"(after {fresh_clone.seconds:.0f} s, set-up included)"
    assert result.returncode == 0, f"{fresh_clone.script}\n--- {ran}\n{result.stderr[-6000:]}"


def test_target_duckdb_loaded_each_cdr_once_into_voiso_cdrs_and_meltano_kept_the_state(
    fresh_clone,
):
    state = subprocess.run(
        [".venv/bin/meltano", "state", "get", "dev:tap-voiso-to-target-duckdb"],
        cwd=fresh_clone.path, env=user_environment(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    bookmark = json.loads(state.stdout)["singer_state"]["bookmarks"]["cdrs"]
    assert BOOKMARK_FORMAT.fullmatch(bookmark["replication_key_value"])
    database = fresh_clone.path / "output" / "warehouse.duckdb"
    rows = duckdb_rows(
        database, "SELECT type, count(*), count(DISTINCT id) FROM voiso.cdrs GROUP BY 1"
    )
    loaded = {cdr_type: (int(n), int(ids)) for cdr_type, n, ids in rows}
    expected = Counter(r["type"] for r in fresh_clone.served)
    assert loaded == {cdr_type: (n, n) for cdr_type, n in expected.items()}


def test_dbt_built_every_model_and_every_test_passed(fresh_clone):
    results = json.loads(
        (fresh_clone.path / "dbt_voiso" / "target" / "run_results.json").read_text()
    )["results"]
    by_kind = Counter(r["unique_id"].split(".")[0] for r in results)
    assert by_kind["model"] >= len(MODELS)
    assert by_kind["test"] > 10
    failed = [r["unique_id"] for r in results if r["status"] not in ("success", "pass")]
    assert failed == []
    built = {r["unique_id"].split(".")[-1] for r in results if r["unique_id"].startswith("model.")}
    assert set(MODELS) <= built


def test_the_kpi_models_hold_the_figures_of_the_cdrs_served(fresh_clone):
    database = fresh_clone.path / "output" / "warehouse.duckdb"
    for model, compute in (
        ("voiso__queue_daily", kpis.queue_daily),
        ("voiso__agent_daily", kpis.agent_daily),
    ):
        rows = duckdb_rows(database, f"SELECT * FROM voiso_analytics.{model}", as_dicts=True)  # noqa: S608
        assert rows
        assert_matches(rows, compute(fresh_clone.served, kpis.Definitions()), KEYS[model])


def test_the_quick_start_demo_runs_in_the_same_clone_after_them(fresh_clone):
    """`scripts/demo`, the quick start's first command: it, too, needs nothing made before."""
    demo = subprocess.run(
        ["scripts/demo"], cwd=fresh_clone.path, env=user_environment(), capture_output=True,
        text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-3000:] + demo.stdout[-3000:]
    assert "CDRs per type in output/warehouse.duckdb" in demo.stdout
    assert re.search(r"Done\. PASS=\d+ WARN=0 ERROR=0", demo.stdout)
    assert "offered  service level  abandonment  ASA (s)  AHT (s)" in demo.stdout
    assert "agents required (Erlang C)" in demo.stdout
    page = fresh_clone.path / "output" / "dashboard.html"
    assert f"Dashboard: {page}" in demo.stdout
    assert page.stat().st_mtime > fresh_clone.finished


def test_the_readmes_command_wrote_the_dashboard_one_self_contained_page(fresh_clone):
    """`meltano run ... dashboard:build`: output/dashboard.html, every script and datum inline."""
    html = (fresh_clone.path / "output" / "dashboard.html").read_text()
    assert 100_000 < len(html.encode()) < 5_000_000
    assert not re.search(r"<script[^>]+\bsrc=|<link\b", html)
    assert "window.vegaEmbed" in html
    data = embedded_data(html)
    offered = sum(data["intervals"]["offered"])
    queued = [r for r in fresh_clone.served if r["type"] in ("call", "conversation")]
    assert offered == sum(1 for r in queued if r["data"].get("queue"))


# The directory as the reference leaves it open, and a cluster without the dialer.
OPEN_DIRECTORY = [
    "--directory-new-fields", "yes", "--directory-other-types", "yes",
    "--absent-endpoints", "campaigns",
]  # fmt: skip


def test_a_default_meltano_run_loads_every_directory_object_the_reference_leaves_open(
    fresh_clone,
):
    """The selection `meltano.yml` ships (`cdrs` and the four directory streams), run into
    target-duckdb against fields the tap does not declare, values of another JSON type
    and a 404 on `/api/v4/campaigns`: every object lands once, exit 0, one WARNING."""
    port = str(free_port())
    with subprocess.Popen(
        [".venv/bin/python", "-m", "voiso_simulator", "--port", port, *OPEN_DIRECTORY],
        cwd=fresh_clone.path, env=user_environment(), stdout=subprocess.PIPE, text=True,
    ) as simulator:  # fmt: skip
        try:
            assert simulator.stdout is not None
            simulator.stdout.readline()  # listening
            env = {
                **user_environment(),
                "TAP_VOISO_API_URL": f"http://127.0.0.1:{port}",
                "TARGET_DUCKDB_FILEPATH": "output/open-directory.duckdb",
            }
            run = subprocess.run(
                [".venv/bin/meltano", "run", "--state-id-suffix", "open-directory",
                 "tap-voiso", "target-duckdb"],
                cwd=fresh_clone.path, env=env, capture_output=True, text=True, timeout=600,
                check=False,
            )  # fmt: skip
        finally:
            simulator.terminate()
    assert run.returncode == 0, run.stderr[-4000:]
    skipped = [line for line in run.stderr.splitlines() if "Stream `campaigns` skipped" in line]
    assert len(skipped) == 1
    assert "GET /api/v4/campaigns answers HTTP 404 Not Found" in skipped[0]
    truth = simulator_of(parse_args(OPEN_DIRECTORY))
    directory = truth.directory
    database = fresh_clone.path / "output" / "open-directory.duckdb"

    def loaded(sql: str) -> Counter:
        return Counter(tuple(row) for row in duckdb_rows(database, sql))

    cdrs = loaded("SELECT id FROM voiso.cdrs")
    assert cdrs == Counter((r["id"],) for r in truth.visible_records())
    users = loaded("SELECT id, extension FROM voiso.users")
    assert users == Counter(
        (key, directory.objects["users"][key]["extension"]) for key in directory.listed_now("users")
    )
    queues = loaded("SELECT id, in_queue_announcement->>'interval' FROM voiso.queues")
    assert queues == Counter(
        (key, str(directory.objects["queues"][key]["in_queue_announcement"]["interval"]))
        for key in directory.listed_now("queues")
    )
    members = loaded("SELECT queue_id, user_id, role FROM voiso.queue_members")
    expected = Counter(
        (queue_id, user_id, role)
        for queue_id in directory.listed_now("queues")
        for role, ids in directory.members(queue_id).items()
        for user_id in ids
    )
    assert members == expected
    skills = loaded("SELECT count(*) FROM voiso.users WHERE skills IS NOT NULL")
    assert skills == Counter({(len(directory.listed_now("users")),): 1})
    assert loaded("SELECT count(*) FROM voiso.campaigns") == Counter({(0,): 1})
