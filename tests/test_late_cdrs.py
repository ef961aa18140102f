"""Late CDRs, read by `ended_at`: scheduled hourly runs lose nothing and read each CDR ~once.

The simulator has a clock: a CDR is listed some minutes after it ends (or, with
`open_listing`, from its start with `ended_at: null`), and conversations stay open up
to 3 days. `benchmarks.hourly.run_schedule` backfills, then runs the tap once an hour
with the clock as `end_date`; after the last run, every CDR the API lists is compared
with the last version of it the runs emitted.
"""

from __future__ import annotations

import pytest

from benchmarks.hourly import BACKFILL_UNTIL, FIRST_DAY, HOUR_MS, SPEC, run_schedule
from tap_voiso.settings import DEFAULT_LOOKBACK_MINUTES
from tap_voiso.windows import iso_ms
from tests.conftest import catalog_selecting, queries, run_tap, tap_config
from voiso_simulator.data import parse_iso

MINUTE_MS = 60_000


@pytest.fixture
def hourly_sim(make_sim):
    def factory(**options):
        spec = {k: getattr(SPEC, k) for k in ("records", "span_days", "burst", "seed")}
        return make_sim(**spec, **options)

    return factory


@pytest.mark.parametrize("open_listing", [False, True], ids=["listed-at-end", "listed-while-open"])
def test_backfill_then_two_days_of_hourly_runs_lose_nothing_and_read_each_cdr_about_once(
    hourly_sim, open_listing
):
    server = hourly_sim(listing_delay_ms=15 * MINUTE_MS, open_listing=open_listing)
    result = run_schedule(server, hours=48)

    assert result.appeared > 1500  # about 42 CDRs an hour over 48 hours
    assert result.lost == []
    assert result.emitted <= 2.5 * result.appeared, (result.emitted, result.appeared)
    # The schedule did meet CDRs that became visible more than a day after they started.
    sim = server.simulator
    final = BACKFILL_UNTIL + 48 * HOUR_MS
    long_late = [
        pos
        for pos in range(len(sim.dataset))
        if BACKFILL_UNTIL < sim.dataset.ended[pos] + 15 * MINUTE_MS <= final
        and sim.dataset.ended[pos] - sim.dataset.started[pos] > 24 * HOUR_MS
    ]
    assert long_late


def test_a_listing_delay_longer_than_the_lookback_loses_cdrs_and_raising_it_covers_them(
    hourly_sim,
):
    delay_minutes = 90
    assert delay_minutes > DEFAULT_LOOKBACK_MINUTES
    server = hourly_sim(listing_delay_ms=delay_minutes * MINUTE_MS)
    short = run_schedule(server, hours=8)
    assert short.lost  # the control: the default margin is too short for this API

    server = hourly_sim(listing_delay_ms=delay_minutes * MINUTE_MS)
    covered = run_schedule(server, hours=8, lookback_minutes=delay_minutes)
    assert covered.lost == []
    assert covered.emitted <= 2.5 * covered.appeared


def test_the_old_started_at_lookback_loses_long_open_cdrs_and_rereads_a_day(hourly_sim):
    """What the design replaced, on the same API: the figures docs/incremental-sync.md compares."""
    server = hourly_sim(listing_delay_ms=15 * MINUTE_MS)
    old = run_schedule(server, hours=12, old_design=True)
    assert old.lost
    assert old.emitted > 10 * old.appeared


def test_a_run_with_a_bookmark_reads_late_cdrs_first_then_new_ones(make_sim):
    server = make_sim(records=3000, span_days=10, burst=0)
    bookmark = parse_iso("2026-01-05T00:00:00Z")
    end = bookmark + 6 * HOUR_MS
    server.simulator.configure(clock_ms=end)
    state = {
        "bookmarks": {
            "cdrs": {"replication_key": "started_at", "replication_key_value": iso_ms(bookmark)}
        }
    }
    result = run_tap(tap_config(server, start_date=FIRST_DAY, end_date=iso_ms(end)), state=state)

    first, last = queries(server)[0], queries(server)[-1]
    assert first["started_at[gte]"] == [iso_ms(parse_iso(FIRST_DAY))]
    assert first["started_at[lt]"] == [iso_ms(bookmark)]
    assert first["ended_at[gte]"] == [iso_ms(bookmark - DEFAULT_LOOKBACK_MINUTES * MINUTE_MS)]
    assert last["started_at[lt]"] == [iso_ms(end)]
    assert "ended_at[gte]" not in last

    visible = server.simulator.visible_records()
    expected = {
        r["id"]
        for r in visible
        if bookmark <= parse_iso(r["started_at"]) < end
        or (
            parse_iso(r["started_at"]) < bookmark
            and parse_iso(r["ended_at"]) >= bookmark - DEFAULT_LOOKBACK_MINUTES * MINUTE_MS
        )
    }
    assert [r["id"] for r in result.records if r["started_at"] < iso_ms(bookmark)]  # late ones
    assert sorted(r["id"] for r in result.records) == sorted(expected)
    assert result.bookmark == iso_ms(end)


def test_a_first_run_reads_no_late_set(make_sim):
    server = make_sim(records=500)
    run_tap(tap_config(server))
    assert all("ended_at[gte]" not in q for q in queries(server))


def test_late_cdrs_are_bounded_by_start_date_and_end_date(make_sim):
    server = make_sim(records=500)
    state = {
        "bookmarks": {
            "cdrs": {
                "replication_key": "started_at",
                "replication_key_value": "2026-02-01T00:00:00.000Z",
            }
        }
    }
    run_tap(
        tap_config(server, start_date="2026-01-10T00:00:00Z", end_date="2026-01-20T00:00:00Z"),
        state=state,
    )
    late = [q for q in queries(server) if "ended_at[gte]" in q]
    assert late
    assert all(q["started_at[gte]"] >= ["2026-01-10T00:00:00.000Z"] for q in late)
    assert all(q["started_at[lt]"] <= ["2026-01-20T00:00:00.000Z"] for q in late)


def test_a_run_stopped_while_reading_late_cdrs_keeps_the_bookmark_and_repeats_them(make_sim):
    server = make_sim(records=3000, span_days=10, burst=0)
    bookmark = "2026-01-05T00:00:00.000Z"
    state = {
        "bookmarks": {"cdrs": {"replication_key": "started_at", "replication_key_value": bookmark}}
    }
    config = tap_config(server, start_date=FIRST_DAY, end_date="2026-01-06T00:00:00Z", max_tries=1)
    server.simulator.configure(fail_next=["500"])  # the first request: the late set's
    with pytest.raises(Exception, match="HTTP 500"):
        run_tap(config, state=state)
    server.simulator.reset_log()
    result = run_tap(config, state=state)
    assert "ended_at[gte]" in queries(server)[0]
    late = {
        r["id"]
        for r in server.simulator.visible_records()
        if r["started_at"] < bookmark
        and parse_iso(r["ended_at"]) >= parse_iso(bookmark) - DEFAULT_LOOKBACK_MINUTES * MINUTE_MS
    }
    assert late
    assert late <= {r["id"] for r in result.records}


def test_each_channel_stream_reads_its_own_late_cdrs_from_its_own_bookmark(make_sim):
    server = make_sim(records=3000, span_days=10, burst=0)
    bookmark = parse_iso("2026-01-05T00:00:00Z")
    end = bookmark + 6 * HOUR_MS
    config = tap_config(server, start_date=FIRST_DAY, end_date=iso_ms(end))
    state = {
        "bookmarks": {
            "conversations": {
                "replication_key": "started_at",
                "replication_key_value": iso_ms(bookmark),
            },
        }
    }
    result = run_tap(config, state=state, catalog=catalog_selecting(config, "conversations"))
    late_queries = [q for q in queries(server) if "ended_at[gte]" in q]
    assert late_queries
    assert all(q["type[]"] == ["conversation"] for q in late_queries)
    late = {
        r["id"]
        for r in server.simulator.visible_records()
        if r["type"] == "conversation"
        and parse_iso(r["started_at"]) < bookmark
        and parse_iso(r["ended_at"]) >= bookmark - DEFAULT_LOOKBACK_MINUTES * MINUTE_MS
    }
    assert late  # conversations that started before the bookmark and ended after it
    assert late <= {r["id"] for r in result.records}
    assert result.states[-1]["bookmarks"]["conversations"]["replication_key_value"] == iso_ms(end)
