"""Objects loaded of objects listed, per stream, for each directory case the reference allows.

    .venv/bin/python -m benchmarks.directory_cases [--records 3000] [--rate-limit 0]

For each case (the directory as the reference shows it; fields the tap does not declare;
values of another JSON type; both; no `users` and `campaigns` endpoints (404); a `users`
or a `campaigns` list that answers 503 to every request), serves the simulator (in this process, on
loopback, with a directory of 400 more agents and 20 more queues) and runs `tap-voiso`
as a user would (a process of its own, `cdrs` and the four directory streams selected,
`max_tries` 3). It prints the exit code, for each stream the distinct objects emitted of
those the simulator lists (for `queue_members`, of the memberships of the listed
queues; for `cdrs`, of the CDRs it serves), the requests sent and the wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.conftest import SHORT_END, catalog_selecting, sim_server, tap_config
from voiso_simulator import SimServer, serving

ROOT = Path(__file__).resolve().parent.parent
STREAMS = ("cdrs", "users", "campaigns", "queues", "queue_members")
CASES: dict[str, dict[str, Any]] = {
    "as the reference shows": {},
    "fields not declared": {"directory_new_fields": True},
    "values of another type": {"directory_other_types": True},
    "both": {"directory_new_fields": True, "directory_other_types": True},
    "no users, no campaigns (404)": {"absent_endpoints": ["users", "campaigns"]},
    "users always 503": {"failing_lists": ["users"]},
    "campaigns always 503": {"failing_lists": ["campaigns"]},
}


def listed(server: SimServer) -> dict[str, int]:
    """What the simulator holds, per stream (the ground truth)."""
    directory = server.simulator.directory
    config = server.simulator.config
    counts = {"cdrs": len(server.simulator.visible_records())}
    for resource in ("users", "campaigns", "queues"):
        counts[resource] = len(directory.listed_now(resource))
    counts["queue_members"] = sum(
        len(ids)
        for queue_id in directory.listed_now("queues")
        for ids in directory.members(queue_id).values()
    )
    return counts | {r: 0 for r in config.absent_endpoints if r != "queues"}


def emitted(stdout: str) -> dict[str, int]:
    """Distinct objects of each stream in a run's output, by its key."""
    keys: dict[str, set[Any]] = {stream: set() for stream in STREAMS}
    for line in stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            record = message["record"]
            key = record.get("id")
            if message["stream"] == "queue_members":
                key = (record["queue_id"], record["user_id"], record["role"])
            keys[message["stream"]].add(key)
    return {stream: len(found) for stream, found in keys.items()}


def run_case(switches: dict[str, Any], records: int, rate_limit: float) -> str:
    """One case's line of the table."""
    options = {"records": records, "burst": 0, "extra_users": 400, "extra_queues": 20}
    with serving(sim_server(**options, rate_limit_per_second=rate_limit, **switches)) as server:
        config = tap_config(server, end_date=SHORT_END, max_tries=3)
        with tempfile.TemporaryDirectory() as folder:
            paths = [Path(folder) / "config.json", Path(folder) / "catalog.json"]
            paths[0].write_text(json.dumps(config))
            paths[1].write_text(json.dumps(catalog_selecting(config, *STREAMS)))
            began = time.monotonic()
            run = subprocess.run(
                [sys.executable, "-m", "tap_voiso", "--config", str(paths[0]),
                 "--catalog", str(paths[1])],
                capture_output=True, text=True, cwd=ROOT, check=False,
            )  # fmt: skip
            seconds = time.monotonic() - began
        truth, got = listed(server), emitted(run.stdout)
        cells = " | ".join(f"{got[s]:,} of {truth[s]:,}" for s in STREAMS)
        requests = len(server.simulator.requests)
    return f"| {run.returncode} | {cells} | {requests:,} | {seconds:.1f} s |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--rate-limit", type=float, default=0.0, help="requests a second")
    args = parser.parse_args()
    print(f"| case | exit | {' | '.join(STREAMS)} | requests | wall |")
    print("|:--|--:|" + "--:|" * len(STREAMS) + "--:|--:|")
    for name, switches in CASES.items():
        print(f"| {name} {run_case(switches, args.records, args.rate_limit)}", flush=True)


if __name__ == "__main__":
    main()
