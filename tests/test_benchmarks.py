"""The README's benchmark commands run, and report every contender they name.

The README's Performance section shows a `python -m benchmarks.run` command for each
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

from tests.conftest import ROOT

AS_WRITTEN_UP_TO = 10_000


def readme_benchmark_commands() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Performance\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"`(python -m benchmarks\.run [^`]*)`", section)


def small(command: str) -> list[str]:
    """The command's arguments, scaled down unless it is small already."""
    args = shlex.split(command)[1:]  # after "python"
    records = int(args[args.index("--records") + 1])
    if records > AS_WRITTEN_UP_TO:
        args[args.index("--records") + 1] = "3000"
        args[args.index("--rounds") + 1] = "1"
    return args


def rows(output: str) -> dict[str, tuple[float, float, float, float]]:
    """records/s, peak RSS (MB), requests per page and 429s per contender, from its table."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"(.+?)\s+([\d,]+)\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", line)
        if match:
            found[match.group(1)] = (
                float(match.group(2).replace(",", "")),
                *map(float, match.group(3, 4, 5)),
            )
    return found


def test_the_readme_shows_a_command_for_each_kind_of_figure():
    commands = readme_benchmark_commands()
    assert any("--latency-ms" in c for c in commands)
    assert any("--only tap" in c for c in commands)
    assert any("--only" not in c for c in commands)  # all three contenders
    assert any(int(small(c)[small(c).index("--records") + 1]) >= 10_000 for c in commands)


@pytest.mark.parametrize("command", readme_benchmark_commands())
def test_a_readme_benchmark_command_runs_and_reports_its_contenders(command):
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
    assert all(rate > 0 and rss > 0 and per_page >= 1 for rate, rss, per_page, _ in table.values())
    if "--only" not in command:
        assert "tap-voiso / msgspec loop:" in result.stdout
