"""Regenerate the README's settings table from `tap-voiso --about` (run after changing settings).

`python scripts/readme_settings.py` rewrites the table in place; the tests fail when
the README and the tap disagree, so the table cannot drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tap_voiso.tap import TapVoiso

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"
# The SDK's own settings (stream maps, flattening) are documented by the SDK.
BUILTIN_PREFIXES = ("stream_map", "faker_config", "flattening_")


def settings_table() -> str:
    """The Markdown table of the tap's own settings, as `--about` reports them."""
    info = TapVoiso._get_about_info()
    schema = info.settings
    required = set(schema.get("required", []))
    rows = ["| Setting | Required | Default | Description |", "|:--|:--:|:--:|:--|"]
    for name, prop in schema["properties"].items():
        if name.startswith(BUILTIN_PREFIXES):
            continue
        default = prop.get("default")
        rows.append(
            f"| `{name}` | {'yes' if name in required else ''} | "
            f"{'' if default is None else f'`{default}`'} | {prop.get('description', '')} |"
        )
    return "\n".join(rows)


def render(readme: str) -> str:
    """The README with its settings table replaced by the current one."""
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{settings_table()}\n{END}{tail}"


if __name__ == "__main__":
    text = README.read_text()
    updated = render(text)
    README.write_text(updated)
    sys.exit(0)
