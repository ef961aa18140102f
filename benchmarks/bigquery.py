"""BigQuery here: bqemulator's local server, and tables laid out as a BigQuery target lands them.

bqemulator (`.venv-bqemulator`, made by scripts/setup: Python 3.11+, its own DuckDB with
the spatial extension it loads at start from the `duckdb-extension-spatial` wheel, no
download) answers BigQuery's REST API on loopback and runs GoogleSQL on DuckDB through
SQLGlot; dbt-bigquery (the Meltano utility `dbt-bigquery`) reaches it through the
profile's `api_endpoint`, with a token no one checks (`method: oauth-secrets`). The
tables are what a BigQuery target writes from this tap's SCHEMA with its columns
typed (z3z1ma target-bigquery with `denormalized: true`, the layout dbt_voiso's
`bigquery__` branches read):

- the tap's column names as they are, in dataset `voiso`;
- objects and arrays `JSON`, `number` FLOAT64, `integer` INT64, `date-time` TIMESTAMP;
- its `_sdc_*` columns where the target writes them (`_sdc_batched_at` here);
- upsert on `id`: a load replaces the rows whose id it brings.

The client runs in the dbt utility's environment (google-cloud-bigquery comes with
dbt-bigquery), so that the loader and dbt speak to the emulator with the same library.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.servers import free_port, local_server, run_client, typed

ROOT = Path(__file__).resolve().parents[1]
BQEMULATOR = ROOT / ".venv-bqemulator" / "bin"
DBT_BIGQUERY = ROOT / ".meltano" / "utilities" / "dbt-bigquery" / "venv" / "bin" / "dbt"
PROJECT = "voiso"
# A BigQuery target's column types for the tap's streams (the columns dbt_voiso reads).
TYPES = {
    "uuid": "STRING", "string": "STRING", "integer": "INT64", "number": "FLOAT64",
    "date-time": "TIMESTAMP", "json": "JSON",
}  # fmt: skip
CDRS, USERS, CAMPAIGNS = (typed(s, TYPES) for s in ("cdrs", "users", "campaigns"))

# Run in the dbt-bigquery utility's environment: a load, or queries.
CLIENT = r"""
import datetime, json, sys
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
request = json.loads(sys.argv[1])
client = bigquery.Client(
    project=request["project"], credentials=AnonymousCredentials(),
    client_options=ClientOptions(api_endpoint=request["endpoint"]),
)
def plain(value):
    if isinstance(value, datetime.datetime):  # a TIMESTAMP as naive UTC, as DuckDB's
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value
if "load" in request:
    load = request["load"]
    dataset, table = load["dataset"], load["table"]
    client.create_dataset(dataset, exists_ok=True)
    columns = load["columns"] + [["_sdc_batched_at", "TIMESTAMP"]]
    schema = [bigquery.SchemaField(name, kind) for name, kind in columns]
    staged = f"{dataset}.{table}_loading"
    client.delete_table(staged, not_found_ok=True)
    with open(load["path"]) as lines:
        records = [json.loads(line) for line in lines]
    for record in records:
        record["_sdc_batched_at"] = load["batched_at"]
    with open(load["path"] + ".bq", "w") as out:
        for record in records:
            out.write(json.dumps({n: record.get(n) for n, _ in columns}) + "\n")
    config = bigquery.LoadJobConfig(schema=schema, source_format="NEWLINE_DELIMITED_JSON")
    with open(load["path"] + ".bq", "rb") as source:
        client.load_table_from_file(source, staged, job_config=config).result()
    client.create_table(bigquery.Table(f"{request['project']}.{dataset}.{table}", schema=schema),
                        exists_ok=True)
    names = ", ".join(f"`{n}`" for n, _ in columns)
    client.query(f"DELETE FROM {dataset}.{table} WHERE id IN (SELECT id FROM {staged})").result()
    client.query(f"INSERT INTO {dataset}.{table} ({names}) SELECT {names} FROM {staged}").result()
    client.delete_table(staged)
answers = []
for query in request.get("queries", []):
    rows = client.query(query).result()
    answers.append([{k: plain(v) for k, v in row.items()} for row in rows])
print(json.dumps({"answers": answers}, default=str))
"""


@dataclass(frozen=True)
class BigQuery:
    """A bqemulator server on loopback (its REST port), and the project dbt_voiso builds in."""

    port: int
    project: str = PROJECT

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def query(self, *queries: str) -> list[list[dict[str, Any]]]:
        """Each query's rows as {column: value}, timestamps as naive UTC text."""
        return self._client({"queries": list(queries)})["answers"]

    def tables(self, dataset: str, tables: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Every row of each table (JSON columns as their JSON text)."""
        answers = self.query(*(f"SELECT * FROM {dataset}.{t}" for t in tables))  # noqa: S608
        return dict(zip(tables, answers, strict=True))

    def load(
        self,
        path: Path,
        table: str,
        columns: tuple[tuple[str, str], ...],
        batched_at: str,
        dataset: str = "voiso",
    ) -> None:
        """Upsert the NDJSON records of `path` into `dataset.table` on `id`, as a BigQuery
        target would (batch time `batched_at`, naive UTC)."""
        load = {
            "path": str(path), "table": table, "dataset": dataset,
            "columns": [list(c) for c in columns], "batched_at": batched_at,
        }  # fmt: skip
        self._client({"load": load})

    def _client(self, request: dict[str, Any]) -> dict[str, Any]:
        request = {"project": self.project, "endpoint": self.endpoint, **request}
        return run_client(DBT_BIGQUERY.parent / "python", CLIENT, request)

    def env(self, dataset: str) -> dict[str, str]:
        """The dbt-bigquery utility's settings that point it at this server."""
        return {
            "DBT_TARGET": "bigquery", "DBT_BIGQUERY_METHOD": "oauth-secrets",
            "DBT_BIGQUERY_TOKEN": "bqemulator", "DBT_BIGQUERY_PROJECT": self.project,
            "DBT_BIGQUERY_DATASET": dataset, "DBT_BIGQUERY_API_ENDPOINT": self.endpoint,
        }  # fmt: skip


@contextmanager
def bqemulator_server() -> Iterator[BigQuery]:
    """bqemulator's server (in memory) on free loopback ports until the block ends."""
    rest, grpc = free_port(), free_port()
    command = [
        str(BQEMULATOR / "bqemulator"), "start", "--ephemeral", "--project", PROJECT,
        "--rest-port", str(rest), "--grpc-port", str(grpc), "--log-level", "error",
    ]  # fmt: skip
    with local_server(command, rest, "bqemulator"):
        yield BigQuery(rest)
