"""The dashboard page of a 50,000-CDR warehouse: its size, and its render time in Chromium.

    .venv/bin/python -m benchmarks.dashboard                    # 50,000 CDRs, 3 openings
    .venv/bin/python -m benchmarks.dashboard --records 5000 --keep /tmp/page

The simulator's realistic CDRs (30 days) go straight into a DuckDB `voiso.cdrs` shaped
like target-duckdb's (see benchmarks.dbt_build), `dbt run --full-refresh` builds the
models, and the Meltano utility's executable (`voiso-dashboard build`) writes the page
(timed). Headless Debian chromium, the network off, then opens it from file:// a few
times, each with a fresh profile: the render time is from navigation start to every
view drawn (page.js records `performance.now()` then); a queue filter change is timed
the same way. tests/test_dashboard.py uses the same browser set-up.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from benchmarks import dbt_build
from voiso_simulator.data import Dataset, DatasetSpec

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / ".meltano" / "utilities" / "dashboard" / "venv" / "bin" / "voiso-dashboard"
# Without these, Chromium's own connections (and so its start) are refused on a network
# that has none; each run gets a fresh profile (--user-data-dir) too.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1400,1000",
)  # fmt: skip


def chromium(user_data_dir: str) -> webdriver.Chrome:
    """Headless Debian chromium, its console and requests logged, the network off."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    driver.execute_cdp_cmd("Network.enable", {})
    offline = {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0}
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
    return driver


def wait_rendered(driver: webdriver.Chrome, timeout: float = 60) -> None:
    """Until every view of the page's last filter change is drawn (page.js's flag)."""
    deadline = time.monotonic() + timeout
    while driver.execute_script("return document.body.dataset.rendered") != "true":
        if time.monotonic() > deadline:
            raise TimeoutError("the page did not finish drawing")
        time.sleep(0.02)


def build_warehouse(records: int, folder: Path) -> Path:
    """Realistic CDRs in a target-duckdb-shaped voiso.cdrs, the models built in full."""
    data = Dataset(
        DatasetSpec(records=records, seed=11, start=dbt_build.START, span_days=30, burst=0,
                    profile="realistic")
    )  # fmt: skip
    rows = []
    for pos in range(len(data)):
        record = data.record(pos)
        del record["_hidden"]
        rows.append(record)
    database = folder / "warehouse.duckdb"
    database.unlink(missing_ok=True)
    dbt_build.write_rows(folder / "cdrs.json", rows)
    load = dbt_build.LOAD.format(path=folder / "cdrs.json", columns=dbt_build.COLUMNS)
    dbt_build.duckdb(database, dbt_build.CREATE + load + ";\nSELECT count(*) FROM voiso.cdrs")
    dbt_build.dbt(database, folder, "run", "--full-refresh")
    return database


def write_page(database: Path, page: Path) -> float:
    """Seconds `voiso-dashboard build` took (what `meltano run dashboard:build` runs)."""
    began = time.monotonic()
    subprocess.run(
        [str(DASHBOARD), "build", "--path", str(database), "--output", str(page)],
        check=True, capture_output=True, env={**os.environ},
    )  # fmt: skip
    return time.monotonic() - began


def render_seconds(page: Path) -> tuple[float, float, float]:
    """One opening: navigation start to every view drawn (the page's own clock), the
    same as WebDriver saw it, and a queue filter change to every view drawn again."""
    with tempfile.TemporaryDirectory() as profile:
        driver = chromium(profile)
        try:
            began = time.monotonic()
            driver.get(page.as_uri())
            wait_rendered(driver)
            seen = time.monotonic() - began
            drawn = driver.execute_script("return window.voisoRenderedAt") / 1000
            change = driver.execute_script(
                "const select = document.getElementById('queue');"
                " const began = performance.now(); select.selectedIndex = 1;"
                " select.dispatchEvent(new Event('change')); return began;"
            )
            wait_rendered(driver)
            changed = driver.execute_script("return window.voisoRenderedAt") - change
            return drawn, seen, changed / 1000
        finally:
            driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--openings", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    database = build_warehouse(args.records, folder)
    page = folder / "dashboard.html"
    built = write_page(database, page)
    size = page.stat().st_size
    runs = [render_seconds(page) for _ in range(args.openings)]
    print(f"{args.records} CDRs: dashboard page {size / 1e6:.2f} MB ({size:,} bytes),"
          f" written in {built:.1f} s")  # fmt: skip
    names = (
        "render (navigation start to every view drawn)",
        "render as WebDriver saw it (get + wait)",
        "queue filter change to every view drawn",
    )
    for name, values in zip(names, zip(*runs, strict=True), strict=True):
        print(f"{name}: median {statistics.median(values):.2f} s,"
              f" max {max(values):.2f} s over {len(values)} openings")  # fmt: skip
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
