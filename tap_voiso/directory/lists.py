"""Reading a directory list whole by `limit` and `offset`, while it may change under us.

The directory endpoints page by offset only (at most 100 a page; no cursor, no
modification time, no documented order). An object created or deleted between two
page requests shifts every offset after it: read naively, the object at a page's
edge is skipped (a deletion before it) or comes twice (a creation). So:

- **Pages overlap** by `OVERLAP` objects (offsets step `limit - OVERLAP`), and are
  requested at once once the first page's `metadata.total` says how many there are.
- **Each edge is checked**: a page's first object must be among the page before it.
  An edge that is not (the list moved by more than the overlap between the two
  requests) has both pages requested again, together, up to `EDGE_TRIES` times; then
  the run stops rather than miss an object silently.
- **The end is a short page**, not the total's word: a list that grew past its
  total is read on until a page comes back short.
- Objects are handed on once each, by `id`, in the order first seen.

Every object listed from the first request to the last is thus read exactly once;
one created or deleted meanwhile may or may not be (it was not listed throughout).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tap_voiso.shared.errors import VoisoError

# Objects each page shares with the next: the list may move by this many between them.
OVERLAP = 10
# Tries at reading a moving edge again before the run stops.
EDGE_TRIES = 3


class ListMovedError(VoisoError):
    """A directory list kept changing faster than its pages could be read together."""


@dataclass(frozen=True)
class ListPage:
    """One page of a directory list: its offset, objects and `metadata.total` (if any)."""

    offset: int
    items: list[dict[str, Any]]
    total: int | None


# Requests pages at these offsets together; yields them in the order asked.
FetchMany = Callable[[list[int]], Iterator[ListPage]]


def _key(item: dict[str, Any]) -> Any:
    return item.get("id")


def _joined(before: ListPage, after: ListPage) -> bool:
    """Whether `after` starts within `before` (no object can lie between the two)."""
    if not after.items:
        return True
    first = _key(after.items[0])
    return any(_key(item) == first for item in before.items)


class ListReader:
    """Reads one list whole; `objects()` yields each object once (see the module docstring)."""

    def __init__(self, fetch_many: FetchMany, limit: int, name: str) -> None:
        self._fetch_many = fetch_many
        self._limit = limit
        self._step = max(1, limit - OVERLAP)
        self._name = name
        self._seen: set[Any] = set()
        self.requests = 0

    def _fetch(self, offsets: list[int]) -> list[ListPage]:
        self.requests += len(offsets)
        return list(self._fetch_many(offsets))

    def _fresh(self, page: ListPage) -> list[dict[str, Any]]:
        """The page's objects not handed on yet (an object without an id always goes on)."""
        fresh = []
        for item in page.items:
            key = _key(item)
            if key is None or key not in self._seen:
                if key is not None:
                    self._seen.add(key)
                fresh.append(item)
        return fresh

    def objects(self) -> Iterator[dict[str, Any]]:
        """Every object of the list, once."""
        (first,) = self._fetch([0])
        if len(first.items) < self._limit:
            yield from self._fresh(first)
            return
        planned = [] if first.total is None else list(range(self._step, first.total, self._step))
        pages = [first]
        if planned:
            pages += self._fetch(planned)
        while len(pages[-1].items) >= self._limit:  # the end is a short page
            (page,) = self._fetch([pages[-1].offset + self._step])
            known = {_key(item) for item in pages[-1].items}
            if len(page.items) >= self._limit and {_key(item) for item in page.items} <= known:
                msg = (
                    f"The {self._name} list's page at offset {page.offset} holds nothing the "
                    f"page before it did not: the API seems to ignore `offset`. Stopping "
                    "rather than read it forever."
                )
                raise ListMovedError(msg)
            pages.append(page)
        yield from self._fresh(first)
        for index in range(1, len(pages)):
            if not _joined(pages[index - 1], pages[index]):
                yield from self._fresh(pages[index])  # listed then: handed on all the same
                pages[index - 1], pages[index] = self._mend(pages[index - 1], pages[index])
                yield from self._fresh(pages[index - 1])
            yield from self._fresh(pages[index])

    def _mend(self, before: ListPage, after: ListPage) -> tuple[ListPage, ListPage]:
        """Both pages of an edge the list moved across, read again together until they join."""
        for _ in range(EDGE_TRIES):
            before, after = self._fetch([before.offset, after.offset])
            if _joined(before, after):
                return before, after
        msg = (
            f"The {self._name} list kept changing while it was read: objects at offset "
            f"{after.offset} moved by more than {OVERLAP} between two requests made together, "
            f"{EDGE_TRIES} times. Stopping rather than miss one; run the tap again."
        )
        raise ListMovedError(msg)
