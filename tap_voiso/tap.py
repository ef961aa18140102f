"""TapVoiso: the settings it accepts and the streams it offers."""

from __future__ import annotations

import signal
import sys
from typing import Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities

from tap_voiso import settings, signals
from tap_voiso.errors import Interrupted, VoisoError
from tap_voiso.output import StateFlushingWriter
from tap_voiso.streams import CHANNEL_STREAMS, CdrsStream


class TapVoiso(Tap):
    """Singer tap for Voiso Call Detail Records."""

    name = "tap-voiso"
    config_jsonschema = settings.CONFIG_SCHEMA
    message_writer_class = StateFlushingWriter
    # What this tap really does. Not `batch`: BATCH files would be written after the
    # per-window STATE that claims their records; not `activate-version`, which is
    # for full-table streams.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    # Whether the CLI runs this process, and its tap: for signals and the last STATE.
    _in_cli: ClassVar[bool] = False
    _cli_tap: ClassVar[TapVoiso | None] = None

    def __init__(self, *args: Any, validate_config: bool = True, **kwargs: Any) -> None:
        """Validate settings beyond their JSON schema before any stream runs."""
        super().__init__(*args, validate_config=validate_config, **kwargs)
        if validate_config:
            errors = settings.check_settings(self.config)
            if errors:
                raise ConfigValidationError(
                    "Config validation failed", errors=errors, schema=self.config_jsonschema
                )
        if TapVoiso._cli_tap is None and type(self)._in_cli:
            TapVoiso._cli_tap = self
            signals.install()

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Run the CLI; a stop with a known cause is one ERROR line and exit code 1.

        SIGTERM or SIGINT ends the run after the page in hand: whole lines on stdout,
        then a STATE of the last complete window, and exit code 143 or 130.
        """
        cls._in_cli = True
        try:
            super().invoke(*args, **kwargs)
        except VoisoError as exc:
            cls.logger.error("%s", exc)  # noqa: TRY400 (the traceback goes to DEBUG)
            cls.logger.debug("Traceback of the error above", exc_info=True)
            sys.exit(1)
        except Interrupted as stop:
            if cls._cli_tap is not None:
                cls._cli_tap.write_last_state()
            name = signal.Signals(stop.signum).name
            cls.logger.warning(
                "Stopped by %s: the last STATE holds the last complete window; the next run "
                "resumes there.",
                name,
            )
            sys.exit(128 + stop.signum)

    def write_last_state(self) -> None:
        """End the output with a STATE in the standard shape (the last complete window)."""
        for stream in self.streams.values():
            if stream.name in self.state.get("bookmarks", {}):
                stream.finalize_state_progress_markers(stream.stream_state)
        writer = self.message_writer
        if isinstance(writer, StateFlushingWriter):
            writer.end_with_state(self.state)

    def discover_streams(self) -> list[Stream]:
        """The streams this tap offers."""
        return [CdrsStream(self), *(stream(self) for stream in CHANNEL_STREAMS)]
