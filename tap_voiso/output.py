"""Singer output: msgspec encoding, flushed at each STATE rather than after every record.

The SDK's default writer encodes with simplejson and flushes stdout after every
message: a system call per CDR. Here stdout is flushed only when a STATE message is
written. That is safe: a STATE follows the records it covers in the same stream, so a
target never sees a bookmark before the records under it, and a kill between two
flushes only loses records that no STATE claimed, which the next run re-reads.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.simple import Message, SingerMessageType


class StateFlushingWriter(MsgSpecWriter):
    """msgspec-encoded Singer messages, flushed at each STATE."""

    def write_message(self, message: Message) -> None:
        """Write one message; flush if it is a STATE."""
        line = self.format_message(message)
        out = getattr(sys.stdout, "buffer", None)
        if out is None:  # a text-only stdout (an in-memory capture, say)
            sys.stdout.write(line.decode())
        else:
            out.write(line)
        if message.type == SingerMessageType.STATE:
            sys.stdout.flush()
