"""Summarize a file of Singer messages: counts by type, a sample record, the final state."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def main(path: str) -> None:
    """Print what a data engineer checks first after a sync."""
    messages = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    kinds = Counter(m["type"] for m in messages)
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    print(f"Singer messages: {dict(kinds)}")
    print(f"CDRs by type:    {dict(Counter(r['type'] for r in records))}")
    print(f"Distinct ids:    {len({r['id'] for r in records})} of {len(records)} records")
    if records:
        print("First record:")
        print(json.dumps(records[0], indent=2, ensure_ascii=False))
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    if states:
        print(f"Final STATE:     {json.dumps(states[-1])}")


if __name__ == "__main__":
    main(sys.argv[1])
