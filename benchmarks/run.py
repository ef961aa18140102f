"""Benchmark the tap against a raw loop on the local simulator: records/s and peak RSS.

    .venv/bin/python -m benchmarks.run --records 200000 --rounds 3
    .venv/bin/python -m benchmarks.run --records 50000 --latency-ms 250 --rounds 3
    .venv/bin/python -m benchmarks.run --records 1000000 --rounds 1 --only tap
    .venv/bin/python -m benchmarks.run --records 50000 --latency-ms 250 --shape campaigns
    .venv/bin/python -m benchmarks.run --records 20000 --latency-ms 100 --rate 4 --only tap

The raw loop is what a user could hand-write: one `requests.Session`, cursor paging
at `limit=1000`, `json.loads`, one Singer RECORD line per CDR with `json.dumps`; no
schema, no state, no retries. The msgspec loop is the same with msgspec, one write
per page: the CPU floor of a tap that decodes each record and encodes it again.
Each contender runs as its own process writing to /dev/null, in interleaved rounds;
the table shows medians. Peak RSS is the
contender's own process (its `ru_maxrss`), not the simulator's.

`--shape` picks where the CDRs lie between the tap's `start_date` and now (see
`voiso_simulator.data.DatasetSpec`); each shape has its own default `--span-days`.
`--rate N` makes the simulator accept N requests a second (a token bucket; 429 with
`Retry-After` beyond); the loops then wait as `Retry-After` asks. Beside speed, each
contender's requests (the simulator's count, 429s included) per page of data
(ceil(CDRs / 1000)), how many of them were 429s (medians), and the most WARNING lines
its log held in a round.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
KEY = "sim-secret-key"

RAW_LOOP = """
import json, sys, time, requests
url, key = sys.argv[1], sys.argv[2]
session = requests.Session()
session.headers["Authorization"] = "Bearer " + key
out = sys.stdout
params = {"limit": 1000}
while True:
    response = session.get(url + "/api/v4/reporting/cdrs", params=params)
    if response.status_code == 429:
        time.sleep(float(response.headers.get("Retry-After", 1)))
        continue
    body = json.loads(response.content)
    for cdr in body["cdrs"]:
        out.write(json.dumps({"type": "RECORD", "stream": "cdrs", "record": cdr}) + "\\n")
    cursor = body["metadata"].get("next_cursor")
    if not cursor or not body["cdrs"]:
        break
    params = {"limit": 1000, "cursor": cursor}
"""

# The CPU floor of any tap that decodes each record and encodes it again: msgspec
# decodes the page, encodes one RECORD per CDR, and each page is one write.
MSGSPEC_LOOP = """
import sys, time, msgspec, requests
url, key = sys.argv[1], sys.argv[2]
session = requests.Session()
session.headers["Authorization"] = "Bearer " + key
out = sys.stdout.buffer
encode = msgspec.json.Encoder().encode
params = {"limit": 1000}
while True:
    response = session.get(url + "/api/v4/reporting/cdrs", params=params)
    if response.status_code == 429:
        time.sleep(float(response.headers.get("Retry-After", 1)))
        continue
    body = msgspec.json.decode(response.content)
    out.write(b"".join(
        encode({"type": "RECORD", "stream": "cdrs", "record": cdr}) + b"\\n" for cdr in body["cdrs"]
    ))
    cursor = body["metadata"].get("next_cursor")
    if not cursor or not body["cdrs"]:
        break
    params = {"limit": 1000, "cursor": cursor}
"""

# Runs a command and reports its wall time and peak RSS (children only: the command).
MEASURE = """
import resource, subprocess, sys, time
began = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False).returncode
elapsed = time.perf_counter() - began
print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


# Days from `start_date` to now for each shape, unless --span-days says otherwise: the
# issue's cases (2 of 11 months; three years before a month of data).
SHAPE_SPAN_DAYS = {
    "even": 30.0,
    "part": 11 * 30.0,
    "business-hours": 30.0,
    "campaigns": 30.0,
    "late-start": 37 * 30.0,
}
PAGE = 1000  # CDRs on a full page: what "a page of data" means in requests per page


def start_simulator(
    records: int, latency_ms: float, start: str, span_days: float, shape: str, rate: float
) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m voiso_simulator` on a free port; return it and its URL."""
    process = subprocess.Popen(
        [PYTHON, "-m", "voiso_simulator", "--port", "0", "--records", str(records),
         "--start", start, "--span-days", str(span_days), "--latency-ms", str(latency_ms),
         "--shape", shape, "--profile", "uniform", "--rate-limit", str(rate)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    url = line.split(" at ")[1].split(" ")[0]
    return process, url


def simulator_requests(url: str) -> tuple[int, int]:
    """Requests the simulator answered since its log was last reset, and how many were 429s."""
    stats = requests.get(url + "/_sim/stats", timeout=30).json()
    return stats["requests"], stats["by_status"].get("429", 0)


def measure(command: list[str], url: str) -> tuple[float, float, int, int, int]:
    """Wall seconds, peak RSS (MB), requests, 429s and WARNING lines of one run of `command`."""
    requests.post(url + "/_sim/reset", timeout=30).raise_for_status()
    result = subprocess.run(
        [PYTHON, "-c", MEASURE, *command], capture_output=True, text=True, check=True
    )
    elapsed, rss_kb, code = result.stdout.split()
    if code != "0":
        raise RuntimeError(f"{command[:3]} exited {code}")
    warnings = sum("| WARNING " in line for line in result.stderr.splitlines())
    return float(elapsed), int(rss_kb) / 1024, *simulator_requests(url), warnings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--span-days", type=float, help="days from start_date to now (default: by shape)"
    )
    parser.add_argument(
        "--shape",
        choices=list(SHAPE_SPAN_DAYS),
        default="even",
        help="where the CDRs lie from start_date to now (default even)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="requests a second the simulator accepts, 429 beyond (default 0: no limit)",
    )
    parser.add_argument("--only", choices=["tap", "raw", "msgspec"], help="run one contender only")
    parser.add_argument(
        "--tap-settings",
        action="append",
        default=[],
        metavar="JSON",
        help="extra tap settings as a contender, e.g. '{\"concurrency\": 1}' (repeatable)",
    )
    args = parser.parse_args()

    # A backfill of the history up to now: the tap's start_date --span-days ago, and
    # the CDRs laid out from there by --shape.
    span_days = args.span_days or SHAPE_SPAN_DAYS[args.shape]
    start = (datetime.now(timezone.utc) - timedelta(days=span_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    simulator, url = start_simulator(
        args.records, args.latency_ms, start, span_days, args.shape, args.rate
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = {"api_key": KEY, "api_url": url, "start_date": start}
            tap = str(Path(PYTHON).parent / "tap-voiso")
            contenders = {
                "raw loop": [PYTHON, "-c", RAW_LOOP, url, KEY],
                "msgspec loop": [PYTHON, "-c", MSGSPEC_LOOP, url, KEY],
            }
            for index, extra in enumerate([None, *args.tap_settings]):
                config = Path(tmp) / f"config-{index}.json"
                config.write_text(json.dumps({**base, **json.loads(extra or "{}")}))
                name = "tap-voiso" if extra is None else f"tap {extra}"
                contenders[name] = [tap, "--config", str(config)]
            if args.only:
                contenders = {
                    k: v for k, v in contenders.items() if k.startswith(args.only) or args.only in k
                }
            # Warm-up: the simulator renders each record once and caches it.
            measure(contenders.get("raw loop") or contenders["tap-voiso"], url)
            results: dict[str, list[tuple[float, float, int, int, int]]] = {
                name: [] for name in contenders
            }
            for _ in range(args.rounds):
                for name, command in contenders.items():
                    results[name].append(measure(command, url))
    finally:
        simulator.terminate()
        simulator.wait()

    limit = f"{args.rate:g} requests/s" if args.rate else "none"
    print(
        f"\n{args.records:,} CDRs, shape {args.shape} over {span_days:g} days, simulator "
        f"latency {args.latency_ms:g} ms/page, rate limit {limit}, {args.rounds} round(s), medians"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    width = max(12, *(len(name) for name in results))
    pages = max(1, math.ceil(args.records / PAGE))
    print(
        f"{'contender':<{width}} {'records/s':>12} {'seconds':>9} {'peak RSS MB':>12} "
        f"{'requests/page':>14} {'429s':>6} {'WARNINGs':>9}"
    )
    rates = {}
    for name, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        per_page = statistics.median(r[2] for r in runs) / pages
        limited = statistics.median(r[3] for r in runs)
        warned = max(r[4] for r in runs)
        rates[name] = args.records / seconds
        print(
            f"{name:<{width}} {rates[name]:>12,.0f} {seconds:>9.2f} {rss:>12.1f} "
            f"{per_page:>14.2f} {limited:>6g} {warned:>9}"
        )
    if args.rate:
        budget = 1.25 * pages / args.rate
        print(f"1.25 requests a page at {args.rate:g}/s: {budget:.2f} s")
        for name, runs in results.items():
            seconds = statistics.median(r[0] for r in runs)
            print(f"{name} / that: {seconds / budget:.2f}")
    for base in ("raw loop", "msgspec loop"):
        if base in rates:
            for name, rate in rates.items():
                if name.startswith("tap"):
                    print(f"{name} / {base}: {rate / rates[base]:.2f}x")


if __name__ == "__main__":
    started = time.time()
    main()
    print(f"(benchmark took {time.time() - started:.0f} s)")
