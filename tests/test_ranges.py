"""A run's late and new ranges, from settings, bookmark and the run's start: no tap, no HTTP."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tap_voiso.cdrs.ranges import sync_ranges
from tap_voiso.cdrs.windows import EARLIEST, Window
from tap_voiso.settings import DEFAULTS, Settings

RUN_START = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


def ms(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 UTC time, computed apart from the tap's helpers."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


def settings(**config: object) -> Settings:
    return Settings.from_config({"api_key": "k", "cluster_id": "acme", **config})


@pytest.mark.parametrize(
    ("config", "bookmark", "late", "new"),
    [
        pytest.param(
            {"start_date": "2026-01-01T00:00:00Z"}, None,
            None, Window(ms("2026-01-01T00:00:00Z"), ms("2026-03-10T12:00:00Z")),
            id="first run: start_date to the run's start",
        ),
        pytest.param(
            {}, None,
            None, Window(int(EARLIEST.timestamp()) * 1000, ms("2026-03-10T12:00:00Z")),
            id="first run, no start_date: from the earliest",
        ),
        pytest.param(
            {"start_date": "2026-01-01T00:00:00Z"}, "2026-03-10T11:00:00Z",
            Window(ms("2026-01-01T00:00:00Z"), ms("2026-03-10T11:00:00Z"),
                   ms("2026-03-10T10:30:00Z")),
            Window(ms("2026-03-10T11:00:00Z"), ms("2026-03-10T12:00:00Z")),
            id="bookmark: late CDRs ended since 30 minutes before it, then new ones",
        ),
        pytest.param(
            {"start_date": "2026-01-01T00:00:00Z", "lookback_minutes": 120},
            "2026-03-10T11:00:00Z",
            Window(ms("2026-01-01T00:00:00Z"), ms("2026-03-10T11:00:00Z"),
                   ms("2026-03-10T09:00:00Z")),
            Window(ms("2026-03-10T11:00:00Z"), ms("2026-03-10T12:00:00Z")),
            id="lookback_minutes sets the late CDRs' ended_at floor",
        ),
        pytest.param(
            {"start_date": "2026-02-01T00:00:00Z"}, "2026-01-15T00:00:00Z",
            None, Window(ms("2026-02-01T00:00:00Z"), ms("2026-03-10T12:00:00Z")),
            id="bookmark before start_date: start_date wins, nothing late",
        ),
        pytest.param(
            {"end_date": "2026-03-01T00:00:00Z"}, "2026-03-05T00:00:00Z",
            Window(int(EARLIEST.timestamp()) * 1000, ms("2026-03-01T00:00:00Z"),
                   ms("2026-03-04T23:30:00Z")),
            Window(ms("2026-03-05T00:00:00Z"), ms("2026-03-05T00:00:00Z")),
            id="end_date before the bookmark: late CDRs up to end_date, no new ones",
        ),
        pytest.param(
            {"end_date": "2026-03-10T11:30:00Z"}, "2026-03-10T11:00:00Z",
            Window(int(EARLIEST.timestamp()) * 1000, ms("2026-03-10T11:00:00Z"),
                   ms("2026-03-10T10:30:00Z")),
            Window(ms("2026-03-10T11:00:00Z"), ms("2026-03-10T11:30:00Z")),
            id="end_date before the run's start ends the new range",
        ),
    ],
)  # fmt: skip
def test_sync_ranges(config, bookmark, late, new):
    at = None if bookmark is None else datetime.fromisoformat(bookmark.replace("Z", "+00:00"))
    assert sync_ranges(settings(**config), at, RUN_START) == (late, new)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_absent_and_null_settings_take_the_schemas_default(name):
    assert getattr(settings(), name) == DEFAULTS[name]
    assert getattr(settings(**{name: None}), name) == DEFAULTS[name]
