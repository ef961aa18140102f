"""Measure the simulator's realistic profile: the figures docs/simulator-data.md quotes.

`python scripts/simulator_figures.py [records] [zone]` (default 100000, Europe/Berlin),
over 28 days from Monday 2026-02-02.
"""

from __future__ import annotations

import itertools
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from voiso_simulator.data import Dataset, DatasetSpec


def moment(text: str) -> datetime:
    """An API timestamp as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def shares(rows: list[dict[str, Any]]) -> str:
    """Each disposition's share of the rows."""
    counts = Counter(r["disposition"] for r in rows)
    return ", ".join(f"{k} {v / len(rows):.1%}" for k, v in sorted(counts.items()))


def main(records: int = 100_000, zone_name: str = "Europe/Berlin") -> None:
    """Print the figures."""
    spec = DatasetSpec(
        records=records, span_days=28, burst=0, profile="realistic",
        timezone=zone_name, start="2026-02-02T00:00:00Z",
    )  # fmt: skip
    data = Dataset(spec)
    cdrs = [data.record(i) for i in range(len(data))]
    calls = [r for r in cdrs if r["type"] == "call"]
    queued = [r for r in calls if r["subtype"] == "inbound" and r["data"]["queue"]]
    answered = [r for r in queued if r["disposition"] == "answered"]
    waits = sorted(r["data"]["durations"]["queue"] for r in answered)
    gave_up = [r["data"]["durations"]["queue"] for r in queued if r["disposition"] == "abandoned"]
    talk = [r["data"]["durations"]["talk"] for r in answered]
    short = sum(w <= 5 for w in gave_up)
    print(f"{records} CDRs over 28 days in {zone_name}: {dict(Counter(r['type'] for r in cdrs))}")
    print(f"inbound queue calls ({len(queued)}): {shares(queued)}")
    print(
        f"queue time before answer: median {median(waits):.1f} s,"
        f" p90 {waits[int(0.9 * len(waits))]:.1f} s, p99 {waits[int(0.99 * len(waits))]:.1f} s"
    )
    print(
        f"queue time before abandon: mean {sum(gave_up) / len(gave_up):.1f} s,"
        f" {short / len(gave_up):.1%} within 5 s"
    )
    within = sum(w <= 20 for w in waits) / (len(queued) - short)
    print(f"service level (20 s, short abandons out): {within:.1%}")
    print(f"talk time: median {median(talk):.0f} s, mean {sum(talk) / len(talk):.0f} s")
    held = sum(r["data"]["durations"]["hold"] > 0 for r in answered)
    print(f"answered calls with hold: {held / len(answered):.1%}")
    tags = Counter(t for r in answered for t in r["tags"])
    print(f"tags of answered inbound calls: {dict(tags)}")
    print(f"end_reason of answered: {dict(Counter(r['data']['end_reason'] for r in answered))}")
    outbound = [r for r in calls if r["subtype"] == "outbound"]
    connected = [r for r in outbound if r["disposition"] in ("answered", "abandoned")]
    dropped = sum(r["disposition"] == "abandoned" for r in connected)
    print(f"outbound calls ({len(outbound)}): {shares(outbound)}")
    print(f"dialer abandons: {dropped / len(connected):.1%} of connected calls")
    print(f"conversations: {shares([r for r in cdrs if r['type'] == 'conversation'])}")
    zone = ZoneInfo(zone_name)
    local = [moment(r["started_at"]).astimezone(zone) for r in cdrs]
    day = sum(9 <= t.hour < 17 and t.weekday() < 5 for t in local) / len(local)
    weekend = sum(t.weekday() >= 5 for t in local) / len(local)
    print(f"CDRs on weekdays 09:00-17:00: {day:.1%}; on weekends: {weekend:.1%}")
    hours = Counter(t.hour for t in local)
    print("by local hour: " + " ".join(f"{h}:{hours[h] / len(local):.1%}" for h in range(24)))
    starts: dict[str, list[datetime]] = defaultdict(list)
    for r in calls:
        if r["subtype"] == "inbound":
            starts[r["from"]["phone_number"]].append(moment(r["started_at"]))
    again = 0
    for times in starts.values():
        ordered = sorted(times)
        again += any(b - a <= timedelta(days=1) for a, b in itertools.pairwise(ordered))
    print(f"inbound numbers calling again within 24 h: {again / len(starts):.1%}")


if __name__ == "__main__":
    main(*(int(a) if a.isdigit() else a for a in sys.argv[1:]))  # type: ignore[arg-type]
