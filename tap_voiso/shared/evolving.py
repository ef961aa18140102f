"""Records checked against the stream's schema, and fields Voiso adds declared as they come.

The same for every stream, CDRs and directory alike: a page that fits the schema
goes on as it is; one that does not is checked record by record (`records.py`), and a
field the schema does not declare is handled as the `schema_changes` setting says
(`evolution.py`): declared in an updated SCHEMA before the first record holding it,
dropped, or refused.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from singer_sdk import Stream

from tap_voiso.shared.evolution import DROP, SchemaEvolution
from tap_voiso.shared.passthrough import RecordPath, tap_of
from tap_voiso.shared.records import RecordChecker


class EvolvingStream(RecordPath, Stream):
    """A stream whose records come in the API's shape `api_schema`, checked and evolved."""

    # The stream's records as the API sends them, which each page is checked against.
    api_schema: ClassVar[dict[str, Any]]
    # The key the response's array of records is under (`{"cdrs": [...], ...}`).
    items_key: ClassVar[str]

    @property
    def record_keys(self) -> dict[str, type]:
        """What a record cannot go without, and of which Python type: the stream's rule."""
        raise NotImplementedError

    @property
    def schema_changes(self) -> str:
        """The `schema_changes` setting (`evolve`, `freeze` or `fail`)."""
        raise NotImplementedError

    @cached_property
    def checker(self) -> RecordChecker:
        """Checks each page against the stream's schema in the API's record shape."""
        return RecordChecker(
            self.api_schema,
            self.logger,
            keys=self.record_keys,
            stream=self.name,
            items_key=self.items_key,
        )

    @cached_property
    def evolution(self) -> SchemaEvolution:
        """What a field the schema does not declare does: the `schema_changes` setting.

        With a selection short of everything (or a catalog schema that leaves
        properties out), a field nobody could select is dropped instead.
        """
        mode = self.schema_changes
        if not self.all_selected or self.catalog_removes:
            mode = DROP
        return SchemaEvolution(
            self.api_schema, stream=self.name, mode=mode, logger=self.logger, name=self.field_name
        )

    def field_name(self, path: tuple[str, ...]) -> str:
        """A field of the API's record (by path) as this stream's users know it."""
        return ".".join(path)

    def stream_schema(self, api_schema: dict[str, Any]) -> dict[str, Any]:
        """This stream's schema for records of the API's shape `api_schema`."""
        return api_schema

    def conformed(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`records` checked, new fields declared first (nearly every page fits as it is)."""
        if self.checker.fits(records):
            return records
        if self.evolution.apply(records):
            self._declare_evolved_schema()
        return self.checker.check_page(records)

    def _declare_evolved_schema(self) -> None:
        """Check against the evolved schema and send it: a SCHEMA before the records needing it.

        Through the SDK's mapper, so stream maps and flattening see the new fields too.
        """
        self.checker.use_schema(self.evolution.schema)
        self.schema = self.stream_schema(self.evolution.schema)  # type: ignore[misc]
        tap_of(self).mapper.register_raw_stream_schema(self.name, self.schema, self.primary_keys)
        self._stream_maps = None  # the SDK's cache of `stream_maps`: rebuilt from the mapper
        self._write_schema_message()
