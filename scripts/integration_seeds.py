"""Write dbt_voiso/integration_tests/seeds/ from the simulator (run after changing a KPI).

`python -m scripts.integration_seeds` writes the landed tables (`cdrs.csv`,
`users.csv`, `campaigns.csv`: the columns target-postgres writes, lists and objects as
JSON text) of a few hundred realistic CDRs across the night New York's clocks go back,
and for each scenario of `scenarios.yml` the figures tests/kpis.py computes from the
same CDRs under its vars (`expected/expected_<scenario>_<model>.csv`, their column
types in `expected/_expected.yml`). tests/test_dbt_integration.py checks that the
committed seeds are what this writes, so the ground truth and the seeds cannot drift.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tests import kpis, kpis_directory
from voiso_simulator import DatasetSpec, SimConfig, Simulator

PROJECT = Path(__file__).resolve().parent.parent / "dbt_voiso" / "integration_tests"
# Six days of a center keeping Manila's hours: New York's two 01:00 hours of
# 2026-11-01 (13:00 and 14:00 in Manila) are busy ones, and the data spans two weeks.
SPEC = DatasetSpec(
    records=400, span_days=6, burst=0, seed=36, start="2026-10-29T00:00:00Z",
    profile="realistic", timezone="Asia/Manila",
)  # fmt: skip
SDC = ("_sdc_extracted_at", "_sdc_received_at", "_sdc_batched_at", "_sdc_deleted_at",
       "_sdc_sequence", "_sdc_table_version", "_sdc_sync_started_at")  # fmt: skip
LANDED = {
    "cdrs": ("id", "type", "subtype", "disposition", "from", "to", "user", "cost", "tags",
             "started_at", "ended_at", "data"),
    "users": ("id", "name", "email", "sip_account", "extension", "caller_id", "employee_id",
              "timezone", "security_access_group", "teams", "supervised_teams"),
    "campaigns": ("id", "name", "status", "strategy", "dial_level", "max_dial_time",
                  "max_wait_time", "max_dial_attempts", "amd_enabled", "amd_voicemail_message",
                  "caller_id_sets", "follow_up_mode", "created_at", "updated_at"),
}  # fmt: skip
# A load into the warehouse an hour after the data ends; re-read CDRs a minute later.
LOADED = datetime(2026, 11, 4, 1, 0)
# Model: (its keys, its figures from the CDRs, the users and the campaigns).
Figures = Callable[[list[dict], list[dict], list[dict], kpis.Definitions], dict[tuple, dict]]
EXPECTED: dict[str, tuple[tuple[str, ...], Figures]] = {
    "queue_daily": (("local_date", "queue_id", "direction"),
                    lambda r, _u, _c, rules: kpis.queue_daily(r, rules)),
    "queue_weekly": (("week_start", "queue_id", "direction"),
                     lambda r, _u, _c, rules: kpis.queue_weekly(r, rules)),
    "queue_interval": (("interval_start_utc", "queue_id", "channel", "direction"),
                       lambda r, _u, _c, rules: kpis.queue_interval(r, rules)),
    "agent_interval": (("interval_start_utc", "agent_id"),
                       lambda r, _u, _c, rules: kpis.agent_interval(r, rules)),
    "agent_daily": (("local_date", "agent_id"),
                    lambda r, _u, _c, rules: kpis.agent_daily(r, rules)),
    "campaign_daily": (("local_date", "campaign_id"),
                       lambda r, _u, c, rules: kpis_directory.campaign_daily(r, c, rules)),
}  # fmt: skip


def moment_text(value: str) -> str:
    """An API moment as a warehouse's UTC timestamp text: `2026-10-29 00:06:50.463000`."""
    return kpis.moment(value).replace(tzinfo=None).isoformat(sep=" ")


def landed_row(record: dict[str, Any], columns: Iterable[str], batch: int) -> dict[str, Any]:
    """A record as target-postgres lands it: objects and lists as JSON, moments in UTC."""
    row: dict[str, Any] = {}
    for column in columns:
        value = record.get(column)
        if isinstance(value, (dict, list)) or (column in ("user", "data") and value is None):
            value = json.dumps(value)
        elif column.endswith("_at") and isinstance(value, str):
            value = moment_text(value)
        row[column] = value
    loaded = LOADED + timedelta(minutes=batch)
    sequence = round((loaded - datetime(1970, 1, 1)).total_seconds() * 1000)
    return row | {
        "_sdc_extracted_at": loaded.isoformat(sep=" "),
        "_sdc_received_at": loaded.isoformat(sep=" "),
        "_sdc_batched_at": loaded.isoformat(sep=" "),
        "_sdc_deleted_at": None,
        "_sdc_sequence": sequence,
        "_sdc_table_version": None,
        "_sdc_sync_started_at": sequence,
    }


def landed_cdrs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each CDR once, and every twentieth twice, as an append-only target lands them.

    The tap read those while still open, then again once they ended: the earlier
    version (batch 0) is open and has no cost; the staging model must keep the later.
    """
    rows = [landed_row(record, LANDED["cdrs"], 1) for record in records]
    for record in records[7::20]:
        rows.append(landed_row(record | {"ended_at": None, "cost": None}, LANDED["cdrs"], 0))
    return rows


def column_type(values: list[Any]) -> str:
    """The SQL type (as DuckDB and PostgreSQL both spell it) of an expected column."""
    present = [value for value in values if value is not None]
    if all(isinstance(value, bool) for value in present) and present:
        return "boolean"
    if all(isinstance(value, int) and not isinstance(value, bool) for value in present) and present:
        return "bigint"
    if all(isinstance(value, (int, float)) for value in present):
        return "double precision"  # floats, and columns NULL throughout (a figure)
    if all(re.fullmatch(r"\d{4}-\d\d-\d\d", str(value)) for value in present):
        return "date"
    if all(
        re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", str(value)) for value in present
    ):
        return "timestamp"
    return "text"


def write_csv(path: Path, rows: list[dict[str, Any]], columns: Iterable[str]) -> None:
    """Rows as a seed: NULL as an empty field, floats as Python writes them exactly."""
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def write_seeds(project: Path = PROJECT) -> None:
    """Every seed of the integration project, into `project`/seeds."""
    simulator = Simulator(SPEC, SimConfig())
    records = simulator.visible_records()
    directory = simulator.directory
    listed = {
        name: [directory.objects[name][key] for key in sorted(directory.listed_now(name))]
        for name in ("users", "campaigns")
    }
    seeds = project / "seeds"
    (seeds / "expected").mkdir(parents=True, exist_ok=True)
    write_csv(seeds / "cdrs.csv", landed_cdrs(records), (*LANDED["cdrs"], *SDC))
    for name, objects in listed.items():
        rows = [landed_row(item, LANDED[name], 1) for item in objects]
        write_csv(seeds / f"{name}.csv", rows, (*LANDED[name], *SDC))
    scenarios = yaml.safe_load((project / "scenarios.yml").read_text())
    properties = []
    for scenario, dbt_vars in scenarios.items():
        rules = kpis.Definitions.from_dbt_vars(dbt_vars or {})
        for model, (keys, figures) in EXPECTED.items():
            expected = figures(records, listed["users"], listed["campaigns"], rules)
            rows = [
                dict(zip(keys, key, strict=True)) | values
                for key, values in sorted(expected.items())
            ]
            columns = list(rows[0])
            name = f"expected_{scenario}_{model}"
            write_csv(seeds / "expected" / f"{name}.csv", rows, columns)
            types = {column: column_type([row[column] for row in rows]) for column in columns}
            properties.append({"name": name, "config": {"column_types": types}})
    header = "# Written by `python -m scripts.integration_seeds`: do not edit.\n"
    body = yaml.safe_dump({"version": 2, "seeds": properties}, sort_keys=False)
    (seeds / "expected" / "_expected.yml").write_text(header + body)


if __name__ == "__main__":
    write_seeds(Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT)
