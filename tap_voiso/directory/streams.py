"""The directory streams: `users`, `campaigns`, `queues`, `queue_members`.

Each is a small class on the shared layer: a path, a scope, a schema, and how its
lists are read (`lists.ListReader`: limit 100, offsets, the rest of a list at once).
No modification time is documented for these objects, so each run reads them whole
(FULL_TABLE). Each is optional, and none can cost the CDR sync:

- a key without a stream's scope (a CDR-only key, the common case) gets 403 there, and
  a cluster without the endpoint (no dialer: no `/api/v4/campaigns`) 404: that stream
  emits its SCHEMA and no records, one WARNING says why and what to do, and every other
  stream runs as usual (exit 0);
- any other failure (a 5xx that outlasts `max_tries`, a list that keeps moving) is
  logged as an ERROR naming the stream and the path, and kept (`tap.optional_failures`):
  the other streams are read, their STATE written, and then the run ends with exit 1.

A record is keyed on the stream's own primary key, whatever its type (`record_keys`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, ClassVar, TypeVar

import msgspec
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_voiso.directory.lists import ListPage, ListReader
from tap_voiso.directory.schemas import (
    CAMPAIGN_PROPERTIES,
    QUEUE_MEMBER_PROPERTIES,
    QUEUE_PROPERTIES,
    USER_PROPERTIES,
    schema_of,
)
from tap_voiso.shared.errors import MissingScopeError, NotFoundError, VoisoError
from tap_voiso.shared.evolving import EvolvingStream
from tap_voiso.shared.passthrough import tap_of
from tap_voiso.shared.redact import SECRETS
from tap_voiso.shared.stream import VoisoStream

A = TypeVar("A")
R = TypeVar("R")
# The most a directory page holds (a larger `limit` is a 422). Not the CDR `page_size`.
DIRECTORY_LIMIT = 100
AGENT, SUPERVISOR = "agent", "supervisor"


def _parse(key: str) -> Callable[[requests.Response, bytes], tuple[list[Any], int | None]]:
    """A body's `key` array (or object) and `metadata.total`; another shape is retried."""

    def parse(response: requests.Response, body: bytes) -> tuple[list[Any], int | None]:
        try:
            decoded = msgspec.json.decode(SECRETS.scrub_bytes(body))
        except (msgspec.DecodeError, RecursionError):
            decoded = None
        items = decoded.get(key) if isinstance(decoded, dict) else None
        if isinstance(items, dict):  # one object: `{"queue": {...}}`
            items = [items]
        if not isinstance(items, list):
            msg = f"HTTP {response.status_code} but the body holds no `{key}` list"
            raise RetriableAPIError(msg, response)
        metadata = decoded.get("metadata") if isinstance(decoded, dict) else None
        total = metadata.get("total") if isinstance(metadata, dict) else None
        ok = isinstance(total, int) and not isinstance(total, bool) and total >= 0
        return [item for item in items if isinstance(item, dict)], total if ok else None

    return parse


class DirectoryStream(EvolvingStream, VoisoStream):
    """A directory list read whole each run, by limit and offset."""

    primary_keys: ClassVar[tuple[str, ...]] = ("id",)
    replication_key = None
    # On request, as the channel streams: a catalog (or Meltano's `select`) names them,
    # and a run given no catalog reads CDRs only, as before these streams existed.
    selected_by_default = False
    # The key the response's array is under (`{"users": [...], "metadata": {...}}`).
    items_key: ClassVar[str]

    @property
    def schema_changes(self) -> str:
        """The `schema_changes` setting: the same for the directory as for CDRs."""
        return self.settings.schema_changes

    @property
    def api_schema(self) -> dict[str, Any]:  # type: ignore[override]
        """The stream's records as the API sends them: its own schema."""
        return self.schema

    @property
    def record_keys(self) -> dict[str, type]:
        """A directory object is keyed on the stream's primary key, of whatever type it came."""
        return dict.fromkeys(self.primary_keys, object)

    def request_for(self, path: str, params: dict[str, Any]) -> requests.PreparedRequest:
        """The exact GET of `path` with `params` (auth as every stream's)."""
        return self.build_prepared_request(
            method="GET", url=f"{self.url_base}{path}", params=params, headers=self.http_headers
        )

    def fetch(
        self, path: str, params: dict[str, Any], key: str, stop: threading.Event
    ) -> tuple[list[Any], int | None]:
        """One response's objects and total, retried as any request."""
        prepared = self.request_for(path, params)
        return self.api.call(
            lambda: self.attempt(prepared, stop, _parse(key)),
            stop,
            reading=f"reading {path}",
            then="The directory is read whole each run: the next run reads it again.",
            page_size=DIRECTORY_LIMIT,
        )

    def read_list(self, path: str, key: str, stop: threading.Event) -> Iterator[dict[str, Any]]:
        """Every object of the list at `path`, once (`ListReader`)."""

        def one(offset: int) -> ListPage:
            params = {"limit": DIRECTORY_LIMIT, "offset": offset}
            items, total = self.fetch(path, params, key, stop)
            return ListPage(offset, items, total)

        return ListReader(self._at_once(one), DIRECTORY_LIMIT, key).objects()

    def _at_once(self, one: Callable[[A], R]) -> Callable[[list[A]], Iterator[R]]:
        """`one` over several arguments together, in order (request slots cap them)."""

        def many(arguments: list[A]) -> Iterator[R]:
            if not arguments:
                return
            if len(arguments) == 1:
                yield one(arguments[0])
                return
            workers = min(len(arguments), self.settings.concurrency)
            with ThreadPoolExecutor(workers, thread_name_prefix=self.name) as pool:
                yield from pool.map(one, arguments)

        return many

    def objects(self, stop: threading.Event) -> Iterator[dict[str, Any]]:
        """The stream's records, in the API's shape."""
        return self.read_list(self.path, self.items_key, stop)

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """The whole list, checked and evolved, a page of items at a time.

        A 403 or a 404 skips the stream with a WARNING; any other failure is kept for the
        end of the run (`TapVoiso.sync_all`), so that it costs no other stream.
        """
        stop = threading.Event()
        page: list[dict[str, Any]] = []
        count = 0
        try:
            for record in self.objects(stop):
                page.append(record)
                if len(page) == DIRECTORY_LIMIT:
                    yield from self._items(page)
                    count, page = count + len(page), []
            yield from self._items(page)
        except MissingScopeError:
            self.logger.warning(
                "Stream `%s` skipped: the API key lacks the `%s` scope (HTTP 403). Add the "
                "scope to the key in Voiso to load it; the other streams are read as usual.",
                self.name,
                self.scope,
            )
            return
        except NotFoundError:
            self.logger.warning(
                "Stream `%s` skipped: GET %s answers HTTP 404 Not Found, so this cluster has no "
                "such list (a feature it lacks). The other streams are read as usual. To stop "
                "this warning, deselect the stream (Meltano: `meltano select tap-voiso "
                "--rm %s '*'`, or drop `%s.*` from the extractor's `select`).",
                self.name,
                self.path,
                self.name,
                self.name,
            )
            return
        except Exception as exc:
            tap_of(self).optional_failed(self.name, self.path, exc)
            return
        finally:
            stop.set()
        self.checker.log_summary()
        self.logger.info("%s: %d records (read whole)", self.name, count + len(page))

    def _items(self, records: list[dict[str, Any]]) -> list[Any]:
        return self.page_items(self.conformed(records), datetime.now(timezone.utc))

    # The list `--test` asks for one object of (the queue list for `queue_members`).
    probe_key: ClassVar[str | None] = None

    def can_read(self) -> str:
        """One request: what `--test` says of this stream."""
        stop = threading.Event()
        try:
            self.fetch(self.path, {"limit": 1}, self.probe_key or self.items_key, stop)
        except MissingScopeError:
            return f"{self.name}: no (the key lacks the `{self.scope}` scope)"
        except NotFoundError:
            return f"{self.name}: no list at {self.path} (HTTP 404): deselect the stream"
        except VoisoError as exc:
            return f"{self.name}: could not tell ({exc})"
        return f"{self.name}: yes"


class UsersStream(DirectoryStream):
    """Users with the teams they belong to and supervise: `GET /api/v4/users`."""

    name = "users"
    path = "/api/v4/users"
    items_key = "users"
    scope = "users.read"
    schema = schema_of(USER_PROPERTIES)


class CampaignsStream(DirectoryStream):
    """Dialer campaigns: `GET /api/v4/campaigns`."""

    name = "campaigns"
    path = "/api/v4/campaigns"
    items_key = "campaigns"
    scope = "campaigns.read"
    schema = schema_of(CAMPAIGN_PROPERTIES)


class QueuesStream(DirectoryStream):
    """Queues: the list when it answers, else each queue the CDRs have named, by id.

    The list endpoint is not documented (the queue page refers to it); a queue's own
    endpoint is. The queue ids the CDRs show (`data.queue.id`, this run's and every
    earlier run's, kept in this stream's state) are its fallback.
    """

    name = "queues"
    path = "/api/v4/routing/queues"
    items_key = "queues"
    scope = "routing.queues.read"
    schema = schema_of(QUEUE_PROPERTIES)

    @property
    def seen_in_cdrs(self) -> set[int]:
        """Queue ids the CDRs have named: earlier runs' (state) and this run's."""
        known = self.stream_state.get("queue_ids_in_cdrs") or []
        earlier = {i for i in known if isinstance(i, int) and not isinstance(i, bool)}
        return earlier | tap_of(self).cdr_queue_ids

    def objects(self, stop: threading.Event) -> Iterator[dict[str, Any]]:
        """This run's queues: read once, whichever of `queues` and `queue_members` asks first.

        (The SDK syncs streams by name: `queue_members` comes before `queues`.)
        """
        if self.failure is not None:
            raise self.failure
        if not hasattr(self, "read"):
            try:
                self.read = list(self._read(stop))
            except VoisoError as exc:  # the other of the two fails alike, without retrying
                self.failure = exc
                raise
        yield from self.read

    read: list[dict[str, Any]]  # this run's queues, once read
    failure: VoisoError | None = None  # why they could not be read, once tried

    def _read(self, stop: threading.Event) -> Iterator[dict[str, Any]]:
        """The queue list; without one (404), each queue the CDRs have named."""
        listed: list[int] = []
        try:
            for queue in self.read_list(self.path, self.items_key, stop):
                self._note(listed, queue)
                yield queue
        except NotFoundError:
            self.logger.info(
                "No queue list at %s (HTTP 404): reading the %d queue(s) the CDRs have named, "
                "one by one",
                self.path,
                len(self.seen_in_cdrs),
            )
            yield from self._by_id(sorted(self.seen_in_cdrs), listed, stop)
        self.listed = listed
        self._remember()

    @staticmethod
    def _note(listed: list[int], queue: dict[str, Any]) -> None:
        """Keep a queue's id, an integer, also when it came as a string of digits."""
        queue_id = queue.get("id")
        if isinstance(queue_id, str) and queue_id.isdigit():
            queue_id = int(queue_id)
        if isinstance(queue_id, int) and not isinstance(queue_id, bool):
            listed.append(queue_id)

    def _by_id(
        self, ids: list[int], listed: list[int], stop: threading.Event
    ) -> Iterator[dict[str, Any]]:
        def one(queue_id: int) -> dict[str, Any] | None:
            try:
                items, _ = self.fetch(f"{self.path}/{queue_id}", {}, "queue", stop)
            except NotFoundError:
                self.logger.info("Queue %d answers 404 (deleted in Voiso): skipped", queue_id)
                return None
            return items[0] if items else None

        for queue in self._at_once(one)(ids):
            if queue is not None:
                self._note(listed, queue)
                yield queue

    def _remember(self) -> None:
        """Keep the queue ids the CDRs have named in this stream's state, for later runs."""
        self.stream_state["queue_ids_in_cdrs"] = sorted(self.seen_in_cdrs)

    def queue_ids(self, stop: threading.Event) -> list[int]:
        """The ids of this run's queues: as emitted, else read now (nothing emitted)."""
        for _ in self.objects(stop):
            pass
        return list(self.listed)

    listed: list[int]  # this run's queue ids, once read


class QueueMembersStream(DirectoryStream):
    """Who works which queue: each queue's agents and supervisors, one row per membership."""

    name = "queue_members"
    path = "/api/v4/routing/queues"
    items_key = "users"
    probe_key = "queues"
    scope = "routing.queues.read"
    primary_keys = ("queue_id", "user_id", "role")
    schema = schema_of(QUEUE_MEMBER_PROPERTIES)

    def objects(self, stop: threading.Event) -> Iterator[dict[str, Any]]:
        """Every membership of every queue; a queue deleted meanwhile (404) is skipped."""
        queues: QueuesStream = tap_of(self).streams["queues"]
        lists = [
            (queue_id, role) for queue_id in queues.queue_ids(stop) for role in (AGENT, SUPERVISOR)
        ]

        def one(entry: tuple[int, str]) -> list[dict[str, Any]]:
            queue_id, role = entry
            tail = "users" if role == AGENT else "supervisors"
            try:
                users = self.read_list(f"{self.path}/{queue_id}/{tail}", "users", stop)
                return [_membership(queue_id, role, user) for user in users]
            except NotFoundError:
                self.logger.info("Queue %d answers 404 (deleted in Voiso): skipped", queue_id)
                return []

        for members in self._at_once(one)(lists):
            yield from members


def _membership(queue_id: int, role: str, user: dict[str, Any]) -> dict[str, Any]:
    """One row: the queue, the user's id, the role; the user as the queue lists them."""
    rest = {k: v for k, v in user.items() if k != "id"}
    return {
        "queue_id": queue_id,
        "user_id": user.get("id"),
        "role": role,
        "name": user.get("name"),
        "email": user.get("email"),
        "user": rest,
    }


DIRECTORY_STREAMS: tuple[type[DirectoryStream], ...] = (
    UsersStream,
    CampaignsStream,
    QueuesStream,
    QueueMembersStream,
)
