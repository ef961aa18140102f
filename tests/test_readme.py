"""The README's settings table is the one `tap-voiso --about` reports."""

from __future__ import annotations

import json
import subprocess
import sys

from scripts.readme_settings import README, render


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
