"""The state a run starts from: read, unwrapped and checked before the first request.

A state the tap cannot use must stop the run naming the file and what is wrong with
it, not with a raw Python error from deep inside the SDK; and Meltano's own shape
(`{"singer_state": {...}}`, what `meltano state get` prints) is accepted as the state
it wraps rather than ignored (which would silently re-read everything).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tap_voiso.cdrs.windows import iso_ms, to_ms
from tap_voiso.settings import parse_datetime
from tap_voiso.shared.errors import StateError

RESET = (
    "Fix it, or reset the state: `meltano state clear <state id>` (Meltano), or run "
    "without `--state` (a full re-read from `start_date`)."
)


def parse(text: str, source: str) -> dict[str, Any]:
    """The state in a state file's text; `source` names the file in errors."""
    if not text.strip():
        msg = f"The state file {source} is empty: it must hold a JSON object. {RESET}"
        raise StateError(msg)
    try:
        state = json.loads(text)
    except (ValueError, RecursionError) as exc:
        msg = f"The state file {source} is not JSON ({exc}). {RESET}"
        raise StateError(msg) from None
    return checked(state, f"the state file {source}")


def checked(state: Any, source: str = "the state") -> dict[str, Any]:
    """`state` unwrapped from Meltano's `singer_state`, once its shape and bookmarks check out."""
    if isinstance(state, dict) and set(state) == {"singer_state"}:
        state = state["singer_state"]
    if not isinstance(state, dict):
        msg = (
            f'{source.capitalize()} must be a JSON object such as {{"bookmarks": {{"cdrs": '
            f"{{...}}}}}}, not {_kind(state)}. {RESET}"
        )
        raise StateError(msg)
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        msg = (
            f"In {source}, `bookmarks` must be an object (one per stream), "
            f"not {_kind(bookmarks)}. {RESET}"
        )
        raise StateError(msg)
    for stream, stream_state in bookmarks.items():
        if not isinstance(stream_state, dict):
            msg = (
                f"In {source}, the bookmark of stream `{stream}` must be an object, "
                f"not {_kind(stream_state)}. {RESET}"
            )
            raise StateError(msg)
        value = stream_state.get("replication_key_value")
        if value is not None and not _is_date(value):
            msg = (
                f"In {source}, the bookmark of stream `{stream}` (`replication_key_value`) "
                f"is {value!r}, not an ISO 8601 date time such as 2026-01-31T00:00:00.000Z. {RESET}"
            )
            raise StateError(msg)
    return state


def in_one_format(state: Mapping[str, Any]) -> None:
    """Rewrite, in place, each bookmark of a checked state in the one format (`iso_ms`).

    A state written by an older version, or by hand (`...+00:00`, no milliseconds),
    then reads like every STATE this tap writes; the SDK compares bookmarks as strings.
    """
    for bookmark in state.get("bookmarks", {}).values():
        value = bookmark.get("replication_key_value")
        if isinstance(value, str):
            bookmark["replication_key_value"] = iso_ms(to_ms(parse_datetime(value)))


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_datetime(value)
    except (ValueError, IndexError, OverflowError):
        return False
    return True


def _kind(value: Any) -> str:
    """What a JSON value is, in words."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")
