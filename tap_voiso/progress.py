"""How far along a run is: one INFO line every `progress_seconds`.

`cdrs: 12,345 of 50,000 CDRs (24.7%), 4,100 CDRs/s, about 9 s left, bookmark
2026-01-05T09:36:00.000Z`. The total is the first page's `metadata.total` for the
range being read; without one the line says how many so far. The SDK's own
`record_count` metric counts since its previous line, which reads like a total;
this line does not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class Progress:
    """Counts CDRs emitted for one range and logs where the run stands, now and then."""

    def __init__(
        self,
        label: str,
        logger: logging.Logger,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._began = clock()
        self._last = self._began
        self.done = 0
        self.total: int | None = None

    def expect(self, total: int | None) -> None:
        """The range's total, from its first page (called from a reader's thread)."""
        self.total = total

    def add(self, count: int, bookmark: str | None) -> None:
        """Count `count` more CDRs; log a line if `interval` has passed since the last."""
        self.done += count
        now = self._clock()
        if now - self._last >= self._interval:
            self._last = now
            self._logger.info("%s", self.line(now, bookmark))

    def line(self, now: float, bookmark: str | None) -> str:
        """The progress line as of `now`."""
        elapsed = max(now - self._began, 1e-6)
        rate = self.done / elapsed
        where = f"bookmark {bookmark}" if bookmark else "no checkpoint yet"
        if self.total is None or self.total <= 0:
            return f"{self._label}: {self.done:,} CDRs so far, {rate:,.0f} CDRs/s, {where}"
        done = min(self.done, self.total)
        left = (self.total - done) / rate if rate > 0 else 0.0
        return (
            f"{self._label}: {done:,} of {self.total:,} CDRs ({100 * done / self.total:.1f}%), "
            f"{rate:,.0f} CDRs/s, about {left:.0f} s left, {where}"
        )

    def finish(self, bookmark: str | None, note: str | None = None) -> None:
        """One closing line: how many, how fast, and `note` (what else the run had to do)."""
        elapsed = max(self._clock() - self._began, 1e-6)
        self._logger.info(
            "%s: %s CDRs in %.1f s (%s CDRs/s)%s%s",
            self._label,
            f"{self.done:,}",
            elapsed,
            f"{self.done / elapsed:,.0f}",
            f", bookmark {bookmark}" if bookmark else "",
            f"; {note}" if note else "",
        )
