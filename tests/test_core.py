"""The Singer SDK's standard tap tests, run against a local simulator.

The SDK builds its test class from a config while this module is collected, so the
simulator's socket is bound at import (its URL goes into the config); it serves only
while this module's tests run, and is closed after them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from singer_sdk.testing import get_tap_test_class

from tap_voiso.cdrs.streams import CHANNEL_STREAMS
from tap_voiso.directory.streams import DIRECTORY_STREAMS
from tap_voiso.tap import TapVoiso
from tests.conftest import catalog_selecting, sim_server
from voiso_simulator import DEFAULT_KEY, serving

SERVER = sim_server(records=1500, seed=3, burst=300)


@pytest.fixture(scope="module", autouse=True)
def _serving() -> Iterator[None]:
    """Serve for this module's tests (the SDK's syncs run in its class fixture), then stop."""
    with serving(SERVER):
        yield


SAMPLE_CONFIG = {
    "api_key": DEFAULT_KEY,
    "api_url": SERVER.url,
    "start_date": "2025-12-01T00:00:00Z",
    "end_date": "2026-06-01T00:00:00Z",
    "window_records": 1000,
}

# Every stream selected: the channel and directory streams are off by default, and the
# suite should check them too.
ALL_STREAMS = catalog_selecting(
    SAMPLE_CONFIG,
    "cdrs",
    *(s.name for s in CHANNEL_STREAMS),
    *(s.name for s in DIRECTORY_STREAMS),
)

TestTapVoiso = get_tap_test_class(tap_class=TapVoiso, config=SAMPLE_CONFIG, catalog=ALL_STREAMS)
