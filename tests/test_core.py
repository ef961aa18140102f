"""The Singer SDK's standard tap tests, run against a local simulator.

The SDK suite runs real syncs while this module is collected, so the simulator
starts at import time, before the test class is built.
"""

from __future__ import annotations

from singer_sdk.testing import get_tap_test_class

from tap_voiso.streams import CHANNEL_STREAMS
from tap_voiso.tap import TapVoiso
from tests.conftest import catalog_selecting
from voiso_simulator import DEFAULT_KEY, DatasetSpec, Simulator, start

SERVER = start(Simulator(DatasetSpec(records=1500, seed=3, burst=300)))

SAMPLE_CONFIG = {
    "api_key": DEFAULT_KEY,
    "api_url": SERVER.url,
    "start_date": "2025-12-01T00:00:00Z",
    "end_date": "2026-06-01T00:00:00Z",
    "window_records": 1000,
}

# Every stream selected: the channel streams are off by default, and the suite should
# check them too.
ALL_STREAMS = catalog_selecting(SAMPLE_CONFIG, "cdrs", *(s.name for s in CHANNEL_STREAMS))

TestTapVoiso = get_tap_test_class(tap_class=TapVoiso, config=SAMPLE_CONFIG, catalog=ALL_STREAMS)
