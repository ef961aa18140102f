"""What cursors that lie cost: CDRs delivered and requests sent, against the simulator.

    .venv/bin/python -m benchmarks.cursor_claims

Runs the tap in this process against the simulator for each case below, and prints
the distinct CDRs emitted beside the CDRs the simulator holds, the requests it
answered (per page of data: ceil(CDRs / 1000)), and the cursor requests it answered
as an empty last page. The mixed-cursor race is read `--runs` times per case: each run
ends with every CDR once, a stop (the error's first words), or exit 0 with fewer. To
measure an earlier version of the tap, put its `tap_voiso` first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import logging
import math
from collections import Counter
from typing import Any

from tests.conftest import SHORT_END, run_tap, sim_server, tap_config
from voiso_simulator import serving

EXPIRY_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("no total, cursors kept", {"send_total": False}, {}),
    (
        "no total, every 5th cursor expired -> empty page",
        {"send_total": False, "cursor_expire_every": 5, "expired_cursor": "empty"},
        {},
    ),
    (
        "total, concurrency 1, every 5th expired -> empty",
        {"cursor_expire_every": 5, "expired_cursor": "empty"},
        {"concurrency": 1},
    ),
]


def expiry(records: int) -> None:
    print(f"{'case':<52}{'emitted':>9}{'held':>7}{'requests':>10}{'per page':>10}{'empty':>7}")
    for name, switches, settings in EXPIRY_CASES:
        with serving(sim_server(records=records, burst=0, **switches)) as server:
            result = run_tap(tap_config(server, end_date=SHORT_END, **settings))
            sim = server.simulator
            emitted = len({r["id"] for r in result.records})
            requests = len(sim.requests)
            pages = math.ceil(records / 1000)
            print(f"{name:<52}{emitted:>9,}{len(sim.visible_records()):>7,}{requests:>10}"
                  f"{requests / pages:>10.2f}{sim.expired_empty:>7}")  # fmt: skip


def race(records: int, runs: int, every: int) -> None:
    for total in (False, True):
        outcomes: Counter[str] = Counter()
        for attempt in range(runs):
            switches = {"send_total": total, "cursor_mix_every": every, "latency_ms": 3}
            with serving(
                sim_server(records=records, burst=0, fault_seed=attempt, **switches)
            ) as server:
                config = tap_config(
                    server, end_date=SHORT_END, page_size=100, window_records=1000, concurrency=12
                )
                try:
                    result = run_tap(config)
                except Exception as exc:
                    outcomes[f"stop: {str(exc).split(':')[0]}"] += 1
                    continue
                ids = [r["id"] for r in result.records]
                held = len(server.simulator.visible_records())
                whole = len(set(ids)) == len(ids) == held
                outcomes["exit 0, every CDR once" if whole else f"exit 0 with {len(set(ids))}"] += 1
        label = "with a total" if total else "no total"
        print(f"mixed cursors (every {every}th), {label}, {runs} runs: {dict(outcomes)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--race-records", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--mix-every", type=int, default=10)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    expiry(args.records)
    race(args.race_records, args.runs, args.mix_every)


if __name__ == "__main__":
    main()
