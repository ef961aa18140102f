"""The Meltano Hub definition and meltano.yml describe exactly the tap that ships."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from scripts.plugin_definition import HUB_FILE, MELTANO_YML, render_hub, render_meltano_yml

# A copy of the Hub's own JSON Schema (meltano/hub, schemas/), as of August 2026.
HUB_SCHEMA_DIR = Path(__file__).parent / "data" / "meltano-hub-schema"


def hub_validator() -> Draft7Validator:
    docs = {p.name: json.loads(p.read_text()) for p in HUB_SCHEMA_DIR.rglob("*.json")}

    def retrieve(uri: str) -> Resource:
        return Resource.from_contents(docs[uri.rsplit("/", 1)[-1]])

    return Draft7Validator(docs["extractors.schema.json"], registry=Registry(retrieve=retrieve))


def about_settings() -> set[str]:
    """Setting names as --about reports them, nested objects spelled with dots."""
    about = subprocess.run(
        [sys.executable, "-m", "tap_voiso", "--about", "--format=json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    names = set()
    for name, prop in json.loads(about.stdout)["settings"]["properties"].items():
        nested = prop.get("properties", {})
        if nested and name != "stream_maps":
            names |= {f"{name}.{key}" for key in nested}
        else:
            names.add(name)
    return names


def test_hub_definition_is_valid_against_the_hubs_schema():
    definition = yaml.safe_load(HUB_FILE.read_text())
    errors = [f"{list(e.path)}: {e.message}" for e in hub_validator().iter_errors(definition)]
    assert errors == []


def test_the_schema_check_would_catch_a_bad_definition():
    definition = yaml.safe_load(HUB_FILE.read_text())
    definition["quality"] = "platinum"
    definition["settings"][0]["kind"] = "secret"
    assert len(list(hub_validator().iter_errors(definition))) == 2


def test_hub_definition_lists_exactly_the_settings_about_reports():
    definition = yaml.safe_load(HUB_FILE.read_text())
    assert {s["name"] for s in definition["settings"]} == about_settings()
    api_key = next(s for s in definition["settings"] if s["name"] == "api_key")
    assert api_key["kind"] == "string"
    assert api_key["sensitive"] is True
    assert definition["settings_group_validation"] == [
        ["api_key", "cluster_id"],
        ["api_key", "api_url"],
    ]
    assert "batch" not in definition["capabilities"]


def test_every_setting_has_kind_label_and_description():
    for source in (HUB_FILE, MELTANO_YML):
        text = yaml.safe_load(source.read_text())
        plugin = text if source == HUB_FILE else text["plugins"]["extractors"][0]
        for entry in plugin["settings"]:
            assert entry.get("kind"), entry
            assert entry.get("label"), entry
            assert entry.get("description"), entry


def test_files_are_up_to_date_with_the_tap():
    hint = "run: .venv/bin/python scripts/plugin_definition.py"
    assert HUB_FILE.read_text() == render_hub(), hint
    assert MELTANO_YML.read_text() == render_meltano_yml(MELTANO_YML.read_text()), hint


def test_meltano_yml_declares_every_plugin_inline():
    project = yaml.safe_load(MELTANO_YML.read_text())
    for kind in ("extractors", "loaders"):
        for plugin in project["plugins"][kind]:
            assert {"namespace", "pip_url", "executable"} <= plugin.keys(), plugin["name"]
            assert "variant" not in plugin  # nothing to look up on Meltano Hub


def test_secrets_use_the_current_form_not_the_deprecated_password_kind():
    """Meltano rewrites a whole settings block that still says `kind: password`."""
    for path in (HUB_FILE, MELTANO_YML):
        text = path.read_text()
        assert "kind: password" not in text
    meltano = yaml.safe_load(MELTANO_YML.read_text())
    (extractor,) = [e for e in meltano["plugins"]["extractors"] if e["name"] == "tap-voiso"]
    (api_key,) = [s for s in extractor["settings"] if s["name"] == "api_key"]
    assert api_key["kind"] == "string"
    assert api_key["sensitive"] is True
