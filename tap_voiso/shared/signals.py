"""SIGTERM and SIGINT: finish the page in hand, then stop at the last complete window.

The handler only records the signal. Writing from inside a signal handler could
land in the middle of another write (a torn JSON line) or write a buffer twice;
instead the stream notices between pages (`scheduler.read_windows`), readers stop
sending requests, and the CLI writes a final STATE and exits 128 + the signal number.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


class Interrupt(threading.Event):
    """Set by the first SIGTERM or SIGINT; `signum` says which."""

    signum: int = signal.SIGTERM

    def trigger(self, signum: int, _frame: FrameType | None = None) -> None:
        """The signal handler: note the signal, and nothing else."""
        if not self.is_set():
            self.signum = signum
            self.set()


INTERRUPT = Interrupt()


def install() -> None:
    """Route SIGTERM and SIGINT to `INTERRUPT` (in place of the SDK's handlers)."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, INTERRUPT.trigger)
