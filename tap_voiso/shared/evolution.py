"""Fields the schema does not declare yet: declared (evolve), dropped (freeze) or refused (fail).

Typed targets make a column only for a property the SCHEMA message declares, and
some refuse a record holding anything else; a field Voiso adds must therefore be
declared before the first RECORD that carries it. Only a page that fails the fast
check reaches this module: that check's types refuse unknown fields
(`records.RecordChecker`), so a page with nothing new costs nothing more.

A declared field's type is inferred from its values, nullable, and widened when a
later value disagrees: to a string (a value that is not one is then sent as its JSON
text, so that every row fits the column). Numbers are declared `number` even when the
first ones are integers: a later fraction then fits the column it has. A column's
type is what targets cannot change well: MeltanoLabs target-postgres 0.8.1 keeps an
integer column and rounds 2400.5 to 2401; target-duckdb 0.8.0 moves the earlier
values to a renamed column (`future_field_20261201_0916`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

import msgspec

from tap_voiso.shared.errors import SchemaChangeError

EVOLVE, FREEZE, FAIL = "evolve", "freeze", "fail"
# A selection short of everything: a field nobody selected is dropped, quietly.
DROP = "drop"
Path = tuple[str, ...]


# Python types of decoded JSON, by JSON type (bool first: it is an int too). Integers
# are numbers: see above.
_KINDS = ((bool, "boolean"), (int, "number"), (float, "number"), (dict, "object"), (list, "array"))


def _kind(value: Any) -> str:
    """The JSON type of a decoded value."""
    if value is None:
        return "null"
    return next((kind for cls, kind in _KINDS if isinstance(value, cls)), "string")


def _node_kind(node: dict[str, Any]) -> str:
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else types
    return next((t for t in types if t != "null"), "string")


def _scalar(kind: str) -> dict[str, Any]:
    # A field seen only as null so far: a string column takes whatever comes later.
    return {"type": ["string" if kind == "null" else kind, "null"]}


def infer(value: Any) -> dict[str, Any]:
    """A nullable JSON schema for a first value (objects and arrays all the way down)."""
    kind = _kind(value)
    if kind == "object":
        properties = {key: infer(item) for key, item in value.items()}
        return {"type": ["object", "null"], "properties": properties}
    if kind == "array":
        items: dict[str, Any] | None = None
        for element in value:
            items = infer(element) if items is None else _widened(items, element) or items
        return {"type": ["array", "null"], "items": items or _scalar("null")}
    return _scalar(kind)


def _widened(node: dict[str, Any], value: Any) -> dict[str, Any] | None:
    """The wider node an inferred `node` needs to hold `value`; None when it fits."""
    if _kind(value) in ("null", _node_kind(node)) or _node_kind(node) == "string":
        return None  # a string field takes anything, as text (`as_text`)
    return _scalar("string")


def as_text(value: Any) -> Any:
    """A value for a string column: strings and nulls as they are, the rest as JSON text."""
    return value if value is None or isinstance(value, str) else msgspec.json.encode(value).decode()


class SchemaEvolution:
    """One stream's schema as this run's records reveal fields, in the API's record shape.

    `apply` walks a page's records: an undeclared field is declared (evolve), deleted
    from the record (freeze, or a selection short of everything) or refused (fail);
    a field declared by this run is widened when a value disagrees with it.
    """

    def __init__(
        self,
        schema: dict[str, Any],
        *,
        stream: str,
        mode: str,
        logger: logging.Logger,
        name: Callable[[Path], str] = ".".join,
    ) -> None:
        self.schema = copy.deepcopy(schema)
        self._stream = stream
        self._mode = mode
        self._logger = logger
        self._name = name  # how the stream's users know a field at `path`
        self._inferred: set[Path] = set()  # the properties this run declared
        self._dropped: set[Path] = set()

    def apply(self, records: list[Any]) -> bool:
        """Bring `records` (in place) and the schema in line; True when the schema changed.

        A page that changed the schema is walked again, so that its records before the
        change fit the final schema too (widening only goes one way: this ends).
        """
        changed = False
        while self._walk_page(records):
            changed = True
        return changed

    def _walk_page(self, records: list[Any]) -> bool:
        changed = False
        for record in records:
            if isinstance(record, dict):
                changed |= self._walk(record, self.schema, ())
        return changed

    def _walk(self, record: dict[str, Any], node: dict[str, Any], path: Path) -> bool:
        properties = node["properties"]
        changed = False
        for key in [k for k in record if k not in properties]:
            changed |= self._undeclared(record, key, properties, (*path, key))
        for key, value in record.items():
            here = (*path, key)
            if here in self._inferred:
                wider = _widened(properties[key], value)
                if wider is not None:
                    self._logger.info(
                        "%s: field `%s` now declared as %s (a value did not fit)",
                        self._stream,
                        self._name(here),
                        wider["type"][0],
                    )
                    properties[key] = wider
                    changed = True
                if _node_kind(properties[key]) == "string":
                    record[key] = as_text(value)
                    continue
            changed |= self._descend(value, properties[key], here)
        return changed

    def _descend(self, value: Any, node: dict[str, Any], path: Path) -> bool:
        if isinstance(value, dict) and "properties" in node:
            return self._walk(value, node, path)
        if isinstance(value, list) and isinstance(node.get("items"), dict):
            here, changed = (*path, "[]"), False
            for index, element in enumerate(value):
                if here in self._inferred:
                    wider = _widened(node["items"], element)
                    if wider is not None:
                        node["items"], changed = wider, True
                    if _node_kind(node["items"]) == "string":
                        value[index] = as_text(element)
                        continue
                if isinstance(element, dict) and "properties" in node["items"]:
                    changed |= self._walk(element, node["items"], here)
            return changed
        return False

    def _undeclared(
        self, record: dict[str, Any], key: str, properties: dict[str, Any], path: Path
    ) -> bool:
        field = self._name(path)
        if self._mode == EVOLVE:
            properties[key] = infer(record[key])
            self._inferred.update(_paths(properties[key], path))
            self._logger.info(
                "%s: new field `%s` (%s) declared in an updated SCHEMA message",
                self._stream,
                field,
                _node_kind(properties[key]),
            )
            return True
        if self._mode == FAIL:
            msg = (
                f"{self._stream}: record {record.get('id', '(without id)')} holds `{field}`, a "
                "field the schema does not declare, and `schema_changes` is `fail`. Set it to "
                "`evolve` to add the column, or `freeze` to drop the field."
            )
            raise SchemaChangeError(msg)
        del record[key]
        if self._mode == FREEZE and path not in self._dropped:
            self._dropped.add(path)
            self._logger.warning(
                "%s: dropped new field `%s`, which the schema does not declare "
                "(`schema_changes` is `freeze`)",
                self._stream,
                field,
            )
        return False


def _paths(node: dict[str, Any], path: Path) -> list[Path]:
    """`path` and every property path an inferred node declares below it."""
    found = [path]
    for key, sub in node.get("properties", {}).items():
        found += _paths(sub, (*path, key))
    if isinstance(node.get("items"), dict):
        found += _paths(node["items"], (*path, "[]"))
    return found
