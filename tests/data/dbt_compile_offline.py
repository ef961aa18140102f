"""`dbt compile` of dbt_voiso for a warehouse no test can reach (Redshift).

Run with the dbt of `.venv-dbt-compile` (scripts/setup): `python dbt_compile_offline.py
TARGET INCREMENTAL [dbt args...]`. dbt asks the warehouse, while it compiles, whether a
model's table exists, which columns a landed table has and the newest time built; here
the adapter answers from this file instead of a connection: the loader's tables (`cdrs`,
`users`, `campaigns`) exist with the tap's columns, and the models' own tables exist
with `dbt_built_at` when INCREMENTAL is 1 (so `is_incremental()` holds and the
incremental SQL is compiled), else not (the full build's SQL). Every query answers one
row holding one timestamp. Nothing is sent anywhere: the connection is never opened.
"""

from __future__ import annotations

import datetime
import importlib
import sys

import agate
from dbt.adapters.base.column import Column
from dbt.adapters.contracts.connection import AdapterResponse
from dbt.cli.main import dbtRunner

SOURCES = {
    "cdrs": [
        "id",
        "type",
        "subtype",
        "disposition",
        "from",
        "to",
        "user",
        "cost",
        "tags",
        "started_at",
        "ended_at",
        "data",
        "_sdc_batched_at",
        "_sdc_extracted_at",
        "_sdc_sequence",
    ],
    "users": [
        "id",
        "name",
        "email",
        "timezone",
        "sip_account",
        "extension",
        "caller_id",
        "employee_id",
        "security_access_group",
        "teams",
        "supervised_teams",
        "_sdc_batched_at",
    ],
    "campaigns": [
        "id",
        "name",
        "status",
        "strategy",
        "dial_level",
        "created_at",
        "updated_at",
        "_sdc_batched_at",
    ],
}


def main() -> int:
    target, incremental, args = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
    plugin = importlib.import_module(f"dbt.adapters.{target}").Plugin
    adapter_class = plugin.adapter

    def get_relation(self, database, schema, identifier):
        if identifier.lower() in SOURCES or incremental:
            return self.Relation.create(
                database=database, schema=schema, identifier=identifier, type="table"
            )
        return None

    def get_columns_in_relation(self, relation):
        names = SOURCES.get(
            relation.identifier.lower(), ["dbt_built_at", "started_at", "loaded_at"]
        )
        return [
            self.Column.create(name, "string")
            if hasattr(self, "Column")
            else Column(name, "string")
            for name in names
        ]

    def execute(self, sql, auto_begin=False, fetch=False, limit=None):
        table = agate.Table([[datetime.datetime(2026, 3, 9, 12, 0)]], ["value"])
        return AdapterResponse(_message="compiled offline"), table

    adapter_class.get_relation = get_relation
    adapter_class.get_columns_in_relation = get_columns_in_relation
    adapter_class.execute = execute
    adapter_class.list_relations_without_caching = lambda self, schema_relation: []
    manager = adapter_class.ConnectionManager
    manager.open = classmethod(lambda cls, connection: connection)
    manager.begin = lambda self: None
    manager.commit = lambda self: None
    manager.add_begin_query = lambda self: None
    manager.add_commit_query = lambda self: None
    manager.cancel_open = lambda self: []
    manager.close = classmethod(lambda cls, connection: connection)
    manager.release = lambda self: None
    result = dbtRunner().invoke(["compile", "--target", target, "--no-populate-cache", *args])
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
