"""Property-based tests: fuzzed settings and hostile record content never crash the tap."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from singer_sdk.exceptions import ConfigValidationError

from tap_voiso.cdrs.schemas import cdr_schema
from tap_voiso.settings import CONFIG_SCHEMA
from tap_voiso.shared.errors import IncompleteWindowError, VoisoError
from tap_voiso.tap import TapVoiso
from tests.conftest import run_tap, sim_server, tap_config
from voiso_simulator import serving

SETTING_NAMES = sorted(CONFIG_SCHEMA["properties"])
SCHEMA = cdr_schema()

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(
        ["2024-01-01", "2024-02-30T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31", ""]
    ),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


DATES = st.sampled_from(
    [
        "2024-01-01", "2024-02-30T00:00:00Z", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59.999999+14:00", "2026-01-01T00:00:00-23:59", "", "  ", "Z", "now",
    ]
)  # fmt: skip
INTEGERS = st.integers(min_value=-(10**18), max_value=10**18) | st.sampled_from(
    [0, 1, 1000, 1001, 10**9]
)


def edge_values(name: str) -> st.SearchStrategy[Any]:
    """Values aimed at one setting's type and limits, beside arbitrary JSON."""
    prop = CONFIG_SCHEMA["properties"][name]
    kind = prop.get("type", [])
    if prop.get("format") == "date-time":
        return DATES
    if "integer" in kind or "number" in kind:
        return INTEGERS
    if "array" in kind:
        return st.lists(st.text(max_size=6) | st.integers(), max_size=3)
    return st.text(max_size=30)


SETTINGS_FUZZ = st.fixed_dictionaries(
    {}, optional={name: edge_values(name) | json_values for name in SETTING_NAMES}
)


def start_or_reject(config: dict[str, Any]) -> list[str]:
    """The tap's rejections of `config`; none means a sync started and ran or stopped cleanly."""
    try:
        TapVoiso(config=config)
    except ConfigValidationError as exc:
        return list(exc.errors) or ["<a rejection without a message>"]
    # Accepted settings must also start a sync cleanly: it runs, or stops with one of
    # the tap's own errors (the simulator answers 401/422 for odd filter values).
    with contextlib.suppress(VoisoError):
        run_tap({**config, "max_tries": 1})
    return []


@pytest.fixture(scope="module")
def fuzz_server():
    with serving(sim_server(records=30)) as server:  # small: most fuzzed runs sync
        yield server


@settings(max_examples=300, deadline=None)
@given(overrides=SETTINGS_FUZZ)
def test_fuzzed_settings_never_crash_and_every_rejection_names_a_setting(fuzz_server, overrides):
    config = {k: v for k, v in {**tap_config(fuzz_server), **overrides}.items() if v is not None}
    for error in start_or_reject(config):
        assert any(name in error for name in SETTING_NAMES), error


@pytest.mark.parametrize(
    "overrides",
    [
        {"start_date": "0001-01-01T00:00:00Z"},
        {"start_date": "9999-12-31T23:59:59Z"},
        {"lookback_minutes": 10**12},
        {"end_date": "1970-01-01T00:00:00.001Z", "start_date": None},
    ],
)
def test_extreme_dates_and_lookbacks_are_refused_or_synced(fuzz_server, overrides):
    config = {k: v for k, v in {**tap_config(fuzz_server), **overrides}.items() if v is not None}
    errors = start_or_reject(config)
    assert all(any(name in e for name in overrides) for e in errors), errors


# Where hostile values go, and what they are.
PATHS = [
    ("cost",),
    ("user",),
    ("user", "name"),
    ("user", "deleted"),
    ("tags",),
    ("subtype",),
    ("from", "phone_number"),
    ("data",),
    ("data", "durations", "talk"),
    ("data", "queue", "id"),
    ("data", "segments_count"),
    ("data", "service_level_agreements", "resolution", "value"),
    ("ended_at",),
    ("id",),
    ("started_at",),
]
values = st.one_of(
    st.just(None),
    st.just("<delete>"),
    st.text(min_size=1, max_size=20),
    st.just("✓ unicode ünïcødé 中文 🎧 \u0000 \u202e"),
    st.just("x" * 20_000),
    st.sampled_from(["12.5", "7", "-0.001", "1e3"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
plans = st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=5)


def apply(plan, record: dict[str, Any]) -> dict[str, Any]:
    for path, value in plan:
        node = record
        for key in path[:-1]:
            if not isinstance(node, dict) or not isinstance(node.get(key), dict):
                break
            node = node[key]
        else:
            if value == "<delete>":
                node.pop(path[-1], None)
            else:
                node[path[-1]] = value
    record["unexpected_extra"] = {"nested": ["kept"]}
    return record


def schema_node(path: tuple[str, ...]) -> dict[str, Any] | None:
    node: dict[str, Any] | None = SCHEMA
    for key in path:
        node = (node or {}).get("properties", {}).get(key)
    return node


def numeric(node: dict[str, Any] | None) -> bool:
    return bool(node) and bool({"number", "integer"} & set(node.get("type", [])))


def matches(emitted: Any, served: Any, path: tuple[str, ...]) -> bool:
    """Emitted equals served, except numbers sent as strings where the schema wants numbers."""
    if isinstance(served, dict) and isinstance(emitted, dict):
        return emitted.keys() == served.keys() and all(
            matches(emitted[k], served[k], (*path, k)) for k in served
        )
    if isinstance(served, str) and numeric(schema_node(path)) and not isinstance(emitted, str):
        return float(emitted) == float(served)
    return emitted == served


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=plans)
# A key holding U+0085, which JSON carries unescaped and `str.splitlines` splits at.
@example(plan=[(("cost",), {"\x85": 0})])
def test_hostile_records_never_crash_and_are_emitted_or_reported(make_sim, plan, caplog):
    server = make_sim(records=40, burst=0)
    server.simulator.rewrite = lambda record: apply(plan, record)
    served = server.simulator.visible_records()
    keyed = [
        r for r in served if isinstance(r.get("id"), str) and isinstance(r.get("started_at"), str)
    ]
    ids = [r["id"] for r in served if isinstance(r.get("id"), str)]
    if len(set(ids)) < len(ids):
        # The API says it holds 40 CDRs but sends fewer distinct ones: the run must not
        # pass that window as complete.
        with pytest.raises(IncompleteWindowError, match="should hold 40 CDRs"):
            run_tap(tap_config(server))
        return
    with caplog.at_level(logging.WARNING):
        result = run_tap(tap_config(server))

    assert len(result.records) == len({r["id"] for r in keyed})
    by_id = {r["id"]: r for r in result.records}
    for record in keyed:
        assert matches(by_id[record["id"]], record, ())
    if len(keyed) < len(served):
        assert "cannot be keyed" in caplog.text
    for record in result.records:
        assert record["unexpected_extra"] == {"nested": ["kept"]}


def test_a_number_sent_as_a_string_is_converted_and_reported(make_sim, caplog):
    server = make_sim(records=20, burst=0)
    server.simulator.rewrite = lambda r: {**r, "cost": "0.125", "data": {**r["data"], "mos": "n/a"}}
    with caplog.at_level(logging.WARNING):
        result = run_tap(tap_config(server))
    assert {r["cost"] for r in result.records} == {0.125}
    assert "`cost` is a number sent as a string: converted to a number" in caplog.text
    calls = [r for r in result.records if r["type"] == "call"]
    assert calls
    assert all(r["data"]["mos"] == "n/a" for r in calls)
    assert (
        "`data.mos` should be number or null: got str 'n/a'; passed through unchanged"
        in caplog.text
    )
    assert "Schema mismatches this run" in caplog.text


def test_unknown_fields_and_a_fifth_type_reach_the_target(make_sim):
    server = make_sim(records=300, burst=0, drift=True)
    result = run_tap(tap_config(server))
    served = {r["id"]: r for r in server.simulator.visible_records()}
    assert {r["id"]: r for r in result.records} == served
    assert any(r["type"] == "voicemail" for r in result.records)
    assert all(r["sentiment"]["label"] == "positive" for r in result.records)
