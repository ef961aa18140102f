"""A directory list read whole by offset while it changes: every object listed throughout, once.

No HTTP: a list in memory that objects are created in (at the front, shifting every
offset after) and deleted from between page requests, served in the order the reader
asks or shuffled (pages requested together come back in any order of serving).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import pytest

from tap_voiso.directory.lists import OVERLAP, ListMovedError, ListPage, ListReader


class MovingList:
    """A list served by offset; every `churn_every`th page served, it changes first."""

    def __init__(self, size: int, churn_every: int, seed: int, *, total: bool = True) -> None:
        self.items = [f"u{i}" for i in range(size)]
        self.created = 0
        self.served = 0
        self.churn_every = churn_every
        self.rng = random.Random(seed)  # noqa: S311 (a test's churn, not a secret)
        self.total = total
        self.ever = set(self.items)
        self.gone: set[str] = set()
        self.requests = 0

    def _churn(self) -> None:
        self.created += 1
        new = f"new{self.created}"
        self.items.insert(0, new)
        self.ever.add(new)
        victim = self.rng.choice(self.items[1:])
        self.items.remove(victim)
        self.gone.add(victim)

    def page(self, offset: int, limit: int) -> ListPage:
        self.requests += 1
        self.served += 1
        if self.churn_every and self.served % self.churn_every == 0:
            self._churn()
        items = [{"id": i} for i in self.items[offset : offset + limit]]
        return ListPage(offset, items, len(self.items) if self.total else None)

    def throughout(self, start: set[str]) -> set[str]:
        """Listed from the first request to the last: there at the start, never deleted."""
        return start - self.gone

    def fetch_many(self, limit: int, shuffle: bool) -> object:
        def many(offsets: list[int]) -> Iterator[ListPage]:
            order = list(range(len(offsets)))
            if shuffle:
                self.rng.shuffle(order)
            pages = {i: self.page(offsets[i], limit) for i in order}
            for i in range(len(offsets)):
                yield pages[i]

        return many


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 250, 5000])
@pytest.mark.parametrize("total", [True, False])
def test_a_still_list_is_read_whole_once(size, total):
    moving = MovingList(size, churn_every=0, seed=1, total=total)
    reader = ListReader(moving.fetch_many(100, shuffle=True), 100, "users")
    ids = Counter(item["id"] for item in reader.objects())
    assert set(ids) == set(moving.items)
    assert max(ids.values(), default=1) == 1
    # Pages overlap by OVERLAP: about size / 90 requests, and one more to find the end.
    assert moving.requests <= max(1, -(-size // (100 - OVERLAP))) + 1


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("churn_every", [1, 3, 10])
def test_a_list_that_changes_between_pages_yields_every_object_listed_throughout_once(
    seed, churn_every
):
    moving = MovingList(2000, churn_every=churn_every, seed=seed)
    start = set(moving.items)
    reader = ListReader(moving.fetch_many(100, shuffle=True), 100, "users")
    ids = Counter(item["id"] for item in reader.objects())
    assert max(ids.values()) == 1  # no duplicates
    assert moving.throughout(start) <= set(ids)  # nothing listed throughout is missed
    assert set(ids) <= moving.ever  # and nothing that was never listed


def test_without_overlap_checks_a_deletion_before_a_page_loses_an_object():
    # What the checks guard: read naively (offsets step 100, no edge check), a deletion
    # at the front between two pages skips the object at the second page's edge.
    moving = MovingList(300, churn_every=0, seed=1)
    first = moving.page(0, 100)
    del moving.items[0]
    rest = [moving.page(offset, 100) for offset in (100, 200)]
    naive = {item["id"] for page in (first, *rest) for item in page.items}
    assert "u100" not in naive
    moving = MovingList(300, churn_every=0, seed=1)
    served = iter([False, True])  # the first page, then a deletion before the rest

    def many(offsets):
        if next(served, False):
            del moving.items[0]
        return iter([moving.page(offset, 100) for offset in offsets])

    ids = {item["id"] for item in ListReader(many, 100, "users").objects()}
    assert "u100" in ids


def test_a_list_that_moves_more_than_the_overlap_every_time_stops_the_run():
    def many(offsets):
        # Every request sees the list shifted by a whole page further.
        for offset in offsets:
            many.shift += 50
            start = offset + many.shift
            ids = range(start, min(start + 100, 10_000))
            yield ListPage(offset, [{"id": f"x{i}"} for i in ids], 10_000)

    many.shift = 0
    with pytest.raises(ListMovedError, match="kept changing while it was read"):
        list(ListReader(many, 100, "users").objects())


def test_an_api_that_ignores_offset_stops_the_run_instead_of_reading_forever():
    def many(offsets):
        for offset in offsets:
            yield ListPage(offset, [{"id": f"x{i}"} for i in range(100)], None)

    with pytest.raises(ListMovedError, match="ignore `offset`"):
        list(ListReader(many, 100, "users").objects())
