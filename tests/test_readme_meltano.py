"""The README's Meltano commands, run as written against the Meltano this project installs.

The block after "## Meltano" is run line by line with bash, in a scratch copy of this
project (its `meltano.yml`, the plugins `scripts/setup` installed), against the local
simulator: `TAP_VOISO_API_URL` points the tap there (it takes precedence over
`cluster_id`), and `VOISO_API_KEY` holds the simulator's key.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import yaml

from tests.conftest import ROOT, queries
from voiso_simulator import DEFAULT_KEY

MELTANO_BIN = ROOT / ".venv" / "bin"


def readme_meltano_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Meltano\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_readmes_meltano_commands_run_as_written(make_sim, tmp_path):
    server = make_sim(records=800, burst=0)
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "meltano.yml", project / "meltano.yml")
    sys_dir = project / ".meltano"
    sys_dir.mkdir()
    for kind in ("extractors", "loaders"):
        (sys_dir / kind).symlink_to(ROOT / ".meltano" / kind)
    env = {
        **os.environ,
        "PATH": f"{MELTANO_BIN}{os.pathsep}{os.environ['PATH']}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "VOISO_API_KEY": DEFAULT_KEY,
        "TAP_VOISO_API_URL": server.url,
    }
    outputs = []
    for line in readme_meltano_block():
        result = subprocess.run(
            ["bash", "-c", line], cwd=project, env=env, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"{line}\n{result.stderr[-3000:]}"
        outputs.append((line, result))

    by_command = {line.split("#")[0].strip(): result for line, result in outputs}
    # Secrets went to .env, the rest to meltano.yml, as the comments say.
    assert DEFAULT_KEY in (project / ".env").read_text()
    assert DEFAULT_KEY not in (project / "meltano.yml").read_text()
    assert "cluster_id: acme" in (project / "meltano.yml").read_text()
    listed = by_command["meltano config list tap-voiso"].stdout
    assert "cluster_id" in listed
    assert "types" in listed
    # The run read from the `start_date` set above: no environment of this project
    # overrides `meltano config set`.
    floors = {query.get("started_at[gte]", [""])[0] for query in queries(server)}
    assert "2024-01-01T00:00:00.000Z" in floors
    assert DEFAULT_KEY not in listed  # sensitive: redacted
    tested = by_command["meltano invoke tap-voiso --test"]
    assert "Connection test passed" in tested.stderr + tested.stdout
    # The run loaded the CDRs the filter asks for, and the state is shaped as written.
    rows = [
        json.loads(line) for line in (project / "output" / "cdrs.jsonl").read_text().splitlines()
    ]
    wanted = {
        r["id"] for r in server.simulator.visible_records() if r["type"] in ("call", "conversation")
    }
    assert {r["id"] for r in rows} == wanted
    state = json.loads(by_command["meltano state get dev:tap-voiso-to-target-jsonl"].stdout)
    assert set(state) == {"singer_state"}
    assert state["singer_state"]["bookmarks"]["cdrs"]["replication_key"] == "started_at"


def test_the_extractor_block_installs_from_a_clone_in_a_fresh_meltano_project(make_sim, tmp_path):
    """The README's way in for another project: this repository's block, `pip_url` a clone."""
    meltano = str(MELTANO_BIN / "meltano")
    env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}

    def run(*args: str, cwd=tmp_path, **extra: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [meltano, *args], cwd=cwd, env={**env, **extra}, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"{args}\n{result.stderr[-3000:]}"
        return result

    run("init", "fresh")
    project = tmp_path / "fresh"
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"\n    pip_url: /path/to/tap-voiso +# or: from a clone\n", readme)
    ours = yaml.safe_load((ROOT / "meltano.yml").read_text())
    block = next(p for p in ours["plugins"]["extractors"] if p["name"] == "tap-voiso")
    block["pip_url"] = str(ROOT)  # a clone of tap-voiso: this one
    fresh = yaml.safe_load((project / "meltano.yml").read_text())
    fresh.setdefault("plugins", {})["extractors"] = [block]
    (project / "meltano.yml").write_text(yaml.safe_dump(fresh, sort_keys=False))
    run("install", "tap-voiso", cwd=project)
    server = make_sim(records=300, burst=0)
    tested = run(
        "invoke", "tap-voiso", "--test", cwd=project,
        TAP_VOISO_API_KEY=DEFAULT_KEY, TAP_VOISO_API_URL=server.url,
    )  # fmt: skip
    assert "Connection test passed" in tested.stderr + tested.stdout
    assert "this key can read 300 CDRs" in tested.stderr + tested.stdout
