"""Time windows over `started_at`: the unit of reading, checkpointing and resuming.

A run reads its range `[start, end)` as consecutive half-open windows. A window is
read whole (every page) before its end becomes the bookmark, so the bookmark never
passes a CDR that has not been emitted, whatever order the API returns records in.
Windows are sized by what they hold, not by the calendar: `planner.py` decides, from
what a window's first page said, whether it is read whole or cut, and where.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tap_voiso.settings import parse_datetime

# Where a range starts when neither `start_date` nor a bookmark says: before Voiso
# existed. Splitting by `metadata.total` finds where data begins in a few requests.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
# Pages in memory (requested, waiting, or being emitted) per reader, over all readers,
# and the most one reader may have read ahead of the consumer: bounds memory (a page is
# about 1 MB) whatever the size of the range. Three, not two: with a window's pages
# requested together, a window cut late (CDRs in 2 of 11 months) waited on a budget
# spent on later windows (50,000 CDRs at 250 ms: 2.5 s with two, 2.3 s with three).
PAGES_HELD_PER_READER = 3
# `started_at` in the API's own format, `2020-08-19T11:32:43.413Z`: its length.
ISO_MS_LENGTH = 24


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (the API's timestamp precision)."""
    return math.floor(moment.timestamp() * 1000)


def iso_ms(epoch_ms: int) -> str:
    """ISO 8601 in the API's own format, `2020-08-19T11:32:43.413Z`.

    One format for bookmarks, filters and records keeps string comparisons of
    timestamps (which the SDK does) equal to time comparisons.
    """
    moment = datetime.fromtimestamp(epoch_ms // 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def started_ms(value: Any) -> int | None:
    """A CDR's `started_at` in epoch ms, or None when it is not a date time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return to_ms(parse_datetime(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class Window:
    """`started_at` in `[start_ms, end_ms)`, and `ended_at >= ended_from_ms` when set.

    `ended_from_ms` marks a window of late CDRs: ones that started before the
    bookmark but ended (so became listed, or changed) since the previous run looked.
    """

    start_ms: int
    end_ms: int
    ended_from_ms: int | None = None

    @property
    def params(self) -> dict[str, str]:
        """The window's query parameters, repeated on every one of its pages."""
        params = {"started_at[gte]": iso_ms(self.start_ms), "started_at[lt]": iso_ms(self.end_ms)}
        if self.ended_from_ms is not None:
            params["ended_at[gte]"] = iso_ms(self.ended_from_ms)
        return params

    @property
    def splittable(self) -> bool:
        """False for a single millisecond: its CDRs can only be paged, not divided."""
        return self.end_ms - self.start_ms > 1

    @property
    def empty(self) -> bool:
        """True when no `started_at` can fall inside."""
        return self.end_ms <= self.start_ms

    def contains(self, value: Any, bounds: tuple[str, str]) -> bool:
        """Whether a `started_at` lies inside; `bounds` are `iso_ms` of start and end.

        The API's own format compares as text (no parsing for a whole page); anything
        else is parsed. A missing or unreadable value counts as inside: the record
        checker reports it.
        """
        if isinstance(value, str) and len(value) == ISO_MS_LENGTH and value[-1] == "Z":
            return bounds[0] <= value < bounds[1]
        moment = started_ms(value)
        return moment is None or self.start_ms <= moment < self.end_ms

    def __str__(self) -> str:
        span = f"[{iso_ms(self.start_ms)}, {iso_ms(self.end_ms)})"
        if self.ended_from_ms is None:
            return span
        return f"{span} ended since {iso_ms(self.ended_from_ms)}"
