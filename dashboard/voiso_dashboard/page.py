"""The page: one HTML file with its scripts, styles and data inline (no network).

page.html holds the layout, each view's title and definition; page.js draws the views.

Vega, Vega-Lite and vega-embed come from vl-convert-python's offline bundle; the views
are Vega-Lite specs drawn as SVG, so that every queue and campaign name is page text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import resources
from string import Template
from typing import Any, cast

from voiso_dashboard.columns import CURVE_SECONDS
from voiso_dashboard.warehouse import Table

DATA_OPEN = '<script type="application/json" id="voiso-data">'


def _inline_json(value: object) -> str:
    """JSON that cannot end the script element holding it."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def vega_bundle() -> str:
    """Vega-Embed, Vega-Lite and Vega as one script, from vl-convert's wheel (offline)."""
    import vl_convert  # noqa: PLC0415 (slow to load; only the build needs it)

    # Its stub wants a snippet; without one, the bundle sets window.vegaEmbed (what page.js uses).
    bundle = cast("Callable[[], str]", vl_convert.javascript_bundle)
    return bundle().replace("</script", "<\\/script")


def render(tables: dict[str, Table], schema: str, bundle: str | None = None) -> str:
    """The whole page, from the marts' tables."""
    package = resources.files("voiso_dashboard")
    template = Template((package / "page.html").read_text(encoding="utf-8"))
    data = {**tables, "curve_seconds": list(CURVE_SECONDS)}
    return template.substitute(
        SCHEMA=schema,
        WRITTEN=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        DATA=_inline_json(data),
        BUNDLE=vega_bundle() if bundle is None else bundle,
        SCRIPT=(package / "page.js").read_text(encoding="utf-8"),
    )


def embedded_data(html: str) -> dict[str, Any]:
    """The tables a page written by `render` holds (to check a page against its marts)."""
    start = html.index(DATA_OPEN) + len(DATA_OPEN)
    data: dict[str, Any] = json.loads(html[start : html.index("</script>", start)])
    return data
