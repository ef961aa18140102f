"""Benchmark reading a large centre's directory: round trips and requests per list.

    .venv/bin/python -m benchmarks.directory --users 5000 --queues 300 --latency-ms 250

Serves the simulator (in this process, on loopback) with `--users` more agents and
`--queues` more queues than its CDRs name, then runs `tap-voiso` (a process of its own)
once per directory stream, that stream alone selected. For each: the objects read, the
pages they make (100 a page, the most these endpoints take), the requests sent, the
round trips (requests that start within a latency of the round's first), the bound
`ceil(pages / concurrency) + 2`, and the wall time of the whole process. For
`queue_members`, each queue's agents and supervisors are two lists of their own.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import catalog_selecting, sim_server, tap_config
from voiso_simulator import serving

ROOT = Path(__file__).resolve().parent.parent
STREAMS = ("users", "campaigns", "queues", "queue_members")
LIMIT = 100


def round_trips(started: list[float], latency_s: float) -> int:
    """Round trips: a request that starts a latency (less a tenth) after the first of the
    round it would join cannot have waited for nothing: it starts the next round."""
    rounds, began = 0, None
    for moment in sorted(started):
        if began is None or moment - began >= 0.9 * latency_s:
            rounds, began = rounds + 1, moment
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--queues", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=250.0)
    parser.add_argument("--concurrency", type=int, default=12)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    print(
        f"directory of {args.users:,} more users and {args.queues} more queues, "
        f"{args.latency_ms:g} ms a request, concurrency {args.concurrency}"
    )
    print(f"{'stream':<14}{'objects':>8}{'pages':>7}{'requests':>10}{'round trips':>13}"
          f"{'bound':>7}{'seconds':>9}")  # fmt: skip
    server = sim_server(
        records=200,
        burst=0,
        extra_users=args.users,
        extra_queues=args.queues,
        latency_ms=args.latency_ms,
    )
    with serving(server), tempfile.TemporaryDirectory() as folder:
        sim = server.simulator
        for stream in STREAMS:
            config = tap_config(server, concurrency=args.concurrency)
            paths = {}
            for name, value in (
                ("config.json", config),
                ("catalog.json", catalog_selecting(config, stream)),
            ):
                paths[name] = Path(folder) / name
                paths[name].write_text(json.dumps(value))
            sim.reset_log()
            began = time.perf_counter()
            run = subprocess.run(
                [sys.executable, "-m", "tap_voiso", "--config", str(paths["config.json"]),
                 "--catalog", str(paths["catalog.json"])],
                cwd=ROOT, capture_output=True, text=True, check=False,
            )  # fmt: skip
            seconds = time.perf_counter() - began
            if run.returncode:
                raise SystemExit(run.stderr[-2000:])
            objects = sum(
                1
                for line in run.stdout.splitlines()
                if line.startswith('{"type":"RECORD"') or '"type": "RECORD"' in line
            )
            directory = sim.directory
            if stream == "queue_members":
                queues = directory.listed_now("queues")
                lists = [len(users) for q in queues for users in directory.members(q).values()]
                pages = math.ceil(len(queues) / LIMIT) + sum(
                    max(1, math.ceil(n / LIMIT)) for n in lists
                )
                bound = math.ceil(len(queues) / LIMIT / args.concurrency) + 2
                bound += math.ceil(len(lists) / args.concurrency) + 2
            else:
                pages = math.ceil(len(directory.listed_now(stream)) / LIMIT)
                bound = math.ceil(pages / args.concurrency) + 2
            trips = round_trips(list(sim.started), latency)
            print(f"{stream:<14}{objects:>8,}{pages:>7}{len(sim.requests):>10}{trips:>13}"
                  f"{bound:>7}{seconds:>9.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
