"""Print per-queue KPIs read back from dbt_voiso's `voiso__queue_daily` in a DuckDB file.

Run with a Python that has `duckdb` (scripts/demo uses target-duckdb's):
`python scripts/kpi_table.py output/warehouse.duckdb [schema]`.
"""

from __future__ import annotations

import sys

import duckdb

# Over all days and directions: rates from the daily counts, handle time weighted by
# the answered calls it averages over.
QUERY = """
SELECT
    queue_name,
    sum(offered) AS offered,
    sum(answered) / sum(offered) AS answer_rate,
    sum(answered_within_service_level) / sum(offered) AS service_level,
    sum(average_handle_time_seconds * answered) / nullif(sum(answered), 0) AS aht
FROM {schema}.voiso__queue_daily
GROUP BY queue_name
ORDER BY offered DESC, queue_name
"""


def main(path: str, schema: str = "voiso_analytics") -> None:
    """Print the table."""
    database = duckdb.connect(path, read_only=True)
    rows = database.sql(QUERY.format(schema=schema)).fetchall()
    print(f"\nCalls per queue, all days ({schema}.voiso__queue_daily):")
    print(f"  {'queue':<20}{'offered':>8}{'answer rate':>13}{'service level':>15}{'AHT (s)':>9}")
    for name, offered, answer_rate, service_level, aht in rows:
        handle = "-" if aht is None else f"{aht:.1f}"
        print(f"  {name:<20}{offered:>8}{answer_rate:>13.1%}{service_level:>15.1%}{handle:>9}")


if __name__ == "__main__":
    main(*sys.argv[1:])
