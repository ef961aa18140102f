"""The tap's settings: their JSON schema, and the checks a schema cannot express.

Also how settings become the API's base URL and filter parameters.

Everything a user can get wrong is caught here, before the first request, with a
message that names the setting and what it expects: a backfill that dies an hour in
because of a typo in `end_date` costs far more than a strict start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from singer_sdk import typing as th

from tap_voiso.shared.redact import display_url

MAX_PAGE_SIZE = 1000
# Limit/offset paging reaches only the first 10,000 CDRs of a result set.
OFFSET_CAP = 10_000
DEFAULT_LOOKBACK_MINUTES = 30
MAX_LOOKBACK_MINUTES = 10 * 366 * 1440  # ten years
EARLIEST_DATE = datetime(1970, 1, 1, tzinfo=timezone.utc)
DEFAULT_WINDOW_RECORDS = OFFSET_CAP
DEFAULT_MAX_TRIES = 8
DEFAULT_RATE_LIMIT_PATIENCE_SECONDS = 600
DEFAULT_CONCURRENCY = 12
DEFAULT_REQUEST_TIMEOUT = 60
DEFAULT_PROGRESS_SECONDS = 5.0
SCHEMA_CHANGES = ("evolve", "freeze", "fail")

# Setting name -> the API's array parameter (sent as repeated `name[]=value`).
ARRAY_FILTERS = {
    "types": "type",
    "subtypes": "subtype",
    "dispositions": "disposition",
    "account_ids": "account_id",
}
# Settings sent as-is under the same name.
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
API_KEY_PATTERN = re.compile(r"[\x21-\x7e]+")
CLUSTER_ID_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "api_key",
        th.StringType,
        required=True,
        secret=True,
        title="API key",
        description="Contact center API key with the `reporting.cdrs.read` scope.",
    ),
    th.Property(
        "cluster_id",
        th.StringType,
        title="Cluster ID",
        description="Your Voiso cluster: the API is reached at `https://{cluster_id}.voiso.com`. "
        "One of `cluster_id` or `api_url` is required.",
    ),
    th.Property(
        "api_url",
        th.StringType,
        title="API base URL",
        description="Full base URL instead of `cluster_id` (a proxy, or the local simulator), "
        "e.g. `http://127.0.0.1:8765`. Takes precedence over `cluster_id`.",
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start date",
        description="Earliest `started_at` to sync (ISO 8601). Absent: the whole history.",
    ),
    th.Property(
        "end_date",
        th.DateTimeType,
        title="End date",
        description="Exclusive upper bound on `started_at` (ISO 8601). "
        "Absent: the run's start time.",
    ),
    th.Property(
        "page_size",
        th.IntegerType(minimum=1, maximum=MAX_PAGE_SIZE),
        default=MAX_PAGE_SIZE,
        title="Page size",
        description="CDRs per request, 1 to 1000. The API's maximum means the fewest requests.",
    ),
    th.Property(
        "lookback_minutes",
        th.IntegerType(minimum=0, maximum=MAX_LOOKBACK_MINUTES),
        default=DEFAULT_LOOKBACK_MINUTES,
        title="Lookback (minutes)",
        description="Margin for the API's delay in listing a CDR after it ends. Each incremental "
        "run also reads CDRs that started before the bookmark and ended at most this long "
        "before it, so a CDR listed up to this late (or a field written this long after the "
        "end) is still caught.",
    ),
    th.Property(
        "window_records",
        th.IntegerType(minimum=MAX_PAGE_SIZE, maximum=OFFSET_CAP),
        default=DEFAULT_WINDOW_RECORDS,
        title="Records per window",
        description="Largest number of CDRs read in one time window, 1000 to 10000 (what "
        "offset paging can reach, should the API stop sending cursors); a STATE checkpoint "
        "follows each window, so this bounds what an interrupted run re-reads.",
    ),
    th.Property(
        "concurrency",
        th.IntegerType(minimum=1, maximum=32),
        default=DEFAULT_CONCURRENCY,
        title="Parallel windows",
        description="Time windows read at the same time (each a chain of pages), and the most "
        "requests in flight at once; output stays in window order. 1 reads one window at a "
        "time.",
    ),
    th.Property(
        "max_tries",
        th.IntegerType(minimum=1, maximum=50),
        default=DEFAULT_MAX_TRIES,
        title="Maximum tries",
        description="Attempts per request before a 5xx, timeout or dropped connection stops "
        "the run (exponential backoff, honouring `Retry-After`). A 429 is not a failed try: "
        "see `rate_limit_patience_seconds`.",
    ),
    th.Property(
        "rate_limit_patience_seconds",
        th.NumberType(minimum=1, maximum=86400),
        default=DEFAULT_RATE_LIMIT_PATIENCE_SECONDS,
        title="Rate limit patience (seconds)",
        description="Under a rate limit (HTTP 429) the tap slows down to the rate the API "
        "accepts and carries on; it stops only when no request has got through for this "
        "long.",
    ),
    th.Property(
        "request_timeout",
        th.NumberType(minimum=1, maximum=600),
        default=DEFAULT_REQUEST_TIMEOUT,
        title="Request timeout (seconds)",
        description="Seconds a whole response (its body included) may take before the request "
        "is cut and retried.",
    ),
    th.Property(
        "progress_seconds",
        th.NumberType(minimum=0, maximum=3600),
        default=DEFAULT_PROGRESS_SECONDS,
        title="Progress line every (seconds)",
        description="How often a long run logs how far along it is: CDRs so far of the total, "
        "percent, rate, time left and the bookmark reached.",
    ),
    th.Property(
        "schema_changes",
        th.StringType(allowed_values=list(SCHEMA_CHANGES)),
        default=SCHEMA_CHANGES[0],
        title="Schema changes",
        description="What a field the schema does not declare yet does: `evolve` declares it "
        "(an updated SCHEMA message before the first RECORD holding it, its type inferred "
        "from the values seen), `freeze` drops it (one WARNING per new field), `fail` stops "
        "the run naming it.",
    ),
    *(
        th.Property(
            setting,
            th.ArrayType(th.StringType),
            title=f"Filter: {param}",
            description=f"Only CDRs whose `{param}` is one of these values (sent as `{param}[]`).",
        )
        for setting, param in ARRAY_FILTERS.items()
    ),
    *(
        th.Property(
            name,
            th.StringType,
            title=f"Filter: {name}",
            description=f"Only CDRs matching this `{name}`"
            + (" (partial match)." if name.endswith("_like") else "."),
        )
        for name in SINGLE_FILTERS
    ),
).to_dict()


def parse_datetime(value: str) -> datetime:
    """Parse ISO 8601 (a date alone means midnight; no offset means UTC).

    Raises:
        ValueError: when `value` is not ISO 8601.

    """
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def check_settings(config: Mapping[str, Any]) -> list[str]:
    """Errors a JSON schema cannot express; each names the setting and what it expects."""
    errors: list[str] = []
    api_url, cluster_id = config.get("api_url"), config.get("cluster_id")
    if not api_url and not cluster_id:
        errors.append(
            "Set `cluster_id` (your cluster, as in https://{cluster_id}.voiso.com) "
            "or `api_url` (a full base URL): one of them is required."
        )
    if api_url:
        problem = _api_url_problem(str(api_url))
        if problem:
            errors.append(
                "`api_url` must be http(s)://host[:port][/path], such as https://acme.voiso.com"
                f" ({problem}), not {display_url(str(api_url))!r}."
            )
    if cluster_id and not api_url and not CLUSTER_ID_PATTERN.fullmatch(str(cluster_id)):
        errors.append(
            f"`cluster_id` must be a host name label (letters, digits, hyphens), such as 'acme', "
            f"not {cluster_id!r}."
        )
    api_key = config.get("api_key")
    if isinstance(api_key, str) and not API_KEY_PATTERN.fullmatch(api_key):
        # Never echo the key: say what is wrong with it instead.
        errors.append(
            "`api_key` must be the key exactly as Voiso shows it: printable ASCII without "
            "spaces or line breaks (check for characters copied along with it)."
        )
    if config.get("batch_config"):
        # The SDK would honour it, but its BATCH files are written after the STATE
        # messages that claim their records, so a target could commit a bookmark
        # past CDRs it never loads.
        errors.append(
            "`batch_config` is not supported: tap-voiso writes RECORD messages, each "
            "window followed by its STATE. Remove `batch_config` from the settings."
        )
    errors.extend(_check_dates(config))
    for setting in ARRAY_FILTERS:
        value = config.get(setting)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) and v for v in value)
        ):
            errors.append(
                f'`{setting}` must be a list of non-empty strings, such as ["call", "sms"].'
            )
    for name in SINGLE_FILTERS:
        value = config.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            errors.append(f"`{name}` must be a non-empty string.")
    return errors


def _api_url_problem(url: str) -> str | None:
    """What keeps `url` from being a base URL the API's path can be appended to, if anything."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "the scheme must be http or https"
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return "the port must be a number"
    if not parts.hostname:
        return "a host is missing"
    if parts.query or "?" in url:
        return "no query string: the tap appends its own"
    if parts.fragment or "#" in url:
        return "no #fragment"
    return None


def _check_dates(config: Mapping[str, Any]) -> list[str]:
    """`start_date` and `end_date` parse, are not before 1970, and are in order."""
    errors: list[str] = []
    dates: dict[str, datetime] = {}
    for name in ("start_date", "end_date"):
        value = config.get(name)
        if value is None:
            continue
        try:
            dates[name] = parse_datetime(str(value))
            if dates[name] < EARLIEST_DATE:
                errors.append(f"`{name}` must be on or after 1970-01-01, not {value!r}.")
        except (ValueError, IndexError, OverflowError):
            errors.append(
                f"`{name}` must be an ISO 8601 date time such as 2024-01-31T00:00:00Z, "
                f"not {value!r}."
            )
    if "start_date" in dates and "end_date" in dates and dates["end_date"] <= dates["start_date"]:
        errors.append("`end_date` must be later than `start_date`.")
    return errors


def base_url(config: Mapping[str, Any]) -> str:
    """The API root: `api_url` when given, else the customer's cluster host."""
    if config.get("api_url"):
        return str(config["api_url"]).rstrip("/")
    return f"https://{config['cluster_id']}.voiso.com"


def filter_params(config: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """The filter query parameters every page of every window repeats."""
    params: dict[str, str | list[str]] = {}
    for setting, param in ARRAY_FILTERS.items():
        if config.get(setting):
            params[f"{param}[]"] = list(config[setting])
    for name in SINGLE_FILTERS:
        if config.get(name):
            params[name] = str(config[name])
    return params


# Settings with a default: absent or `null`, each means that default (`Settings`).
DEFAULTS: dict[str, Any] = {
    name: prop["default"] for name, prop in CONFIG_SCHEMA["properties"].items() if "default" in prop
}


@dataclass(frozen=True)
class Settings:
    """The validated settings, typed, read once: every default is the schema's.

    A setting absent or `null` takes the default the config schema declares
    (`DEFAULTS`; the schema allows `null` for every optional setting, and the SDK fills
    in a default only where one is absent), so no reader of a setting has a default of
    its own, and `request_timeout: null` cannot turn the timeout off.
    """

    api_key: str
    base_url: str
    start: datetime | None
    end: datetime | None
    page_size: int
    lookback_minutes: int
    window_records: int
    concurrency: int
    max_tries: int
    rate_limit_patience_seconds: float
    request_timeout: float
    progress_seconds: float
    schema_changes: str
    types: tuple[str, ...]
    filters: Mapping[str, str | list[str]]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """The settings of a config the tap has validated (`check_settings`)."""

        def given(name: str) -> Any:
            value = config.get(name)
            return DEFAULTS[name] if value is None else value

        def moment(name: str) -> datetime | None:
            value = config.get(name)
            return None if value is None else parse_datetime(str(value))

        return cls(
            api_key=str(config["api_key"]),
            base_url=base_url(config),
            start=moment("start_date"),
            end=moment("end_date"),
            page_size=int(given("page_size")),
            lookback_minutes=int(given("lookback_minutes")),
            window_records=int(given("window_records")),
            concurrency=int(given("concurrency")),
            max_tries=int(given("max_tries")),
            rate_limit_patience_seconds=float(given("rate_limit_patience_seconds")),
            request_timeout=float(given("request_timeout")),
            progress_seconds=float(given("progress_seconds")),
            schema_changes=str(given("schema_changes")),
            types=tuple(config.get("types") or ()),
            filters=filter_params(config),
        )


SECRET_SETTINGS = tuple(
    name for name, prop in CONFIG_SCHEMA["properties"].items() if prop.get("secret")
)


def redact_secret_error(error: str) -> str:
    """A schema error about a secret setting, without the value it quotes."""
    for name in SECRET_SETTINGS:
        if f"config['{name}']" in error or f"'{name}'" in error:
            return (
                f"`{name}` must be a string, the key exactly as Voiso shows it (its value is "
                "not shown: it is secret)."
            )
    return error
