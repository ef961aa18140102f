"""Snowflake here: fakesnow's local server, and tables laid out as target-snowflake writes them.

fakesnow (`.venv-fakesnow`, made by scripts/setup: Python 3.11+ and a DuckDB of its own)
answers the Snowflake connector's HTTP protocol on loopback and runs the SQL on DuckDB;
dbt-snowflake (the Meltano utility `dbt-snowflake`) connects to it with the profile's
`host`, `port` and `protocol: http`. MeltanoLabs target-snowflake cannot load into it
(it stages files with PUT), so `load` writes what target-snowflake's upsert leaves in a
table from this tap's SCHEMA (its connector's types, read from its source):

- columns upper-cased (Snowflake folds unquoted names; `FROM`, `TO`, `USER` quoted);
- objects and arrays VARIANT, `number` DOUBLE, `integer` NUMBER, `date-time`
  TIMESTAMP_NTZ in UTC (its default `timestamp_type`), the `uuid` id VARCHAR(36) with
  `uuid_format: string` or its native UUID;
- its metadata columns (`_SDC_EXTRACTED_AT`, `_SDC_RECEIVED_AT`, `_SDC_BATCHED_AT`,
  `_SDC_DELETED_AT`, `_SDC_SEQUENCE`, `_SDC_TABLE_VERSION`, `_SDC_SYNC_STARTED_AT`);
- upsert on `ID`: a load replaces the rows whose ID it brings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.servers import free_port, local_server, run_client, typed

ROOT = Path(__file__).resolve().parents[1]
FAKESNOW = ROOT / ".venv-fakesnow" / "bin"
DBT_SNOWFLAKE = ROOT / ".meltano" / "utilities" / "dbt-snowflake" / "venv" / "bin" / "dbt"
DATABASE = "VOISO_DB"  # (a schema VOISO in a database VOISO is ambiguous to fakesnow)
# target-snowflake's column types for the tap's streams (the columns dbt_voiso reads
# and the rest of `cdrs`): name, Snowflake type.
TYPES = {
    "uuid": "VARCHAR(36)", "string": "VARCHAR", "integer": "NUMBER", "number": "DOUBLE",
    "date-time": "TIMESTAMP_NTZ", "json": "VARIANT",
}  # fmt: skip
CDRS, USERS, CAMPAIGNS = (typed(s, TYPES, upper=True) for s in ("cdrs", "users", "campaigns"))
SDC = (
    ("_SDC_EXTRACTED_AT", "TIMESTAMP_NTZ"), ("_SDC_RECEIVED_AT", "TIMESTAMP_NTZ"),
    ("_SDC_BATCHED_AT", "TIMESTAMP_NTZ"), ("_SDC_DELETED_AT", "TIMESTAMP_NTZ"),
    ("_SDC_SEQUENCE", "NUMBER"), ("_SDC_TABLE_VERSION", "NUMBER"),
    ("_SDC_SYNC_STARTED_AT", "NUMBER"),
)  # fmt: skip

# Run in fakesnow's environment (its Snowflake connector): SQL statements, or a load.
CLIENT = r"""
import json, sys
import snowflake.connector
request = json.loads(sys.argv[1])
db = snowflake.connector.connect(
    user="fake", password="snow", account="fakesnow", host="127.0.0.1", port=request["port"],
    protocol="http", database=request["database"], network_timeout=600,
    session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
)
cursor = db.cursor()
for statement in request.get("sql", []):
    cursor.execute(statement)
answers = []
for query in request.get("queries", []):
    cursor.execute(query)
    names = [d[0].lower() for d in cursor.description]
    answers.append({"columns": names, "rows": cursor.fetchall()})
if "load" in request:
    load = request["load"]
    table, columns, staged = load["table"], load["columns"], load["table"] + "_LOADING"
    typed = columns + load["sdc"]
    quoted = lambda name: '"' + name + '"'
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {load['schema']}")
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {load['schema']}.{table} ("
                   + ", ".join(f"{quoted(n)} {t}" for n, t in typed) + ")")
    cursor.execute(f"CREATE OR REPLACE TABLE {load['schema']}.{staged} ("
                   + ", ".join(f"{quoted(n)} VARCHAR" for n, _ in columns) + ")")
    with open(load["path"]) as lines:
        records = [json.loads(line) for line in lines]
    def text(value):
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value)
    values = [[text(r.get(n.lower())) for n, _ in columns] for r in records]
    marks = ", ".join(["%s"] * len(columns))
    for start in range(0, len(values), 5000):
        cursor.executemany(f"INSERT INTO {load['schema']}.{staged} VALUES ({marks})",
                           values[start:start + 5000])
    def cast(name, kind):
        if kind == "VARIANT":
            return f"parse_json({quoted(name)})"
        return f"cast({quoted(name)} as {kind})"
    batched = load["batched_at"]
    sdc = {
        "_SDC_EXTRACTED_AT": f"cast('{batched}' as TIMESTAMP_NTZ)",
        "_SDC_RECEIVED_AT": f"cast('{batched}' as TIMESTAMP_NTZ)",
        "_SDC_BATCHED_AT": f"cast('{batched}' as TIMESTAMP_NTZ)",
        "_SDC_DELETED_AT": "null",
        "_SDC_SEQUENCE": "seq8()", "_SDC_TABLE_VERSION": "cast(null as NUMBER)",
        "_SDC_SYNC_STARTED_AT": str(load["sync_started_at"]),
    }
    cursor.execute(f"DELETE FROM {load['schema']}.{table} WHERE ID IN"
                   f" (SELECT cast(ID as {dict(columns)['ID']}) FROM {load['schema']}.{staged})")
    cursor.execute(
        f"INSERT INTO {load['schema']}.{table} (" + ", ".join(quoted(n) for n, _ in typed) + ") "
        + "SELECT " + ", ".join([cast(n, t) for n, t in columns] + [sdc[n] for n, _ in load["sdc"]])
        + f" FROM {load['schema']}.{staged}")
    cursor.execute(f"DROP TABLE {load['schema']}.{staged}")
described = "sql" in request and cursor.description
columns = [d[0].lower() for d in cursor.description] if described else []
rows = cursor.fetchall() if described else []
print(json.dumps({"columns": columns, "rows": rows, "answers": answers}, default=str))
"""


@dataclass(frozen=True)
class Snowflake:
    """A fakesnow server on loopback, and the database dbt_voiso builds in."""

    port: int
    database: str = DATABASE

    def sql(self, *statements: str) -> list[list[Any]]:
        """Run statements in one session; the last one's rows (values as JSON gives them)."""
        return self._client({"sql": list(statements)})["rows"]

    def tables(self, schema: str, tables: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Every row of each table as {lower-case column: value}, its timestamps as text
        (fakesnow hands a NULL timestamp to the connector as 1970-01-01)."""
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, name, kind in self.sql(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"  # noqa: S608
            f" WHERE table_schema = '{schema.upper()}' ORDER BY table_name, ordinal_position"
        ):
            columns.setdefault(table, []).append((name, kind))
        queries = []
        for table in tables:
            selected = ", ".join(
                f'cast("{n}" as varchar) as "{n}"' if k.startswith("TIMESTAMP") else f'"{n}"'
                for n, k in columns[table.upper()]
            )
            queries.append(f"SELECT {selected} FROM {schema}.{table}")  # noqa: S608
        answers = self._client({"queries": queries})["answers"]
        return {
            table: [dict(zip(a["columns"], row, strict=True)) for row in a["rows"]]
            for table, a in zip(tables, answers, strict=True)
        }

    def load(
        self,
        path: Path,
        table: str,
        columns: tuple[tuple[str, str], ...],
        batched_at: str,
        schema: str = "VOISO",
    ) -> None:
        """Upsert the NDJSON records of `path` into `schema.table` on `ID`, as
        target-snowflake would (batch time `batched_at`, naive UTC)."""
        load = {
            "path": str(path), "table": table, "schema": schema, "columns": list(columns),
            "sdc": list(SDC), "batched_at": batched_at,
            "sync_started_at": int(time.time() * 1000),
        }  # fmt: skip
        self._client({"load": load})

    def _client(self, request: dict[str, Any]) -> dict[str, Any]:
        request = {"port": self.port, "database": self.database, **request}
        return run_client(FAKESNOW / "python", CLIENT, request)

    def env(self, schema: str) -> dict[str, str]:
        """The dbt-snowflake utility's settings that point it at this server."""
        return {
            "DBT_TARGET": "snowflake", "DBT_SNOWFLAKE_ACCOUNT": "fakesnow",
            "DBT_SNOWFLAKE_USER": "fake", "DBT_SNOWFLAKE_PASSWORD": "snow",
            "DBT_SNOWFLAKE_DATABASE": self.database, "DBT_SNOWFLAKE_SCHEMA": schema,
            "DBT_SNOWFLAKE_HOST": "127.0.0.1", "DBT_SNOWFLAKE_PORT": str(self.port),
            "DBT_SNOWFLAKE_PROTOCOL": "http",
        }  # fmt: skip


@contextmanager
def fakesnow_server() -> Iterator[Snowflake]:
    """fakesnow's server (`fakesnow -s`, in-memory, every session sharing its databases)
    on a free loopback port until the block ends, with database `VOISO_DB`."""
    port = free_port()
    command = [str(FAKESNOW / "fakesnow"), "-s", "--host", "127.0.0.1", "-p", str(port)]
    with local_server(command, port, "fakesnow's server", wait=60):
        server = Snowflake(port)
        server.sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        yield server
