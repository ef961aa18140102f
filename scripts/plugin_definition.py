"""Derive the Meltano plugin definition from `tap-voiso --about`: one source for both files.

    .venv/bin/python scripts/plugin_definition.py     # rewrite both after changing settings

writes the Meltano Hub definition (`hub/_data/meltano/extractors/tap-voiso/tap-voiso.yml`,
the file submitted to Meltano Hub) and the extractor's `settings`, `capabilities` and
`settings_group_validation` in `meltano.yml`. Tests fail when either file drifts from
what the tap itself reports.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
VARIANT = "tap-voiso"
HUB_FILE = ROOT / "hub" / "_data" / "meltano" / "extractors" / "tap-voiso" / f"{VARIANT}.yml"
MELTANO_YML = ROOT / "meltano.yml"
GROUP_VALIDATION = [["api_key", "cluster_id"], ["api_key", "api_url"]]
# Every CDR once, and the directory the reports are cut by; the per-channel streams
# read the CDRs again, so they are opted into.
DEFAULT_SELECT = ["cdrs.*", "users.*", "campaigns.*", "queues.*", "queue_members.*"]
KINDS = {
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
    "string": "string",
}


@functools.cache
def about() -> dict[str, Any]:
    """What `tap-voiso --about --format=json` prints."""
    result = subprocess.run(
        [sys.executable, "-m", "tap_voiso", "--about", "--format=json"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(result.stdout)


def flat_settings(schema: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Settings as Meltano names them: objects with plain sub-settings become dotted names.

    `stream_maps` stays one object: its only declared key, `__else__`, is a map
    directive rather than a setting.
    """
    out: list[tuple[str, dict[str, Any]]] = []
    for name, prop in schema.get("properties", {}).items():
        sub = prop.get("properties")
        if sub and not any(key.startswith("__") for key in sub):
            out.extend(flat_settings(prop, f"{prefix}{name}."))
        else:
            out.append((f"{prefix}{name}", prop))
    return out


def setting(name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """One Meltano setting definition from its JSON schema."""
    types = prop.get("type", "string")
    types = [types] if isinstance(types, str) else list(types)
    for option in prop.get("oneOf", []):  # e.g. a locale: one string, or a list of them
        option_types = option.get("type", [])
        types += [option_types] if isinstance(option_types, str) else option_types
    kind_name = "array" if "array" in types else next((t for t in types if t != "null"), "string")
    entry: dict[str, Any] = {"name": name}
    if prop.get("secret"):
        entry["kind"] = "string"  # `kind: password` is deprecated in Meltano
        entry["sensitive"] = True
    elif prop.get("format") == "date-time":
        entry["kind"] = "date_iso8601"
    elif "enum" in prop:
        entry["kind"] = "options"
        entry["options"] = [{"label": str(v), "value": v} for v in prop["enum"] if v is not None]
    else:
        entry["kind"] = KINDS.get(kind_name, "string")
    entry["label"] = prop.get("title") or name.replace("_", " ").replace(".", ": ").title()
    if prop.get("description"):
        entry["description"] = prop["description"]
    if prop.get("default") is not None:
        entry["value"] = prop["default"]
    return entry


def settings_definitions() -> list[dict[str, Any]]:
    """Every setting `--about` reports, as Meltano setting definitions."""
    return [setting(name, prop) for name, prop in flat_settings(about()["settings"])]


def hub_definition() -> dict[str, Any]:
    """The Meltano Hub extractor definition for this variant."""
    info = about()
    return {
        "name": "tap-voiso",
        "variant": VARIANT,
        "label": "Voiso",
        "description": "Contact center platform: call, conversation, SMS and HLR lookup records",
        "namespace": "tap_voiso",
        "pip_url": "tap-voiso",
        "executable": "tap-voiso",
        "repo": "https://github.com/tap-voiso/tap-voiso",
        "domain_url": "https://voiso.com",
        "keywords": ["api", "meltano_sdk", "voiso", "cdr", "contact_center"],
        "maintenance_status": "active",
        "quality": "unknown",
        "capabilities": sorted(info["capabilities"]),
        "settings_group_validation": GROUP_VALIDATION,
        "select": DEFAULT_SELECT,
        "settings": settings_definitions(),
        "supported_python_versions": info["supported_python_versions"],
    }


def render_hub() -> str:
    """The Hub file's text."""
    return yaml.safe_dump(hub_definition(), sort_keys=False, allow_unicode=True, width=100)


def render_meltano_yml(text: str) -> str:
    """`meltano.yml` with the extractor's settings, capabilities and groups brought up to date."""
    project = yaml.safe_load(text)
    (extractor,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-voiso"]
    extractor["capabilities"] = sorted(about()["capabilities"])
    extractor["settings_group_validation"] = GROUP_VALIDATION
    extractor["select"] = DEFAULT_SELECT
    extractor["settings"] = settings_definitions()
    return yaml.safe_dump(project, sort_keys=False, allow_unicode=True, width=100)


if __name__ == "__main__":
    HUB_FILE.parent.mkdir(parents=True, exist_ok=True)
    HUB_FILE.write_text(render_hub())
    MELTANO_YML.write_text(render_meltano_yml(MELTANO_YML.read_text()))
