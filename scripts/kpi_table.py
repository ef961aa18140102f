"""Print per-queue KPIs and the busiest interval, read back from dbt_voiso in a DuckDB file.

Run with a Python that has `duckdb` (scripts/demo uses target-duckdb's):
`python scripts/kpi_table.py output/warehouse.duckdb [schema]`.
"""

from __future__ import annotations

import sys

import duckdb

# Inbound calls over all days: rates from the daily counts (short abandons out, as the
# models count them), speed of answer and handle time weighted by the answered calls.
QUEUES = """
SELECT
    queue_name,
    sum(offered) AS offered,
    sum(answered_within_service_level) / nullif(sum(offered - short_abandoned), 0) AS service_level,
    sum(abandoned - short_abandoned) / nullif(sum(offered - short_abandoned), 0) AS abandonment,
    sum(average_speed_of_answer_seconds * answered) / nullif(sum(answered), 0) AS asa,
    sum(average_handle_time_seconds * answered) / nullif(sum(answered), 0) AS aht
FROM {schema}.voiso__queue_daily
WHERE direction = 'inbound'
GROUP BY queue_name
ORDER BY offered DESC, queue_name
"""
# The queue interval of inbound calls with the most offered, and the agents it needed.
BUSIEST = """
SELECT interval_start_local, queue_name, offered, average_handle_time_seconds, required_agents
FROM {schema}.voiso__queue_interval
WHERE channel = 'call' AND direction = 'inbound'
ORDER BY offered DESC, interval_start_utc, queue_name
LIMIT 1
"""


def seconds(value: float | None) -> str:
    """Seconds to one decimal, `-` for none."""
    return "-" if value is None else f"{value:.1f}"


def share(value: float | None) -> str:
    """A percentage to one decimal, `-` for none."""
    return "-" if value is None else f"{value:.1%}"


def main(path: str, schema: str = "voiso_analytics") -> None:
    """Print the table and the busiest interval."""
    database = duckdb.connect(path, read_only=True)
    print(f"\nInbound calls per queue, all days ({schema}.voiso__queue_daily):")
    header = ("offered", "service level", "abandonment", "ASA (s)", "AHT (s)")
    print(
        f"  {'queue':<20}{header[0]:>8}{header[1]:>15}{header[2]:>13}{header[3]:>9}{header[4]:>9}"
    )
    for name, offered, level, abandonment, asa, aht in database.sql(
        QUEUES.format(schema=schema)
    ).fetchall():
        print(
            f"  {name:<20}{offered:>8}{share(level):>15}{share(abandonment):>13}"
            f"{seconds(asa):>9}{seconds(aht):>9}"
        )
    busiest = database.sql(BUSIEST.format(schema=schema)).fetchone()
    if busiest is not None:
        start, name, offered, aht, agents = busiest
        print(
            f"\nBusiest interval ({schema}.voiso__queue_interval): {start:%Y-%m-%d %H:%M} local,"
            f" {name}: {offered} inbound calls, AHT {seconds(aht)} s,"
            f" {agents} agents required (Erlang C)"
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
