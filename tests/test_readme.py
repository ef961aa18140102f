"""The README's settings table is the one `tap-voiso --about` reports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from scripts.readme_settings import README, render
from tests.conftest import parse_messages, tap_config, write_json


def test_readme_settings_table_matches_about():
    text = README.read_text()
    assert render(text) == text, "run: .venv/bin/python scripts/readme_settings.py"


def test_about_json_lists_each_documented_setting():
    about = subprocess.run(
        [sys.executable, "-m", "tap_voiso", "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    settings = json.loads(about.stdout)["settings"]["properties"]
    text = README.read_text()
    for name in settings:
        if not name.startswith(("stream_map", "faker_config", "flattening_")):
            assert f"| `{name}` |" in text
    assert settings["api_key"].get("secret") is True


def test_the_install_commands_run_as_written(make_sim, tmp_path):
    """The README's Install block, but `pip install`, against the local simulator."""
    section = README.read_text().split("## Install\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert lines[0].startswith("pip install tap-voiso")
    server = make_sim(records=3000, burst=0)
    served = {r["id"] for r in server.simulator.visible_records()}
    write_json(tmp_path, tap_config(server, end_date=None))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for line in lines[1:]:
        result = subprocess.run(
            ["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"{line}\n{result.stderr[-3000:]}"
    first = parse_messages((tmp_path / "singer.jsonl").read_text())
    assert {r["id"] for r in first.records} == served
    state = json.loads((tmp_path / "state.json").read_text())
    assert state == first.states[-1]
    assert parse_messages((tmp_path / "next.jsonl").read_text()).records == []  # caught up
