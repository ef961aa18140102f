"""The simulator's data shapes lay the CDRs out where each shape says, and no elsewhere."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime, timezone

import pytest

from voiso_simulator.data import DAY_MS, HOUR_MS, SHAPES, Dataset, DatasetSpec, parse_iso

START = "2025-01-01T00:00:00Z"
RECORDS = 5000


def starts(shape: str, span_days: float = 30.0, burst: int = 0) -> list[int]:
    """Each CDR's started_at, as an offset in ms from START."""
    spec = DatasetSpec(records=RECORDS, start=START, span_days=span_days, shape=shape, burst=burst)
    begin = parse_iso(START)
    return [t - begin for t in Dataset(spec).started]


@pytest.mark.parametrize(
    ("spec", "digest"),
    [
        (DatasetSpec(), "934ed4e572789988"),
        (DatasetSpec(records=30000, seed=5, burst=0), "d4dbd077268935ca"),
    ],
)
def test_the_default_shape_is_the_data_set_the_other_tests_were_written_against(spec, digest):
    # The digests of the data sets from before there were shapes.
    dataset = Dataset(spec)
    found = hashlib.sha256(repr((list(dataset.started), dataset.ids)).encode()).hexdigest()
    assert found[:16] == digest


def test_part_holds_cdrs_in_the_3rd_and_8th_of_11_stretches_only():
    span = 330 * DAY_MS
    stretches = Counter(offset * 11 // span for offset in starts("part", span_days=330))
    assert set(stretches) == {2, 7}
    assert abs(stretches[2] - stretches[7]) <= 1


def test_business_hours_holds_weekdays_from_8_to_20_only():
    begin = parse_iso(START)
    moments = [
        datetime.fromtimestamp((begin + t) / 1000, tz=timezone.utc)
        for t in starts("business-hours")
    ]
    assert {m.weekday() for m in moments} == {0, 1, 2, 3, 4}
    assert {m.hour for m in moments} == set(range(8, 20))


def test_campaigns_put_40_percent_of_the_cdrs_in_three_hours():
    hours = Counter(t // HOUR_MS for t in starts("campaigns"))
    *busiest, fourth = hours.most_common(4)
    in_campaigns = sum(count for _, count in busiest)
    # 40%, plus the few of the evenly spread 60% that fall in those hours.
    assert RECORDS * 2 // 5 <= in_campaigns <= RECORDS * 2 // 5 + 3 * fourth[1]
    assert fourth[1] < 20
    assert len(hours) > 30 * 24 * 0.9  # the rest spread over the month


def test_late_start_leaves_all_but_the_last_37th_of_the_range_empty():
    span = 37 * 30 * DAY_MS
    offsets = starts("late-start", span_days=37 * 30)
    assert min(offsets) >= span - span // 37
    assert max(offsets) - min(offsets) > 29 * DAY_MS


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_keeps_its_burst_of_cdrs_in_one_millisecond(shape):
    span_days = {"part": 330.0, "late-start": 1110.0}.get(shape, 30.0)
    same_ms = Counter(starts(shape, span_days, burst=1200)).most_common(1)[0][1]
    assert same_ms == 1200


def test_an_unknown_shape_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match=r"unknown data shape 'spiky'.*business-hours"):
        DatasetSpec(shape="spiky")
