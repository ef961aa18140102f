"""`python -m voiso_simulator`: serve synthetic CDRs, and the users, campaigns and queues
they name, on loopback until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from voiso_simulator.config import DEFAULT_KEY, SimConfig
from voiso_simulator.data import DEFAULT_START, PROFILES, SHAPES, DatasetSpec
from voiso_simulator.directory import RESOURCES
from voiso_simulator.server import Simulator, start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line's switches, each defaulted."""
    parser = argparse.ArgumentParser(prog="python -m voiso_simulator", description=__doc__)
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)"
    )
    parser.add_argument("--records", type=int, default=5000, help="number of CDRs (default 5000)")
    parser.add_argument("--seed", type=int, default=7, help="data set seed (default 7)")
    parser.add_argument(
        "--start", default=DEFAULT_START, help=f"first started_at (default {DEFAULT_START})"
    )
    parser.add_argument(
        "--span-days", type=float, default=30.0, help="days the CDRs spread over (default 30)"
    )
    parser.add_argument(
        "--burst", type=int, default=1200, help="CDRs sharing one millisecond (default 1200)"
    )
    parser.add_argument(
        "--shape",
        choices=SHAPES,
        default="even",
        help="where the uniform profile's CDRs lie (default even; see DatasetSpec)",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="realistic",
        help="what the CDRs say (default realistic: see docs/simulator-data.md; uniform: random)",
    )
    parser.add_argument(
        "--timezone",
        default="UTC",
        help="the contact center's IANA zone, whose business hours the realistic profile keeps",
    )
    parser.add_argument(
        "--api-key", default=DEFAULT_KEY, help=f"the accepted Bearer key (default {DEFAULT_KEY})"
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before every response")
    parser.add_argument(
        "--order", choices=["asc", "desc", "shuffle"], default="asc", help="record order"
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of requests that fail (5xx, drops, HTML)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        help="requests a second accepted, 429 with Retry-After beyond (0: no limit)",
    )
    parser.add_argument(
        "--list-churn",
        type=int,
        default=0,
        help="every Nth users/campaigns/queues page first creates and deletes one (0: never)",
    )
    for switch, default, text in (
        ("--queue-list", "yes", "no: the undocumented GET /api/v4/routing/queues answers 404"),
        ("--foreign-user-ids", "no", "yes: CDR user ids are not the directory's (match by e-mail)"),
        ("--directory-new-fields", "no", "yes: directory objects carry fields no tap declares"),
        ("--directory-other-types", "no", "yes: directory values of another JSON type"),
    ):
        parser.add_argument(switch, choices=["yes", "no"], default=default, help=text)
    for switch, text in (
        ("--absent-endpoints", "directory resources (users,campaigns,queues) that answer 404"),
        ("--failing-lists", "directory lists (users,campaigns,queues) that always answer 503"),
    ):
        parser.add_argument(switch, type=_resources, default=[], help=text)
    return parser.parse_args(argv)


def _resources(text: str) -> list[str]:
    """A comma-separated list of directory resources (`none`: the empty list)."""
    names = [name.strip() for name in text.split(",") if name.strip() not in ("", "none")]
    unknown = sorted(set(names) - set(RESOURCES))
    if unknown:
        msg = f"not a directory resource: {', '.join(unknown)} (one of {', '.join(RESOURCES)})"
        raise argparse.ArgumentTypeError(msg)
    return names


def simulator_of(args: argparse.Namespace) -> Simulator:
    """The simulator a command line describes (a test builds it to know what it serves)."""
    spec = DatasetSpec(
        records=args.records,
        seed=args.seed,
        start=args.start,
        span_days=args.span_days,
        burst=min(args.burst, args.records),
        shape=args.shape,
        profile=args.profile,
        timezone=args.timezone,
    )
    config = SimConfig(
        api_key=args.api_key,
        latency_ms=args.latency_ms,
        order=args.order,
        fault_rate=args.fault_rate,
        rate_limit_per_second=args.rate_limit,
        queue_list=args.queue_list == "yes",
        list_churn=args.list_churn,
        foreign_user_ids=args.foreign_user_ids == "yes",
        directory_new_fields=args.directory_new_fields == "yes",
        directory_other_types=args.directory_other_types == "yes",
        absent_endpoints=args.absent_endpoints,
        failing_lists=args.failing_lists,
    )
    return Simulator(spec, config)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build the data set, and serve it until SIGINT or SIGTERM."""
    args = parse_args(argv)
    server = start(simulator_of(args), args.host, args.port)
    print(
        f"voiso simulator: {args.records} CDRs at {server.url} (api key: {args.api_key})",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
