"""Checking a stream's records against its schema without slowing the common path.

Records are emitted as the API sent them (no SDK conformance), so a value of the
wrong type would only surface in the target, as a failed load. Each page is
therefore checked here, in two tiers:

- fast: msgspec decodes the page's records (from its bytes, or converts them from
  dicts) into types generated from the JSON schema (C speed, a few microseconds per
  record) and throws the result away; a page that passes needs nothing else, and
  that is nearly every page. The types refuse fields the schema does not declare, so
  the same check also finds a new field, at no extra cost (`evolution.py` handles it);
- slow, only for a page that fails: each record is walked in Python. A number sent
  as a string is turned back into the number; any other mismatch is passed through
  unchanged and reported once per field (which stream and object, which field, what was
  expected), then counted. A record without its key cannot be loaded, so it is
  reported and skipped: what the key is, and of which type, is the stream's rule
  (`keys`): a CDR's `id` and `started_at` as strings (its windows need them), a
  directory object's primary key, whatever its type.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any, Optional

import msgspec

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}
# Logged occurrences of one problem at one field before the rest are only counted.
LOG_LIMIT = 1
# What msgspec cannot take as a field's name in JSON.
UNNAMEABLE = re.compile(r'[\\"\x00-\x1f]')


def _msgspec_type(node: dict[str, Any], name: str) -> Any:
    """The msgspec type that accepts exactly what the JSON schema `node` allows.

    Objects become Structs whose fields are all optional and which refuse unknown
    keys: a page holding a field the schema does not declare fails the check, and is
    handed to `evolution.SchemaEvolution` before it is emitted.
    """
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    nullable = "null" in types
    kind = next((t for t in types if t != "null"), None)
    result: Any
    if kind == "object" and "properties" in node:
        required = set(node.get("required", []))
        # Attributes are named f0, f1, ...: a field Voiso adds need not be an identifier
        # (`msgspec.field(name=...)` is the key in the JSON).
        fields = [
            (f"f{index}", _msgspec_type(sub, f"{name}_{index}"), msgspec.field(name=key))
            if key in required
            else (
                f"f{index}",
                Optional[_msgspec_type(sub, f"{name}_{index}")],  # noqa: UP045
                msgspec.field(default=None, name=key),
            )
            for index, (key, sub) in enumerate(node["properties"].items())
            if not UNNAMEABLE.search(key)
        ]
        # A declared key msgspec cannot name (a quote, a backslash, a control character)
        # is left unchecked, and so, at that level only, are new ones.
        known = len(fields) == len(node["properties"])
        # gc=False: these Structs are built only to be thrown away and never form
        # cycles; left to the garbage collector, they cost three times as much.
        result = msgspec.defstruct(
            name, fields, kw_only=True, gc=False, forbid_unknown_fields=known
        )
    elif kind == "array":
        result = list[_msgspec_type(node.get("items", {}), f"{name}_item")]  # type: ignore[misc]
    else:
        result = {
            "string": str,
            "number": float,
            "integer": int,
            "boolean": bool,
            "object": dict,
        }.get(kind or "", Any)
    return Optional[result] if nullable else result  # noqa: UP045


def _describe_types(node: dict[str, Any]) -> str:
    types = node.get("type", [])
    return " or ".join([types] if isinstance(types, str) else types)


class RecordChecker:
    """Check pages of one stream's records against its schema; fix what is safe, report the rest.

    `keys` is the stream's rule of what a record cannot go without: each key field, and
    the Python type it must have (`object`: any value but null).
    """

    def __init__(
        self,
        schema: dict[str, Any],
        logger: logging.Logger,
        *,
        keys: Mapping[str, type],
        stream: str,
        items_key: str,
    ) -> None:
        self._logger = logger
        self._keys = dict(keys)
        self._stream = stream
        self._items_key = items_key
        self.problems: Counter[str] = Counter()
        self.use_schema(schema)

    def use_schema(self, schema: dict[str, Any]) -> None:
        """Check against `schema` from now on (after fields were declared), counts kept."""
        record_type = _msgspec_type(
            {**schema, "type": "object", "required": list(self._keys)}, "Record"
        )
        self._page_type = list[record_type]  # type: ignore[valid-type]
        # The same check straight from a page's bytes, building no dicts.
        self._page_decoder = msgspec.json.Decoder(
            msgspec.defstruct("Page", [(self._items_key, self._page_type)])
        )
        self._schema = schema

    def fits(self, records: list[dict[str, Any]]) -> bool:
        """Whether every record matches the schema, holding no field it does not declare."""
        try:
            msgspec.convert(records, self._page_type)
        except msgspec.ValidationError:
            return False
        return True

    def check_page(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The page's records, ready to emit: usually `records` itself, untouched."""
        if self.fits(records):
            return records
        return [fixed for record in records if (fixed := self._check_record(record)) is not None]

    def page_is_valid(self, body: bytes) -> bool:
        """Whether every record of a page's body matches the schema (no decoding to dicts)."""
        try:
            self._page_decoder.decode(body)
        except msgspec.ValidationError:
            return False
        return True

    def _check_record(self, record: Any) -> dict[str, Any] | None:
        if not isinstance(record, dict):
            self._report("record", "is not a JSON object", f"got {type(record).__name__}", record)
            return None
        for key, value in record.items():
            node = self._schema["properties"].get(key)
            if node is not None:
                record[key] = self._check_value(value, node, key, record)
        missing = [
            key
            for key, kind in self._keys.items()
            if record.get(key) is None or not isinstance(record[key], kind)
        ]
        if missing:
            kind = self._keys[missing[0]]
            what = "is missing" if kind is object else f"is missing or not a {_KIND_NAMES[kind]}"
            self._report(missing[0], f"{what}, so the record cannot be keyed", "skipped", record)
            return None
        return record

    def _check_value(self, value: Any, node: dict[str, Any], path: str, record: dict) -> Any:
        allowed = [t for t in _describe_types(node).split(" or ") if t]
        if not any(_is_json_type(value, t) for t in allowed):
            if isinstance(value, str) and ("number" in allowed or "integer" in allowed):
                number = _parse_number(value, integer="number" not in allowed)
                if number is not None:
                    self._report(
                        path, "is a number sent as a string", "converted to a number", record
                    )
                    return number
            expected = _describe_types(node)
            got = f"{type(value).__name__} {_excerpt(value)}"
            self._report(
                path, f"should be {expected}", f"got {got}; passed through unchanged", record
            )
            return value
        if isinstance(value, dict) and "properties" in node:
            for key, item in value.items():
                sub = node["properties"].get(key)
                if sub is not None:
                    value[key] = self._check_value(item, sub, f"{path}.{key}", record)
        elif isinstance(value, list) and "items" in node:
            for index, item in enumerate(value):
                value[index] = self._check_value(item, node["items"], f"{path}[]", record)
        return value

    def _report(self, path: str, problem: str, outcome: str, record: Any) -> None:
        key = f"`{path}` {problem}"
        self.problems[key] += 1
        count = self.problems[key]
        if count <= LOG_LIMIT:
            label = self._label(record)
            more = " (further cases are counted, not logged)" if count == LOG_LIMIT else ""
            self._logger.warning("%s %s: %s: %s%s", self._stream, label, key, outcome, more)

    def _label(self, record: Any) -> str:
        """The object a problem is in, by its key's values as they came."""
        if not isinstance(record, dict):
            return "(not an object)"
        given = [record.get(key) for key in self._keys if key != "started_at"]
        given = [value for value in given if value is not None]
        shown = [value if isinstance(value, str) else _excerpt(value) for value in given]
        return "/".join(_shorter(text) for text in shown) if shown else "(without its key)"

    def log_summary(self) -> None:
        """One line per kind of problem met during the run, with its count."""
        for key, count in self.problems.most_common():
            self._logger.warning(
                "Schema mismatches this run: %s: %s, %d record(s)", self._stream, key, count
            )


_KIND_NAMES = {str: "string", int: "integer", float: "number"}


def _is_json_type(value: Any, json_type: str) -> bool:
    if json_type in ("number", "integer") and isinstance(value, bool):
        return False
    return isinstance(value, _JSON_TYPES.get(json_type, (object,)))


def _parse_number(text: str, *, integer: bool) -> int | float | None:
    try:
        return int(text) if integer else float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return None


def _shorter(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _excerpt(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
