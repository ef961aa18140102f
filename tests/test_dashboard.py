"""The dashboard page in a real browser: Debian's chromium, headless, through selenium.

One realistic load with its directory (users, campaigns), in Manila's time zone, goes
`meltano run tap-voiso target-duckdb dbt-duckdb:build dashboard:build` (the README's
command); the page it writes is opened from file:// with the network switched off. It
must draw every view with no console error, name every queue and campaign in its text,
and show for a queue and a day (set with its own filters) the marts' figures, which
tests/kpis.py computes again from the CDRs the simulator served. The screenshot of the
page as it opens is the README's image, docs/dashboard.png.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from benchmarks.dashboard import chromium, wait_rendered
from tests import kpis
from tests.conftest import ROOT, sim_server
from tests.test_dbt import duckdb_rows
from tests.test_meltano import meltano
from voiso_simulator import serving

ZONE = "Asia/Manila"
SCREENSHOT = ROOT / "docs" / "dashboard.png"


@dataclass
class Dashboard:
    page: Path
    database: Path
    served: list[dict[str, Any]]
    campaigns: list[str]  # the directory's names of the campaigns the CDRs call for


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Iterator[Dashboard]:
    tmp = tmp_path_factory.mktemp("dashboard")
    options = {"records": 3000, "span_days": 10, "burst": 0, "seed": 21}
    with serving(sim_server(**options, profile="realistic", timezone=ZONE)) as sim:
        database, page = tmp / "warehouse.duckdb", tmp / "out" / "dashboard.html"
        env = {
            "TARGET_DUCKDB_FILEPATH": str(database),
            "DBT_DUCKDB_PATH": str(database),
            "DBT_DUCKDB_VARS": json.dumps({"voiso_timezone": ZONE}),
            "DBT_TARGET_PATH": str(tmp / "target"),
            "DBT_LOG_PATH": str(tmp / "logs"),
            "DASHBOARD_PATH": str(database),
            "DASHBOARD_OUTPUT": str(page),
        }
        command = ("run", "tap-voiso", "target-duckdb", "dbt-duckdb:build", "dashboard:build")
        tap = meltano(tmp, sim, *command, **env)
        assert f"dashboard: wrote {page}" in tap.stderr + tap.stdout
        served = sim.simulator.visible_records()
        campaigns = sim.simulator.directory.objects["campaigns"]
        used = {str(r["data"]["campaign"]["id"]) for r in served if r["data"].get("campaign")}
        names = [c["name"] for key, c in campaigns.items() if str(key) in used]
        yield Dashboard(page, database, served, names)


@pytest.fixture(scope="module")
def browser(built) -> Iterator[webdriver.Chrome]:
    with tempfile.TemporaryDirectory() as profile:
        driver = chromium(profile)
        try:
            for log in ("performance", "browser"):  # what the browser did before the page
                driver.get_log(log)
            driver.get(built.page.as_uri())
            wait_rendered(driver)
            yield driver
        finally:
            driver.quit()


@pytest.fixture(scope="module")
def opened(browser) -> dict[str, Any]:
    """What the page did as it opened: its requests and console, and a screenshot."""
    requests = [
        json.loads(entry["message"])["message"]["params"]["request"]["url"]
        for entry in browser.get_log("performance")
        if '"Network.requestWillBeSent"' in entry["message"]
    ]
    console = browser.get_log("browser")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, height + 200)  # the window's frame takes some of it
    browser.save_screenshot(str(SCREENSHOT))
    return {"requests": requests, "console": console}


def tile(browser: webdriver.Chrome, name: str) -> str:
    return browser.find_element(By.ID, f"tile-{name}").text


def choose(browser: webdriver.Chrome, queue_name: str, day: str) -> None:
    """Pick a queue in the page's queue filter, and one day in its date range."""
    Select(browser.find_element(By.ID, "queue")).select_by_visible_text(queue_name)
    wait_rendered(browser)
    for field in ("from", "to"):
        browser.execute_script(
            "const input = document.getElementById(arguments[0]); input.value = arguments[1];"
            " input.dispatchEvent(new Event('change'));",
            field, day,
        )  # fmt: skip
        wait_rendered(browser)


def test_the_page_is_one_file_that_fetches_nothing_and_stays_small(built):
    html = built.page.read_text()
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert len(scripts) == 3  # the data, the Vega bundle, page.js: each inline
    assert not any("src" in attributes for attributes in scripts)
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.DOTALL)
    assert not re.search(r"<(?:link|iframe|img|object|embed)\b|\b(?:src|href)\s*=", markup)
    assert built.page.stat().st_size < 5_000_000


def test_it_opens_offline_with_no_console_error_and_every_view_drawn(browser, opened):
    assert opened["requests"], "the performance log saw no request at all"
    assert all(url.startswith(("file://", "data:", "blob:")) for url in opened["requests"])
    assert opened["console"] == []
    charts = browser.find_elements(By.CSS_SELECTOR, "section.chart")
    assert len(charts) >= 8
    for chart in charts:  # titled, its definition a click away, drawn, and on the page
        assert chart.find_element(By.TAG_NAME, "h2").text
        assert chart.find_element(By.CSS_SELECTOR, "details summary").text == "Definition"
        (drawn,) = chart.find_elements(By.CSS_SELECTOR, ".view svg, .view canvas")
        assert drawn.is_displayed()
        assert drawn.size["width"] > 300
        assert drawn.size["height"] > 100
    # SVG but for the wait's thousands of dots, which name nothing.
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.chart .view svg")) >= 8
    rows = browser.find_elements(By.CSS_SELECTOR, "#agents tbody tr")
    assert len(rows) >= 3
    assert browser.find_element(By.ID, "timezone").text == ZONE


def test_every_queue_and_campaign_is_named_in_the_pages_text(built, browser):
    texts = browser.execute_script(
        "return [...document.querySelectorAll('svg text, option, td')].map(e => e.textContent)"
    )
    queues = {
        r["data"]["queue"]["name"]
        for r in built.served
        if r["type"] in ("call", "conversation") and r["data"].get("queue")
    }
    assert len(queues) >= 3
    assert queues <= set(texts)
    assert len(built.campaigns) >= 2
    assert set(built.campaigns) <= set(texts)
    svg_texts = browser.execute_script(
        "return [...document.querySelectorAll('svg text')].map(e => e.textContent)"
    )
    assert queues <= set(svg_texts)  # in a chart's own text, not the filter's alone


def mart_figures(built: Dashboard, queue_id: str, day: str) -> dict[str, str]:
    """The tiles as the marts hold them for a queue and a local day (the page's format)."""
    where = f"WHERE queue_id = '{queue_id}' AND CAST(interval_start_local AS DATE) = '{day}'"
    sums = (
        "sum(offered), sum(handled), sum(abandoned), sum(short_abandoned),"
        " sum(answered_within_service_level),"
        " sum(average_speed_of_answer_seconds * handled) / sum(handled)"
    )
    query = f"SELECT {sums} FROM voiso_analytics.voiso__queue_interval {where}"  # noqa: S608
    (row,) = duckdb_rows(built.database, query)
    offered, handled, abandoned, short, within, asa = row
    return {
        "offered": f"{offered:,}", "handled": f"{handled:,}", "abandoned": f"{abandoned:,}",
        "service-level": f"{within / (offered - short):.1%}",
        "abandonment": f"{(abandoned - short) / (offered - short):.1%}",
        "asa": f"{asa:.1f} s",
    }  # fmt: skip


def truth(built: Dashboard, queue_id: str, day: str) -> dict[str, str]:
    """The same, from the CDRs served (tests/kpis.py): what the marts must hold."""
    rules = kpis.Definitions(timezone=ZONE)
    contacts = [
        kpis.contact(r, rules)
        for r in built.served
        if r["type"] in ("call", "conversation")
        and str((r["data"].get("queue") or {}).get("id")) == queue_id
        and kpis.local_date(r["started_at"], ZONE).isoformat() == day
    ]
    net = len(contacts) - sum(c.short_abandoned for c in contacts)
    handled = [c for c in contacts if c.handled]
    abandoned = sum(c.abandoned for c in contacts)
    waits = [c.record["data"]["durations"].get("queue") or 0 for c in handled]
    return {
        "offered": f"{len(contacts):,}", "handled": f"{len(handled):,}",
        "abandoned": f"{abandoned:,}",
        "service-level": f"{sum(c.within for c in contacts) / net:.1%}",
        "abandonment": f"{(abandoned - sum(c.short_abandoned for c in contacts)) / net:.1%}",
        "asa": f"{sum(waits) / len(waits):.1f} s",
    }  # fmt: skip


def test_a_queue_and_a_day_show_the_marts_figures_and_another_queue_its_own(built, browser):
    busiest = duckdb_rows(
        built.database,
        "SELECT queue_id, queue_name, CAST(interval_start_local AS DATE) AS day, sum(offered)"
        " FROM voiso_analytics.voiso__queue_interval GROUP BY ALL ORDER BY 4 DESC, 1, 3",
    )
    queue_id, name, day, _ = busiest[0]
    (other_id, other_name, _, _), *_ = [r for r in busiest if r[2] == day and r[0] != queue_id]
    shown = {}
    for queue, queue_name in ((queue_id, name), (other_id, other_name)):
        choose(browser, queue_name, day)
        shown[queue] = {key: tile(browser, key) for key in truth(built, queue, day)}
        assert shown[queue] == mart_figures(built, queue, day) == truth(built, queue, day)
        # The agent table, too, is that queue's and day's.
        handled = sum(
            int(td.text.replace(",", ""))
            for td in browser.find_elements(By.CSS_SELECTOR, "#agents tbody td:nth-child(3)")
        )
        where = f"WHERE queue_id = '{queue}' AND local_date = '{day}'"
        query = f"SELECT sum(handled) FROM voiso_analytics.voiso__agent_queue_daily {where}"  # noqa: S608
        ((in_mart,),) = duckdb_rows(built.database, query)
        assert handled == in_mart
    assert shown[queue_id] != shown[other_id]


def test_the_screenshot_the_readme_shows_is_the_page(opened):
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "docs/dashboard.png" in (ROOT / "README.md").read_text()


def test_the_utility_reads_postgres_through_the_dbt_utilities_settings():
    """Named as dbt-postgres's, with its defaults; the page's path a setting of its own."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    utilities = {u["name"]: u for u in project["plugins"]["utilities"]}
    dashboard = {s["name"]: s for s in utilities["dashboard"]["settings"]}
    dbt = {s["name"]: s for s in utilities["dbt-postgres"]["settings"]}
    for name in ("host", "port", "user", "password", "dbname", "schema"):
        assert dashboard[name]["value"] == dbt[name]["value"], name
        assert dashboard[name]["kind"] == dbt[name]["kind"], name
    assert dashboard["path"]["value"] == "output/warehouse.duckdb"
    assert dashboard["output"]["value"] == "output/dashboard.html"
    assert set(utilities["dashboard"]["commands"]) == {"build"}
