"""A run's time ranges: the late CDRs and the new ones, from the settings and the bookmark.

A pure function of the settings, the bookmark and the moment the run started, so that
every combination (a first run, a bookmark, `start_date` and `end_date` on either
side of it, a lookback reaching before `start_date`) is tested without a tap.
Checking the bookmark itself (a file, a date, one from the future) is `state.py`'s
and the stream's.
"""

from __future__ import annotations

from datetime import datetime

from tap_voiso.cdrs.windows import EARLIEST, Window, to_ms
from tap_voiso.settings import Settings

MINUTE_MS = 60_000


def sync_ranges(
    settings: Settings, bookmark: datetime | None, run_start: datetime
) -> tuple[Window | None, Window]:
    """This run's two reads: late CDRs (None on a first run), then new ones.

    The run ends at `end_date` or the run's start, whichever is earlier. New CDRs
    are those with `started_at` from the bookmark (or `start_date`, or `EARLIEST`)
    to that end. Late CDRs started before the bookmark but ended at or after
    bookmark minus `lookback_minutes`: what the previous run could not yet see
    (a CDR still open, or listed some minutes after it ended), however long ago it
    started. The lookback is only the margin for the API's listing delay.
    """
    end_ms = to_ms(run_start if settings.end is None else min(run_start, settings.end))
    floor_ms = to_ms(EARLIEST if settings.start is None else settings.start)
    if bookmark is None:
        return None, Window(floor_ms, max(floor_ms, end_ms))
    bookmark_ms = to_ms(bookmark)
    start_ms = max(floor_ms, bookmark_ms)
    ended_from = max(0, bookmark_ms - settings.lookback_minutes * MINUTE_MS)
    late = Window(floor_ms, min(bookmark_ms, end_ms), ended_from)
    return (None if late.empty else late), Window(start_ms, max(start_ms, end_ms))
