"""The exact requests the tap builds, asserted without HTTP (and once on the wire)."""

from __future__ import annotations

import re

import pytest

from tap_voiso.cdrs.pages import PageToken
from tap_voiso.cdrs.windows import Window
from tap_voiso.tap import TapVoiso
from tests.conftest import run_tap, tap_config

WINDOW = Window(1769904000000, 1769990400000)  # 2026-02-01 .. 2026-02-02 UTC
BOUNDS = (
    "started_at%5Bgte%5D=2026-02-01T00%3A00%3A00.000Z"
    "&started_at%5Blt%5D=2026-02-02T00%3A00%3A00.000Z"
)
BASE = {"api_key": "k", "cluster_id": "acme"}


def request_url(cursor: str | None = None, **config) -> str:
    tap = TapVoiso(config={**BASE, **config})
    stream = tap.streams["cdrs"]
    return stream.prepare_page_request(PageToken(WINDOW, cursor)).url


def test_first_page_url_with_no_filters():
    assert request_url() == f"https://acme.voiso.com/api/v4/reporting/cdrs?{BOUNDS}&limit=1000"


@pytest.mark.parametrize(
    ("config", "query"),
    [
        ({"types": ["call", "sms"]}, "type%5B%5D=call&type%5B%5D=sms"),
        ({"types": ["conversation"]}, "type%5B%5D=conversation"),
        ({"subtypes": ["outbound", "whatsapp"]}, "subtype%5B%5D=outbound&subtype%5B%5D=whatsapp"),
        ({"dispositions": ["answered"]}, "disposition%5B%5D=answered"),
        ({"account_ids": ["123321", "987654"]}, "account_id%5B%5D=123321&account_id%5B%5D=987654"),
        ({"user_id": "1234"}, "user_id=1234"),
        ({"team_id": "7"}, "team_id=7"),
        ({"queue_id": "1"}, "queue_id=1"),
        ({"campaign_id": "9"}, "campaign_id=9"),
        ({"from_phone_number": "18885658889"}, "from_phone_number=18885658889"),
        ({"to_phone_number": "+18885658889"}, "to_phone_number=%2B18885658889"),
        ({"from_phone_number_like": "888"}, "from_phone_number_like=888"),
        ({"to_phone_number_like": "565"}, "to_phone_number_like=565"),
        ({"tag": "vip customer"}, "tag=vip+customer"),
    ],
)
def test_each_filter_is_sent_exactly(config, query):
    assert (
        request_url(**config)
        == f"https://acme.voiso.com/api/v4/reporting/cdrs?{BOUNDS}&{query}&limit=1000"
    )


def test_next_page_repeats_filters_and_passes_the_cursor_unchanged():
    cursor = "WzE3NDcwNDU1NjAwMDAsIjdkN2Y4Yzc0LWRhMDgtNGViMy1iNzc5LTQxMzY0YzEyOWQ4YSJd"
    url = request_url(cursor=cursor, types=["call"], page_size=250)
    assert url == (
        f"https://acme.voiso.com/api/v4/reporting/cdrs?{BOUNDS}&type%5B%5D=call&limit=250&cursor={cursor}"
    )


def test_cursor_with_reserved_characters_is_percent_encoded_once():
    url = request_url(cursor="a+b/c==")
    assert url.endswith("&cursor=a%2Bb%2Fc%3D%3D")


def test_key_travels_in_the_header_only():
    tap = TapVoiso(config={**BASE, "api_key": "s3cr3t-key"})
    prepared = tap.streams["cdrs"].prepare_page_request(PageToken(WINDOW))
    assert prepared.headers["Authorization"] == "Bearer s3cr3t-key"
    assert "s3cr3t" not in prepared.url
    assert "s3cr3t" not in repr(tap.streams["cdrs"].authenticator)


def test_every_page_on_the_wire_repeats_the_same_filters(make_sim):
    server = make_sim(records=3000, burst=0)
    # One reader: one window, paged by cursor.
    config = tap_config(server, page_size=100, types=["call", "sms"], tag="vip", concurrency=1)
    result = run_tap(config)
    requests = server.simulator.requests
    assert len(requests) >= 3
    # Whichever window a request reads, and whatever its cursor, the filters repeat.
    shape = re.compile(
        r"started_at%5Bgte%5D=[^&]+&started_at%5Blt%5D=[^&]+"
        r"&type%5B%5D=call&type%5B%5D=sms&tag=vip&limit=100(&cursor=[^&]+)?(&offset=[0-9]+)?"
    )
    assert all(shape.fullmatch(path.split("?", 1)[1]) for path in requests)
    assert any("cursor=" in path for path in requests)  # cursor pages were checked too
    assert {r["type"] for r in result.records} == {"call", "sms"}
    assert all("vip" in r["tags"] for r in result.records)
