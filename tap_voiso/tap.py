"""TapVoiso: the settings it accepts and the streams it offers."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities

from tap_voiso import settings
from tap_voiso.errors import VoisoError
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

    def __init__(self, *args: Any, validate_config: bool = True, **kwargs: Any) -> None:
        """Validate settings beyond their JSON schema before any stream runs."""
        super().__init__(*args, validate_config=validate_config, **kwargs)
        if validate_config:
            errors = settings.check_settings(self.config)
            if errors:
                raise ConfigValidationError(
                    "Config validation failed", errors=errors, schema=self.config_jsonschema
                )

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Run the CLI; a stop with a known cause is one ERROR line and exit code 1."""
        try:
            super().invoke(*args, **kwargs)
        except VoisoError as exc:
            cls.logger.error("%s", exc)  # noqa: TRY400 (the traceback goes to DEBUG)
            cls.logger.debug("Traceback of the error above", exc_info=True)
            sys.exit(1)

    def discover_streams(self) -> list[Stream]:
        """The streams this tap offers."""
        return [CdrsStream(self), *(stream(self) for stream in CHANNEL_STREAMS)]
