"""What a day of scheduled hourly runs costs, and what they lose: this design against the old.

    .venv/bin/python -m benchmarks.hourly
    .venv/bin/python -m benchmarks.hourly --hours 24 --delay-minutes 90 --lookback-minutes 120

A simulated API with a clock lists each CDR some minutes after it ends (conversations
stay open up to 3 days). The tap backfills up to the clock, then runs once an hour,
each run's `end_date` being the clock (the run's "now"). After the last run, every
CDR the API lists is compared with the last version the runs emitted for it.

- `late by ended_at` (this tap): new CDRs by `started_at` from the bookmark, plus late
  CDRs by `ended_at` since bookmark minus `lookback_minutes`.
- `24 h started_at lookback` (the design before it): every run re-reads `started_at`
  from the previous run's end minus 24 hours, emulated with the same tap by a run
  without state whose `start_date` is that instant.

`tests/test_late_cdrs.py` runs the same schedule and holds the tap to its results.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field
from typing import Any

from tap_voiso.cdrs.windows import iso_ms
from tests.conftest import run_tap, tap_config
from voiso_simulator import DatasetSpec, SimConfig, SimServer, Simulator, start
from voiso_simulator.data import parse_iso

HOUR_MS = 3_600_000
OLD_LOOKBACK_MS = 24 * HOUR_MS
# 30,000 CDRs over 30 days: about 42 an hour, as in the report that led to this design.
SPEC = DatasetSpec(records=30_000, span_days=30, burst=0, seed=5)
BACKFILL_UNTIL = parse_iso("2026-01-20T00:00:00Z")
FIRST_DAY = "2026-01-01T00:00:00Z"


@dataclass
class Schedule:
    """One backfill then `hours` hourly runs; what they emitted and asked for."""

    hours: int
    emitted: int = 0  # records over the hourly runs (the backfill not counted)
    requests: list[int] = field(default_factory=list)  # API requests per hourly run
    records: list[int] = field(default_factory=list)  # records emitted per hourly run
    appeared: int = 0  # CDRs listed (or changed) during the hourly runs
    lost: list[str] = field(default_factory=list)  # finished CDRs that never landed as listed
    open: int = 0  # CDRs the API still lists as open after the last run

    @property
    def reads_per_cdr(self) -> float:
        """Records emitted over the hourly runs for each CDR that appeared meanwhile."""
        return self.emitted / max(1, self.appeared)


def listed(sim: Simulator, until_ms: int) -> dict[str, dict[str, Any]]:
    """The API's current version of every CDR it lists that started before `until_ms`."""
    return {r["id"]: r for r in sim.visible_records() if parse_iso(r["started_at"]) < until_ms}


def run_schedule(
    server: SimServer,
    hours: int,
    *,
    old_design: bool = False,
    **settings: Any,
) -> Schedule:
    """Backfill up to `BACKFILL_UNTIL`, then run hourly, moving the API's clock each time."""
    sim = server.simulator
    result = Schedule(hours)
    latest: dict[str, dict[str, Any]] = {}
    state: dict[str, Any] | None = None
    before: dict[str, dict[str, Any]] = {}
    for hour in range(hours + 1):
        clock = BACKFILL_UNTIL + hour * HOUR_MS
        sim.configure(clock_ms=clock)
        sim.reset_log()
        if hour == 0:
            before = listed(sim, clock)
        config = tap_config(server, start_date=FIRST_DAY, end_date=iso_ms(clock), **settings)
        if old_design and hour > 0:
            config["start_date"] = iso_ms(clock - HOUR_MS - OLD_LOOKBACK_MS)
            state = None
        output = run_tap(config, state=state)
        rows = [m["record"] for m in output.messages if m["type"] == "RECORD"]
        for row in rows:
            latest[row["id"]] = row
        if output.states:
            state = output.states[-1]
        if hour > 0:
            result.emitted += len(rows)
            result.records.append(len(rows))
            result.requests.append(len(sim.requests))
    final_clock = BACKFILL_UNTIL + hours * HOUR_MS
    now = listed(sim, final_clock)
    result.appeared = sum(1 for key, row in now.items() if before.get(key) != row)
    # A CDR the API still lists as open is not lost: its finished version is a late
    # CDR of a later run. Every finished one must have landed as the API lists it.
    result.lost = sorted(
        key for key, row in now.items() if row["ended_at"] is not None and latest.get(key) != row
    )
    result.open = sum(1 for row in now.values() if row["ended_at"] is None)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run both designs on the same simulated API and print one table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hourly", description=__doc__)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--delay-minutes", type=int, default=15, help="listing delay after the end")
    parser.add_argument("--lookback-minutes", type=int, default=None, help="default: the tap's")
    parser.add_argument("--open-listing", action="store_true", help="list CDRs while still open")
    args = parser.parse_args(argv)

    settings = {} if args.lookback_minutes is None else {"lookback_minutes": args.lookback_minutes}
    print(
        f"{SPEC.records} CDRs over {SPEC.span_days:g} days, listed {args.delay_minutes} min after "
        f"they end{' (and while open)' if args.open_listing else ''}; backfill, then "
        f"{args.hours} hourly runs"
    )
    print(
        "| design | records emitted | CDRs that appeared | emitted per CDR | lost "
        "| requests per run (median, max) |\n|---|---:|---:|---:|---:|---|"
    )
    for label, old in (("late by ended_at (this tap)", False), ("24 h started_at lookback", True)):
        config = SimConfig(
            listing_delay_ms=args.delay_minutes * 60_000, open_listing=args.open_listing
        )
        server = start(Simulator(SPEC, config))
        try:
            result = run_schedule(server, args.hours, old_design=old, **settings)
        finally:
            server.shutdown()
            server.server_close()
        print(
            f"| {label} | {result.emitted} | {result.appeared} | {result.reads_per_cdr:.2f} "
            f"| {len(result.lost)} | {statistics.median(result.requests):g}, "
            f"{max(result.requests)} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
