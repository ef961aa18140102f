"""The run's cursors: each followed for one window only, and the window ends they left unsure.

A cursor is the API's word for where a window's next page starts; the API's word is a
claim. Two claims need a second look, run-wide rather than one window's chain at a time:

- **A cursor belongs to one window.** A cache that mixes requests can hand window B's
  cursor to window A, read at the same time. Followed in A, it leads to B's CDRs, or
  (a keyset cursor under A's filters) to an empty page or back to A's start. So a
  cursor followed for two windows that do not overlap is a loop, and stops the run
  naming it. A window and a window inside it (the same window read again, or a part
  it was cut into) may meet the same cursor: a keyset position within both.
- **An end that only a cursor vouches for is confirmed.** The chain asks one request
  that does not depend on the cursor (`chain.Chain`); the ledger counts them for the
  run's closing line.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from tap_voiso.errors import CursorLoopError
from tap_voiso.windows import Window

# Characters of a cursor a message shows: cursors are opaque, and may be long.
CURSOR_SHOWN = 40


def shown(cursor: str) -> str:
    """A cursor cut to a readable length for a message."""
    if len(cursor) <= CURSOR_SHOWN:
        return repr(cursor)
    return f"{cursor[:CURSOR_SHOWN]!r}... ({len(cursor):,} characters)"


def _nested(a: Window, b: Window) -> bool:
    """Whether one window lies within the other (the same window included)."""
    return (a.start_ms <= b.start_ms and b.end_ms <= a.end_ms) or (
        b.start_ms <= a.start_ms and a.end_ms <= b.end_ms
    )


@dataclass(frozen=True)
class EndChecks:
    """Window ends confirmed by a request without cursor, and how many of those found more."""

    checked: int = 0
    found_more: int = 0

    def since(self, earlier: EndChecks) -> EndChecks:
        """The checks made after `earlier` was taken."""
        return EndChecks(self.checked - earlier.checked, self.found_more - earlier.found_more)

    def __str__(self) -> str:
        return (
            f"{self.checked} window end(s) that only a cursor vouched for confirmed with a "
            f"request by offset ({self.found_more} found more CDRs)"
        )


class CursorLedger:
    """What one run's readers (threads) learn of cursors; see the module docstring.

    Keeps a 16-byte digest of each cursor followed, not the cursor (they may be long).
    """

    def __init__(self) -> None:
        self._followed: dict[bytes, Window] = {}
        self._lock = threading.Lock()
        self._checks = EndChecks()

    def follow(self, cursor: str, window: Window) -> None:
        """Record that `window`'s chain follows `cursor`; raise if another window did."""
        digest = hashlib.blake2b(cursor.encode(), digest_size=16).digest()
        with self._lock:
            earlier = self._followed.setdefault(digest, window)
        if _nested(earlier, window):
            return
        msg = (
            f"Cursor loop: the API returned cursor {shown(cursor)} for started_at in {window}, "
            f"and the same cursor earlier for started_at in {earlier}. A cursor belongs to one "
            "window's pages (a cache that mixes requests hands out another's); stopping instead "
            "of trusting it. The bookmark stays at the last completed window, so the next run "
            "re-reads from there."
        )
        raise CursorLoopError(msg)

    def end_checked(self, *, found_more: bool) -> None:
        """Count one window end confirmed by a request without cursor."""
        with self._lock:
            self._checks = EndChecks(
                self._checks.checked + 1, self._checks.found_more + int(found_more)
            )

    @property
    def checks(self) -> EndChecks:
        """The end checks so far."""
        return self._checks
