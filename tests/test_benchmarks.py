"""The benchmark commands of docs/performance.md run, and report every contender they name.

docs/performance.md shows a `python -m benchmarks.run` command for each
figure. Those of up to 10,000 CDRs run here as written; the larger ones (a minute or
more each) run with their own flags but 3,000 CDRs and one round: the same contenders,
settings and latency, so a flag the harness no longer takes, or a contender that
fails, fails here.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from benchmarks.run import SHAPE_SPAN_DAYS
from tests.conftest import ROOT
from voiso_simulator.data import SHAPES

AS_WRITTEN_UP_TO = 10_000


def performance_page_commands() -> list[str]:
    page = (ROOT / "docs" / "performance.md").read_text()
    return re.findall(r"`(python -m benchmarks\.run [^`]*)`", page)


def small(command: str) -> list[str]:
    """The command's arguments, scaled down unless it is small already."""
    args = shlex.split(command)[1:]  # after "python"
    records = int(args[args.index("--records") + 1])
    if records > AS_WRITTEN_UP_TO:
        args[args.index("--records") + 1] = "3000"
        args[args.index("--rounds") + 1] = "1"
    return args


def rows(output: str) -> dict[str, tuple[float, ...]]:
    """records/s, peak RSS (MB), requests a page, 429s and WARNINGs per contender."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"(.+?)\s+([\d,]+)\s+[\d.]+((?:\s+[\d.]+){4})$", line)
        if match:
            found[match.group(1)] = (
                float(match.group(2).replace(",", "")),
                *map(float, match.group(3).split()),
            )
    return found


def test_the_performance_page_shows_a_command_for_each_kind_of_figure():
    commands = performance_page_commands()
    assert any("--latency-ms" in c for c in commands)
    assert any("--only tap" in c for c in commands)
    assert any("--only" not in c for c in commands)  # all three contenders
    assert any("--rate" in c for c in commands)  # under a rate limit
    assert any(int(small(c)[small(c).index("--records") + 1]) >= 10_000 for c in commands)


@pytest.mark.parametrize("command", performance_page_commands())
def test_a_benchmark_command_of_the_performance_page_runs_and_reports_its_contenders(command):
    result = subprocess.run(
        [sys.executable, *small(command)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    table = rows(result.stdout)
    args = shlex.split(command)
    expected = {"tap-voiso"} | {
        f"tap {args[i + 1]}" for i, arg in enumerate(args) if arg == "--tap-settings"
    }
    if "--only" not in command:
        expected |= {"raw loop", "msgspec loop"}
    assert set(table) == expected, result.stdout
    assert all(rate > 0 and rss > 0 and per_page >= 1 for rate, rss, per_page, *_ in table.values())
    if "--only" not in command:
        assert "tap-voiso / msgspec loop:" in result.stdout


def run_benchmark(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.run", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("shape", "span_days"),
    [("even", 30), ("part", 330), ("business-hours", 30), ("campaigns", 30), ("late-start", 1110)],
)
def test_the_benchmark_runs_on_each_data_shape(shape, span_days):
    result = run_benchmark("--records", "2000", "--rounds", "1", "--shape", shape, "--only", "tap")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"shape {shape} over {span_days} days" in result.stdout
    rate, _, per_page, limited, warned = rows(result.stdout)["tap-voiso"]
    assert rate > 0
    assert per_page >= 1  # 2 pages of data, at least one request each
    assert limited == warned == 0


def test_every_data_shape_has_a_benchmark_span():
    assert set(SHAPES) == set(SHAPE_SPAN_DAYS)


def test_under_a_rate_limit_the_benchmark_counts_429s_and_the_loops_wait_them_out():
    result = run_benchmark(
        "--records", "8000", "--latency-ms", "20", "--rounds", "1", "--rate", "4"
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    table = rows(result.stdout)
    assert set(table) == {"raw loop", "msgspec loop", "tap-voiso"}
    # The loops send 8 requests back to back: a bucket of 4 cannot pass them all.
    assert table["raw loop"][3] > 0
    assert table["raw loop"][2] == pytest.approx((8 + table["raw loop"][3]) / 8, abs=0.01)
    assert "1.25 requests a page at 4/s: 2.50 s" in result.stdout
    # The tap's log said so once (the loops log nothing).
    assert table["tap-voiso"][3] == 0 or table["tap-voiso"][4] == 1
