"""`voiso-dashboard build`: read the marts, write the page (the Meltano utility `dashboard`).

Settings come from the command line or, as Meltano passes them, from DASHBOARD_* variables.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields
from pathlib import Path

from voiso_dashboard import page, warehouse


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="voiso-dashboard", description=__doc__)
    parser.add_argument("command", choices=["build"])
    defaults = warehouse.Connection()
    for field in fields(warehouse.Connection):
        default = os.environ.get(f"DASHBOARD_{field.name.upper()}") or getattr(defaults, field.name)
        parser.add_argument(
            f"--{field.name}", default=default, type=type(getattr(defaults, field.name))
        )
    parser.add_argument(
        "--output", default=os.environ.get("DASHBOARD_OUTPUT") or "output/dashboard.html"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Write the dashboard page; print its path."""
    options = _options(argv)
    connection = warehouse.Connection(
        **{field.name: getattr(options, field.name) for field in fields(warehouse.Connection)}
    )
    if connection.warehouse not in ("duckdb", "postgres"):
        sys.exit(f"dashboard: warehouse must be duckdb or postgres, not {connection.warehouse!r}")
    if connection.warehouse == "duckdb" and not Path(connection.path).exists():
        sys.exit(
            f"dashboard: no DuckDB file at {connection.path}: load and build first"
            " (meltano run tap-voiso target-duckdb dbt-duckdb:build)"
        )
    html = page.render(warehouse.read(connection), connection.schema)
    output = Path(options.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    print(f"dashboard: wrote {output} ({output.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
