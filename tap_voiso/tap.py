"""TapVoiso: the settings it accepts and the streams it offers."""

from __future__ import annotations

import difflib
import io
import json
import signal
import sys
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities
from singer_sdk.tap_base import CliTestOptionValue

from tap_voiso import settings
from tap_voiso.cdrs.streams import CHANNEL_STREAMS, CdrsStream
from tap_voiso.cdrs.windows import iso_ms, to_ms
from tap_voiso.directory.streams import DIRECTORY_STREAMS, DirectoryStream
from tap_voiso.shared import redact, signals
from tap_voiso.shared import state as state_file
from tap_voiso.shared.api import Api
from tap_voiso.shared.errors import Interrupted, OptionalStreamError, VoisoError
from tap_voiso.shared.output import StateFlushingWriter
from tap_voiso.shared.passthrough import RecordPath

if TYPE_CHECKING:
    import click


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
        """Validate settings beyond their JSON schema before any stream runs.

        The SDK's schema errors quote the offending value; for a secret setting the
        message is replaced by one that names the setting only.
        """
        if isinstance(kwargs.get("config"), dict):
            redact.protect(kwargs["config"])
        try:
            super().__init__(*args, validate_config=validate_config, **kwargs)
        except ConfigValidationError as exc:
            errors = [settings.redact_secret_error(error) for error in exc.errors]
            raise ConfigValidationError(
                str(exc), errors=errors, schema=self.config_jsonschema
            ) from None
        redact.protect(self.config)  # the settings from the environment included
        if validate_config:
            errors = settings.check_settings(self.config)
            if errors:
                raise ConfigValidationError(
                    "Config validation failed", errors=errors, schema=self.config_jsonschema
                )
        self._warn_unknown_settings()
        # Queue ids the CDRs of this run named: the `queues` stream's fallback.
        self.cdr_queue_ids: set[int] = set()
        # What stopped an optional stream (a directory list): the run ends on it last.
        self.optional_failures: list[str] = []
        if TapVoiso._cli_tap is None and type(self)._in_cli:
            TapVoiso._cli_tap = self
            signals.install()

    @cached_property
    def api(self) -> Api:
        """The run's one connection to Voiso, shared by every stream: one pace per API key."""
        return Api(settings.Settings.from_config(self.config), self.logger)

    def load_state(self, state: dict[str, Any]) -> None:
        """The SDK's, for a state checked first, and unwrapped from Meltano's `singer_state`.

        Then every bookmark in the one format the tap writes (`state.in_one_format`).
        """
        super().load_state(state_file.checked(state))
        state_file.in_one_format(self.state)

    def _warn_unknown_settings(self) -> None:
        """A setting the tap does not know is ignored: say so, with the closest known name."""
        known = set(self.config_jsonschema.get("properties", {}))
        for name in sorted(set(self.config) - known):
            close = difflib.get_close_matches(name, known, n=1)
            hint = f": did you mean `{close[0]}`?" if close else " and ignored."
            self.logger.warning("Unknown setting `%s`%s", name, hint)

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Run the CLI; a stop with a known cause is one ERROR line and exit code 1.

        SIGTERM or SIGINT ends the run after the page in hand: whole lines on stdout,
        then a STATE of the last complete window, and exit code 143 or 130.
        """
        cls._in_cli = True
        try:
            given = kwargs.get("state")
            if given is not None:  # read here, to name the file in what is wrong with it
                parsed = state_file.parse(given.read(), getattr(given, "name", "given"))
                kwargs["state"] = io.StringIO(json.dumps(parsed))
            super().invoke(*args, **kwargs)
            if cls._cli_tap is not None:
                cls._cli_tap.stop_on_optional_failures()
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
            if isinstance(stream, RecordPath) and stream.name in self.state.get("bookmarks", {}):
                stream.last_checkpoint()
        writer = self.message_writer
        if isinstance(writer, StateFlushingWriter):
            writer.end_with_state(self.state)

    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """`--test`: one request, and one line: connected (and what the key can see), or why not.

        The SDK's dry run syncs a record of every stream and logs each stream it cuts
        short as an error; a connection test needs neither. `--test=schema` writes
        every stream's whole schema (the SDK's would prune the unselected ones to nothing).
        """
        tests = (CliTestOptionValue.All.value, CliTestOptionValue.Schema.value)
        if value not in tests:
            super().cb_test(ctx, param, value)
            return
        given = ctx.params.get("config")
        try:
            tap = cls(
                config=getattr(given, "config", None),
                parse_env_config=bool(getattr(given, "parse_env", False)),
                validate_config=True,
            )
        except ConfigValidationError as exc:
            for error in exc.errors:
                cls.logger.error("Config validation error: %s", error)  # noqa: TRY400
            ctx.exit(1)
        if value == CliTestOptionValue.Schema.value:
            for stream in tap.streams.values():
                tap.mapper.register_raw_stream_schema(
                    stream.name, stream.schema, stream.primary_keys
                )
            tap.write_schemas()
            ctx.exit(0)
        ctx.exit(0 if tap.connection_test() else 1)

    def connection_test(self) -> bool:
        """One request over the configured range; logs one line either way."""
        stream = self.streams["cdrs"]
        assert isinstance(stream, CdrsStream)  # noqa: S101 (discover_streams makes it so)
        try:
            total = stream.probe()
        except VoisoError as exc:
            self.logger.error("Connection test failed: %s", exc)  # noqa: TRY400
            return False
        visible = "an unknown number of" if total is None else f"{total:,}"
        start = stream.settings.start
        self.logger.info(
            "Connection test passed: %s answered; this key can read %s CDRs from %s on "
            "(with the configured filters).",
            redact.display_url(stream.url_base),
            visible,
            "the beginning" if start is None else iso_ms(to_ms(start)),
        )
        for directory in self.streams.values():
            if isinstance(directory, DirectoryStream):
                self.logger.info("Can the key read %s", directory.can_read())
        return True

    @property
    def streams(self) -> dict[str, Stream]:
        """The SDK's streams (by name, as it orders them), but the CDR streams first.

        The SDK syncs them in this order. The CDRs are what every run is for: the
        directory's lists, read after them, cannot delay them, and the `queues` stream's
        fallback then knows every queue this run's CDRs named. (Whatever the order, a
        directory stream's failure costs no other stream: `optional_failed`.)
        """
        streams = super().streams
        if not getattr(self, "_cdrs_first", False):
            for name in [n for n, s in streams.items() if isinstance(s, DirectoryStream)]:
                streams[name] = streams.pop(name)
            self._cdrs_first = True
        return streams

    def stop_on_optional_failures(self) -> None:
        """Once every stream has run and written its STATE: a stop naming each that failed.

        The CLI calls it after the sync (exit code 1): an optional stream's failure
        (`optional_failed`) costs no other stream, whatever the order they ran in.
        """
        if self.optional_failures:
            failed = "; ".join(line.rstrip(".") for line in self.optional_failures)
            msg = f"{failed}. Every other stream was read and its STATE written."
            raise OptionalStreamError(msg)

    def optional_failed(self, stream: str, path: str, exc: Exception) -> None:
        """An optional stream stopped on `exc`: say so now; the run ends on it last."""
        said = str(exc) if isinstance(exc, VoisoError) else f"{type(exc).__name__}: {exc}"
        line = f"Stream `{stream}` failed reading GET {path}: {said}"
        self.logger.error("%s", line, exc_info=not isinstance(exc, VoisoError))
        self.optional_failures.append(line)

    def discover_streams(self) -> list[Stream]:
        """The streams this tap offers."""
        return [
            CdrsStream(self),
            *(stream(self) for stream in CHANNEL_STREAMS),
            *(stream(self) for stream in DIRECTORY_STREAMS),
        ]
