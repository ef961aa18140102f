"""The engineering record in docs/: linked from the README, and its promises the code's.

Each page's numbers (tries, waits, bounds, windows, defaults) are read from its text and
compared with the constants the code uses, so a page cannot keep a figure the code has
moved away from. The simulator page's switches are the ones `python -m voiso_simulator`
takes; the development page names every module of the data path; the scaling-out
recipe's slices meet end to start. (The benchmark commands of docs/performance.md are
run by tests/test_benchmarks.py, the hostile cases docs/security.md counts by
tests/test_hostile.py.)
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import urllib.request

import pytest
import requests
import yaml

from tap_voiso import client, planner, retries, settings
from tap_voiso import state as state_file
from tests.conftest import BOOKMARK_FORMAT, ROOT
from voiso_simulator import DEFAULT_KEY
from voiso_simulator.__main__ import parse_args
from voiso_simulator.data import SHAPES

DOCS = ROOT / "docs"
DAY_MS = 86_400_000


def text(page: str) -> str:
    """A page's text, each run of whitespace one space (so a phrase may wrap a line)."""
    path = ROOT / page
    return " ".join(path.read_text().split())


def test_every_page_in_docs_is_linked_from_the_readme_and_every_link_leads_to_one():
    readme = (ROOT / "README.md").read_text()
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)\)", readme))
    pages = {f"docs/{page.name}" for page in DOCS.glob("*.md")}
    assert linked == pages
    for page in DOCS.glob("*.md"):  # and each page's links lead to pages that exist
        for target in re.findall(r"\]\(([\w.-]+\.md)\)", page.read_text()):
            assert (DOCS / target).exists(), f"{page.name} links to {target}"


# (page, phrase as written, with the code's value in it)
CLAIMS = [
    ("README.md", f"up to `max_tries` ({settings.DEFAULT_MAX_TRIES}) tries a request"),
    (
        "README.md",
        f"`rate_limit_patience_seconds` ({settings.DEFAULT_RATE_LIMIT_PATIENCE_SECONDS} s)",
    ),
    ("README.md", f"`lookback_minutes` (default {settings.DEFAULT_LOOKBACK_MINUTES})"),
    ("README.md", f"`progress_seconds` (default {settings.DEFAULT_PROGRESS_SECONDS:g})"),
    ("docs/failure-behaviour.md", f"up to `max_tries` ({settings.DEFAULT_MAX_TRIES}) tries"),
    (
        "docs/failure-behaviour.md",
        f"timeout (`request_timeout`, {settings.DEFAULT_REQUEST_TIMEOUT} s)",
    ),
    (
        "docs/failure-behaviour.md",
        f"(1, 2, 4, ... s, at most {retries.MAX_BACKOFF_SECONDS:g} s, plus jitter)",
    ),
    (
        "docs/failure-behaviour.md",
        f"`rate_limit_patience_seconds` ({settings.DEFAULT_RATE_LIMIT_PATIENCE_SECONDS} s)",
    ),
    ("docs/failure-behaviour.md", f"at {retries.RATE_DECREASE:g} times the rate"),
    ("docs/failure-behaviour.md", f"climbs by {retries.RATE_INCREASE:g} requests a second"),
    ("docs/failure-behaviour.md", f"at most {retries.SLOW_START} requests in flight"),
    (
        "docs/failure-behaviour.md",
        f"Windows hold at most {settings.OFFSET_CAP:,} CDRs (`window_records`)",
    ),
    (
        "docs/failure-behaviour.md",
        f"more than {planner.MAX_SPLIT_WINDOWS:,} windows",
    ),
    ("docs/failure-behaviour.md", f"Reading stops at {client.MAX_BODY_BYTES >> 20} MB"),
    ("docs/failure-behaviour.md", f"(after {requests.models.DEFAULT_REDIRECT_LIMIT} redirects)"),
    (
        "docs/reading-windows.md",
        f"of {planner.OPENING_SPAN_MS // DAY_MS} days or more (a backfill) opens as "
        f"{planner.OPENING_WINDOWS} windows",
    ),
    ("docs/reading-windows.md", f"`metadata.total` is under {settings.OFFSET_CAP:,}"),
    ("docs/reading-windows.md", f"A total of {settings.OFFSET_CAP:,} or more"),
    ("docs/incremental-sync.md", f"(default {settings.DEFAULT_LOOKBACK_MINUTES})"),
    (
        "docs/schema-changes.md",
        "`schema_changes` setting chooses: `{}` (the default, as above), `{}`".format(
            *settings.SCHEMA_CHANGES[:2]
        ),
    ),
]


@pytest.mark.parametrize(("page", "phrase"), CLAIMS, ids=[f"{p}: {c[:40]}" for p, c in CLAIMS])
def test_each_figure_the_pages_give_is_the_codes(page, phrase):
    assert phrase in text(page)


def test_the_schema_changes_page_names_the_target_postgres_that_meltano_yml_pins():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (loader,) = [p for p in project["plugins"]["loaders"] if p["name"] == "target-postgres"]
    version = loader["pip_url"].split("==")[1]
    assert f"target-postgres {version} would not make" in text("docs/schema-changes.md")
    assert settings.SCHEMA_CHANGES == ("evolve", "freeze", "fail")


def test_the_state_the_pages_show_is_one_the_tap_reads_and_writes():
    (shown,) = re.findall(r"`(\{\"bookmarks\".*?\}\}\})`", text("docs/incremental-sync.md"))
    bookmark = state_file.checked(json.loads(shown))["bookmarks"]["cdrs"]
    assert bookmark["replication_key"] == "started_at"
    assert BOOKMARK_FORMAT.fullmatch(bookmark["replication_key_value"])


def test_a_certificate_error_points_at_the_security_page_which_explains_the_ca_bundle():
    source = (ROOT / "tap_voiso" / "client.py").read_text()
    assert "(see docs/security.md)" in source
    assert "set `REQUESTS_CA_BUNDLE` (or `CURL_CA_BUNDLE`)" in text("docs/security.md")


def test_the_simulator_pages_switches_are_the_ones_it_takes_with_their_defaults(make_sim):
    page = (DOCS / "simulator.md").read_text()
    (command,) = re.findall(r"^python -m voiso_simulator (--.*)$", page, re.MULTILINE)
    parse_args(shlex.split(command))  # an unknown switch exits
    rows = dict(re.findall(r"^\| `(--[a-z-]+)` \| `([^`]*)` \|", page, re.MULTILINE))
    defaults = vars(parse_args([]))
    assert set(rows) == {f"--{name.replace('_', '-')}" for name in defaults}
    for switch, default in rows.items():
        name = switch[2:].replace("-", "_")
        assert vars(parse_args([switch, default]))[name] == defaults[name], switch
    for shape in SHAPES:
        assert f"`{shape}`" in page
    server = make_sim(records=10)
    with urllib.request.urlopen(f"{server.url}/_sim/stats") as response:  # noqa: S310 (loopback)
        assert response.status == 200
    configure = urllib.request.Request(  # noqa: S310 (loopback)
        f"{server.url}/_sim/config", data=b'{"latency_ms": 0}', method="POST"
    )
    with urllib.request.urlopen(configure) as response:  # noqa: S310 (loopback)
        assert response.status < 300
    assert f"TAP_VOISO_API_KEY={DEFAULT_KEY}" in (ROOT / ".env.example").read_text()


def test_the_development_page_names_every_module_of_the_data_path_and_only_real_files():
    page = (DOCS / "development.md").read_text()
    named = set(re.findall(r"`((?:tap_voiso|tests|benchmarks|scripts)/[\w/]+\.py)`", page))
    assert named
    for path in named:
        assert (ROOT / path).exists(), path
    modules = {
        f"tap_voiso/{p.name}"
        for p in (ROOT / "tap_voiso").glob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
    }
    assert modules <= named


def test_the_scaling_out_recipe_slices_meet_end_to_start_and_the_job_goes_on_from_the_last():
    page = (DOCS / "scaling-out.md").read_text()
    block = re.search(r"```bash\n(.*?)```", page, re.DOTALL)
    assert block is not None
    script = block.group(1).replace("\\\n", " ")
    slices = re.findall(
        r"TAP_VOISO_START_DATE=(\S+) TAP_VOISO_END_DATE=(\S+)\s+"
        r"meltano run --state-id-suffix (\S+) tap-voiso (\S+)",
        script,
    )
    assert len(slices) >= 2
    for (_, end, *_), (start, *_) in itertools.pairwise(slices):
        assert end == start  # half-open: no overlap, no gap
    assert len({suffix for *_, suffix, _ in slices}) == len(slices)
    (target,) = {t for *_, t in slices}
    state_set = re.search(r"meltano state set --force (\S+)\s+'(.*?)'", script, re.DOTALL)
    assert state_set is not None
    assert state_set.group(1) == f"dev:tap-voiso-to-{target}"
    bookmark = json.loads(state_set.group(2))["singer_state"]["bookmarks"]["cdrs"]
    last_end = slices[-1][1].replace("Z", ".000Z")
    assert bookmark == {"replication_key": "started_at", "replication_key_value": last_end}
    assert script.rstrip().splitlines()[-1].startswith(f"meltano run tap-voiso {target}")
