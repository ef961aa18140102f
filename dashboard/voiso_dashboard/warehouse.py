"""Read what the page shows from dbt_voiso's marts, on DuckDB or PostgreSQL.

The queries only select and add up modelled figures (counts, sums); every rate and
percentile comes from the models, so that the page shows what the warehouse holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from voiso_dashboard.columns import CURVE_SECONDS

Table = dict[str, list[Any]]  # column name -> values, one per row


@dataclass(frozen=True)
class Connection:
    """Where the marts are: a DuckDB file, or a PostgreSQL database (dbt-postgres's)."""

    warehouse: str = "duckdb"  # duckdb or postgres
    path: str = "output/warehouse.duckdb"
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = "postgres"  # noqa: S105 (target-postgres's default)
    dbname: str = "voiso"
    schema: str = "voiso_analytics"


def _interval_columns() -> str:
    curves = [
        f"{kind}_within_{seconds}_seconds"
        for seconds in CURVE_SECONDS
        for kind in ("handled", "abandoned")
    ]
    return ", ".join(
        [
            "interval_start_local", "queue_id", "queue_name", "channel", "direction",
            "offered", "handled", "abandoned", "short_abandoned",
            "answered_within_service_level", "average_speed_of_answer_seconds",
            "required_agents", "agents_handling", *curves,
            "median_wait_seconds", "p90_wait_seconds", "longest_wait_seconds",
        ]
    )  # fmt: skip


def _select(schema: str, model: str, columns: str, order: str) -> str:
    # The schema is the user's own setting; nothing else here comes from outside.
    return f"SELECT {columns} FROM {schema}.{model} ORDER BY {order}"  # noqa: S608


def queries(schema: str) -> dict[str, str]:
    """The page's tables, as SQL both warehouses run (nothing but standard SQL)."""
    return {
        "definitions": _select(schema, "voiso__definitions", "*", "timezone"),
        "intervals": _select(
            schema, "voiso__queue_interval", _interval_columns(),
            "interval_start_utc, queue_name, channel, direction",
        ),
        "agents": _select(
            schema, "voiso__agent_queue_daily",
            "local_date, agent_id, agent_name, queue_id, handled, talk_seconds, hold_seconds,"
            " transferred_out, repeat_contacts",
            "local_date, agent_id, queue_id",
        ),
        "campaigns": _select(
            schema, "voiso__campaign_queue_daily",
            "local_date, campaign_id, campaign_name, queue_id, dial_attempts, connected, abandoned",
            "local_date, campaign_name, queue_id",
        ),
    }  # fmt: skip


def _plain(value: Any) -> Any:
    """A value as JSON writes it: times as text to the minute, decimals as numbers."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return round(value, 4)
    return value


def _table(cursor: Any) -> Table:
    names = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    return {name: [_plain(row[i]) for row in rows] for i, name in enumerate(names)}


def read(connection: Connection) -> dict[str, Table]:
    """Every table the page needs, column by column."""
    sql = queries(connection.schema)
    if connection.warehouse == "postgres":
        import psycopg  # noqa: PLC0415 (only PostgreSQL users need the driver loaded)

        with psycopg.connect(
            host=connection.host, port=connection.port, user=connection.user,
            password=connection.password, dbname=connection.dbname,
        ) as db:  # fmt: skip
            return {name: _table(db.execute(query)) for name, query in sql.items()}
    import duckdb  # noqa: PLC0415

    with duckdb.connect(connection.path, read_only=True) as db:
        return {name: _table(db.execute(query)) for name, query in sql.items()}
