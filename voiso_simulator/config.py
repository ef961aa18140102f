"""The simulator's switches (`SimConfig`), its API keys and their scopes, its limits, and
what every endpoint shares: the error responses (`ApiError`) and integer parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

API_PATH = "/api/v4/reporting/cdrs"
MAX_LIMIT = 1000
OFFSET_CAP = 10000
DEFAULT_KEY = "sim-secret-key"
FORBIDDEN_KEY = "sim-key-without-reporting-scope"
# A key with the CDR scope only: the common case today (the directory answers it 403).
CDR_ONLY_KEY = "sim-cdr-only-key"
CDR_SCOPE = "reporting.cdrs.read"
USERS_SCOPE = "users.read"
CAMPAIGNS_SCOPE = "campaigns.read"
QUEUES_SCOPE = "routing.queues.read"
ALL_SCOPES = [CDR_SCOPE, USERS_SCOPE, CAMPAIGNS_SCOPE, QUEUES_SCOPE]
COMPARATORS = ("gte", "gt", "lte", "lt")
FAULT_KINDS = (
    "500",
    "502",
    "503",
    "drop",
    "html",
    "truncated",
    "no_cdrs",
    "null_cdrs",
    "no_metadata",
)
ARRAY_FILTERS = {
    "type": "type",
    "subtype": "subtype",
    "disposition": "disposition",
    "account_id": "account_id",
}
SINGLE_FILTERS = (
    "user_id",
    "team_id",
    "queue_id",
    "campaign_id",
    "from_phone_number",
    "to_phone_number",
    "from_phone_number_like",
    "to_phone_number_like",
    "tag",
)
PAGING_PARAMS = {"limit", "offset", "cursor"}
# Queries whose latest cursor a mixing cursor cache (`cursor_mix_every`) remembers.
MIXED_QUERIES_KEPT = 16


@dataclass
class SimConfig:
    """Behaviour switches; every field can be changed while the server runs."""

    api_key: str = DEFAULT_KEY
    forbidden_key: str = FORBIDDEN_KEY
    latency_ms: float = 0.0
    # Record order, which the reference leaves open: asc, desc or shuffle.
    order: str = "asc"
    # The last page's cursor, also left open: null, absent, or present (then an
    # extra request returns an empty page with a null cursor).
    last_page: str = "null"
    # Every Nth page of a query comes back empty but with a cursor to go on.
    empty_page_every: int = 0
    # repeat: every cursor request answers with the same cursor (A, A).
    # cycle: the second cursor request answers with the first cursor (A, B, A).
    # backwards: every cursor request answers with a fresh cursor to the same page.
    # overlap: every cursor request answers with a fresh cursor to the page's middle.
    cursor_fault: str = "none"
    fault_rate: float = 0.0
    fault_mix: list[str] = field(default_factory=lambda: ["500", "502", "503", "drop", "html"])
    fault_seed: int = 1
    # Statuses or fault kinds served, in order, to the next requests ("429", "500", "drop", ...).
    fail_next: list[str] = field(default_factory=list)
    # A token bucket: this many requests a second on average, as many at once after a
    # quiet second; beyond, 429 with a Retry-After of the wait for the next token
    # (in `retry_after` form, never less than `retry_after_seconds`). 0: no limit.
    rate_limit_per_second: float = 0
    retry_after: str = "seconds"  # seconds, date or none
    retry_after_seconds: int = 1
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    # Visibility clock (epoch ms): a CDR is served once its ended_at has passed, plus
    # `listing_delay_ms`. None: every CDR is served, finished, at once.
    clock_ms: int | None = None
    listing_delay_ms: int = 0
    # Listed while open: from started_at (plus the delay) a CDR is served with
    # `ended_at: null`, and its finished version replaces it once that is listed.
    open_listing: bool = False
    # Schema drift: fields the reference does not list, and a fifth CDR type.
    drift: bool = False
    # New fields mid-run: from the middle CDR on, a top-level `account_id`; every 5th of
    # those also a new `data.future_field`, an integer, then (last quarter) a fraction.
    new_fields: bool = False
    # "next_cursor is returned when cursor-based pagination is supported": False serves
    # no cursor at all (limit/offset only, first 10,000), and ignores any cursor sent.
    cursors: bool = True
    # Every Nth request that carries a cursor finds it expired: invalid, so the API
    # falls back to `offset` as documented.
    cursor_expire_every: int = 0
    # What an expired cursor gets (the reference does not say): "offset", the
    # documented fallback; "empty", a last page, `{"cdrs": [], next_cursor: null}`.
    expired_cursor: str = "offset"
    # A cursor cache that mixes requests: every Nth response that carries a cursor
    # carries instead the cursor last issued for another query (another window read
    # at the same time), when there is one. 0: never.
    cursor_mix_every: int = 0
    # False: `metadata.total` is left out of every response.
    send_total: bool = True
    # Added to every `metadata.total`: a count the listing never delivers.
    total_bias: int = 0
    # The next N pages each leave out their first CDR (the total still counts it).
    omit_next: int = 0
    # A search-backed count: `metadata.total` is at most this ("10,000 or more"). 0: exact.
    total_cap: int = 0
    # Cursors padded to at least this many characters (an opaque cursor may be long).
    cursor_bytes: int = 0
    # A CDR (an object) the API appends to every page it serves, whatever was asked.
    intruder: dict[str, Any] | None = None
    # A server (or proxy) that echoes the request's Authorization header into its error
    # responses: "body" (in the JSON body), "html" (an HTML error page), "reason" (the
    # status line's reason phrase), or "none".
    echo_auth: str = "none"

    # -- the directory (users, campaigns, queues: `voiso_simulator.directory`) ------
    # The scopes of each key. `api_key` has `key_scopes[api_key]`, every scope when it
    # is not there; any other key listed here (but DEFAULT_KEY, unless it is `api_key`)
    # is accepted too, with its scopes. A known key without an endpoint's scope: 403.
    key_scopes: dict[str, list[str]] = field(
        default_factory=lambda: {DEFAULT_KEY: list(ALL_SCOPES), CDR_ONLY_KEY: [CDR_SCOPE]}
    )
    # False: the undocumented `GET /api/v4/routing/queues` answers 404 (by id still works).
    queue_list: bool = True
    # False: the directory's list endpoints leave `metadata.total` out.
    directory_total: bool = True
    # Every Nth directory list page served (users, campaigns and queues counted together)
    # first changes its list: one object created at the front of the order (every later
    # offset shifts by one), and one listed object deleted. 0: never.
    list_churn: int = 0
    # CDRs carry user ids that are not the directory's (numeric strings), with the same
    # e-mail, its case changed on some: the two match only by e-mail, case-insensitively.
    foreign_user_ids: bool = False
    # A large center: this many more agents (users no CDR names, in teams and queues)
    # and queues, read when the directory is first built.
    extra_users: int = 0
    extra_queues: int = 0
    # What the directory reference leaves open, on every list (users, campaigns, queues,
    # a queue's users and supervisors; `directory.served` says exactly what changes):
    # fields the tap does not declare, at the top and nested in objects and arrays...
    directory_new_fields: bool = False
    # ...and values of another JSON type than the reference shows: numbers sent as
    # strings (a queue's `id`, a campaign's `dial_level`), strings sent as numbers (an
    # `extension`).
    directory_other_types: bool = False
    # Directory endpoints this cluster lacks, by resource: "users", "campaigns" or
    # "queues" (the list, each queue and its members) answer 404 `{"error": "Not found"}`.
    absent_endpoints: list[str] = field(default_factory=list)
    # Directory lists (by resource) whose every request answers 503: a 5xx that never ends.
    failing_lists: list[str] = field(default_factory=list)


class ApiError(Exception):
    """An error response the simulated API sends, with its status and JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def int_param(
    text: str, name: str, low: int, high: int | None, errors: dict[str, list[str]]
) -> int:
    """`text` as an integer in `low..high` (no upper bound when None), else a 422 message
    under `name` in `errors` (and `low`)."""
    try:
        value = int(text)
    except ValueError:
        errors.setdefault(name, []).append("must be an integer")
        return low
    if high is None and value < low:
        errors.setdefault(name, []).append(f"must be greater than or equal to {low}")
    elif high is not None and not low <= value <= high:
        errors.setdefault(name, []).append(f"must be between {low} and {high}")
    return value
