"""Singer output: msgspec encoding, flushed at each STATE rather than after every record.

The SDK's default writer encodes with simplejson and flushes stdout after every
message: a system call per CDR. Here messages are gathered and written in chunks of a
megabyte, and always at each STATE message. That is safe: a STATE follows the records
it covers in the same stream, so a target never sees a bookmark before the records
under it, and a kill between two writes only loses records that no STATE claimed,
which the next run re-reads. Whatever is still gathered at exit is written then
(records after the last STATE: a target may load them; the next run reads them again).
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Mapping
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.simple import Message, SingerMessageType
from singer_sdk.singerlib.messages import StateMessage

# Bytes gathered before one write to stdout: large writes mean few system calls, and
# few moments where the GIL changes hands in the middle of emitting a page.
CHUNK_BYTES = 1 << 20
# Pieces one `os.writev` call takes (the system's limit is at least 1,024).
IOV_MAX = 1024


class RawRecordMessage:
    """RECORD messages already encoded: the API's own bytes for each record, wrapped.

    For the pass-through path (`passthrough.RawPage`): the records are never decoded to
    dicts nor encoded again, so their numbers and strings are exactly as the API wrote
    them. The lines come in pieces that are written as they are, one after the other:
    joining them into one would copy a page's bytes once more.
    """

    __slots__ = ("pieces",)
    type = SingerMessageType.RECORD

    def __init__(self, pieces: tuple[bytes, ...]) -> None:
        self.pieces = pieces


class StateFlushingWriter(MsgSpecWriter):
    """msgspec-encoded Singer messages, written in large chunks and flushed at each STATE."""

    def __init__(self) -> None:
        super().__init__()
        # Lines queued as they came (a pass-through page: its lines in three pieces):
        # written with `os.writev`, never copied into one buffer, whose regrowth cost
        # fresh memory pages for every megabyte written.
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._last_type: str | None = None
        atexit.register(self.flush)

    def write_message(self, message: Message | RawRecordMessage) -> None:  # type: ignore[override]
        """Queue one message; write out at each STATE or once a chunk is full."""
        if type(message) is RawRecordMessage:
            self._pending.extend(message.pieces)
            self._pending_bytes += sum(len(piece) for piece in message.pieces)
        else:
            # bytes(): the SDK's encoder reuses one bytearray for every message.
            line = bytes(self.format_message(message))  # type: ignore[arg-type]
            self._pending.append(line)
            self._pending_bytes += len(line)
        self._last_type = message.type
        if message.type == SingerMessageType.STATE or self._pending_bytes >= CHUNK_BYTES:
            self.flush()

    def end_with_state(self, state: Mapping[str, Any]) -> None:
        """Write what is queued, then `state` unless a STATE was the last message already."""
        if self._last_type != SingerMessageType.STATE:
            self.write_message(StateMessage(value=state))
        self.flush()

    def flush(self) -> None:
        """Write out everything queued, whole, even if a signal arrives mid-write.

        A signal that interrupts `sys.stdout.buffer.write` while the target is not
        reading can lose the part of a large write not yet made (a torn JSON line; seen
        on CPython 3.11). `os.writev` reports each partial write, so the loop finishes it.
        """
        if not self._pending:
            return
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        try:
            fd = sys.stdout.fileno()
        except (AttributeError, OSError, ValueError):  # an in-memory capture
            sys.stdout.write(b"".join(pending).decode())
            sys.stdout.flush()
            return
        sys.stdout.flush()  # anything written through sys.stdout goes first
        views = [memoryview(piece) for piece in pending]
        first = 0  # the first piece not yet written whole
        while first < len(views):
            written = os.writev(fd, views[first : first + IOV_MAX])
            while first < len(views) and written >= len(views[first]):
                written -= len(views[first])
                first += 1
            if written:
                views[first] = views[first][written:]
