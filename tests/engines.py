"""Compare every model of two dbt_voiso builds on different warehouses, row for row.

Each build is given as {model: rows}, a row as {column: value} the way its warehouse's
Python client and `json.dumps(default=str)` hand it over, or as the warehouse's own
`to_json` writes it (JSON columns then objects, not text). What differs only in spelling
is made one before comparing: column names in lower case (Snowflake upper-cases them),
JSON text parsed (VARIANT and DuckDB's JSON print objects differently), numbers as
floats compared to a tolerance; timestamps and dates as their text, which must be equal.
Bookkeeping columns that depend on the build or the loader, not on the CDRs, are left out.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The time of the run that wrote a row, and the loader's batch time (target-duckdb
# writes none; target-snowflake does): neither is a figure.
BOOKKEEPING = frozenset({"dbt_built_at", "loaded_at"})
TOLERANCE = 1e-6
# A timestamp's text: fakesnow's casts drop trailing zeros of the fraction.
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?")


def model_names() -> list[str]:
    """Every model of dbt_voiso (one .sql file each)."""
    return sorted(path.stem for path in (ROOT / "dbt_voiso" / "models").rglob("*.sql"))


def normal(value: Any) -> Any:
    """A value as both warehouses can agree on it."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and TIMESTAMP.fullmatch(value):
        return str(datetime.fromisoformat(value))
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return value


def normal_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k.lower(): normal(v) for k, v in row.items() if k.lower() not in BOOKKEEPING}


def _order(row: dict[str, Any]) -> tuple:
    """A sort key that rounding differences below the tolerance do not change."""
    return tuple(
        (value is None, round(value, 4) if isinstance(value, float) else str(value))
        for _, value in sorted(row.items())
    )


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    return a == b


def differences(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> list[str]:
    """How one model's rows differ from another build's (empty: equal row for row)."""
    left = sorted((normal_row(r) for r in got), key=_order)
    right = sorted((normal_row(r) for r in want), key=_order)
    if left and right and set(left[0]) != set(right[0]):
        return [f"columns differ: {sorted(set(left[0]) ^ set(right[0]))}"]
    if len(left) != len(right):
        return [f"{len(left)} rows, not {len(right)}"]
    found = []
    for a, b in zip(left, right, strict=True):
        differ = {k: (a[k], b[k]) for k in b if not same(a[k], b[k])}
        if differ:
            found.append(f"{differ} in {b}")
    return found[:5]


def compare_builds(
    got: dict[str, list[dict[str, Any]]], want: dict[str, list[dict[str, Any]]]
) -> dict[str, list[str]]:
    """{model: differences} for every model of `want` that `got` does not equal."""
    assert set(got) == set(want), set(got) ^ set(want)
    return {m: d for m in want if (d := differences(got[m], want[m]))}
