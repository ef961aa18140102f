"""Bad settings are refused at start, before any request, naming the setting."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_voiso.settings import base_url, filter_params
from tap_voiso.tap import TapVoiso
from tests.conftest import run_cli, tap_config

BAD_SETTINGS = [
    ({"start_date": "last tuesday"}, "start_date"),
    ({"end_date": "2026-13-45"}, "end_date"),
    ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "end_date"),
    ({"page_size": 0}, "page_size"),
    ({"page_size": 5000}, "page_size"),
    ({"page_size": "big"}, "page_size"),
    ({"api_url": None}, "cluster_id"),
    ({"api_url": "ftp://example.com"}, "api_url"),
    ({"api_url": "http://127.0.0.1:9/api?limit=5"}, "api_url"),
    ({"api_url": "http://127.0.0.1:9/#top"}, "api_url"),
    ({"api_url": "http://127.0.0.1:port/"}, "api_url"),
    ({"api_url": "http://:9/"}, "api_url"),
    ({"api_url": None, "cluster_id": "acme.voiso.com/evil"}, "cluster_id"),
    ({"types": "call"}, "types"),
    ({"types": ["call", 7]}, "types"),
    ({"account_ids": [""]}, "account_ids"),
    ({"user_id": 1234}, "user_id"),
    ({"lookback_minutes": -5}, "lookback_minutes"),
    ({"max_tries": 0}, "max_tries"),
    ({"request_timeout": 0}, "request_timeout"),
    ({"api_key": None}, "api_key"),
    ({"api_key": "key with spaces"}, "api_key"),
    ({"api_key": "ключ"}, "api_key"),
    ({"api_key": "abc\n"}, "api_key"),
    # The SDK would write BATCH files of empty records (the pass-through path's
    # placeholders) after the STATE that claims them.
    (
        {"batch_config": {"encoding": {"format": "jsonl"}, "storage": {"root": "file:///tmp"}}},
        "batch_config",
    ),
]


@pytest.mark.parametrize(("overrides", "setting"), BAD_SETTINGS)
def test_bad_setting_is_refused_naming_it(make_sim, overrides, setting):
    server = make_sim(records=10)
    with pytest.raises(ConfigValidationError) as raised:
        TapVoiso(config=tap_config(server, **overrides))
    assert any(setting in error for error in raised.value.errors), raised.value.errors
    assert server.simulator.requests == []


def test_a_bad_key_is_refused_without_echoing_it(make_sim):
    server = make_sim(records=10)
    with pytest.raises(ConfigValidationError) as raised:
        TapVoiso(config=tap_config(server, api_key="sk-ÿ-secret"))
    assert "sk-ÿ-secret" not in str(raised.value.errors)


def test_cli_refuses_bad_setting_before_any_request(make_sim, tmp_path):
    server = make_sim(records=10)
    result = run_cli(tap_config(server, page_size=5000, start_date="yesterday"), tmp_path)
    assert result.returncode != 0
    assert "page_size" in result.stderr
    assert "start_date" in result.stderr
    assert "ISO 8601" in result.stderr
    assert result.stdout == ""
    assert server.simulator.requests == []


def test_cluster_id_builds_the_voiso_url_and_api_url_wins():
    assert base_url({"cluster_id": "acme"}) == "https://acme.voiso.com"
    assert (
        base_url({"cluster_id": "acme", "api_url": "http://127.0.0.1:9/"}) == "http://127.0.0.1:9"
    )


def test_filter_settings_map_to_api_parameters():
    params = filter_params(
        {
            "types": ["call", "sms"],
            "account_ids": ["123321"],
            "tag": "vip",
            "user_id": "1234",
            "subtypes": [],
        }
    )
    assert params == {
        "type[]": ["call", "sms"],
        "account_id[]": ["123321"],
        "user_id": "1234",
        "tag": "vip",
    }


def test_env_config_reads_arrays_as_json(make_sim, monkeypatch):
    server = make_sim(records=10)
    monkeypatch.setenv("TAP_VOISO_API_KEY", "k")
    monkeypatch.setenv("TAP_VOISO_API_URL", server.url)
    monkeypatch.setenv("TAP_VOISO_TYPES", '["call","sms"]')
    tap = TapVoiso(config=None, parse_env_config=True)
    assert tap.config["types"] == ["call", "sms"]


DEFAULTED = {
    "page_size": lambda stream: stream.settings.page_size,
    "concurrency": lambda stream: stream.settings.concurrency,
    "window_records": lambda stream: stream.settings.window_records,
    "max_tries": lambda stream: stream.backoff_max_tries(),
    "request_timeout": lambda stream: stream.timeout,
    "progress_seconds": lambda stream: stream.settings.progress_seconds,
    "lookback_minutes": lambda stream: stream.settings.lookback_minutes,
}


@pytest.mark.parametrize("setting", sorted(DEFAULTED))
def test_null_means_the_schemas_default(make_sim, setting):
    server = make_sim(records=10)
    tap = TapVoiso(config={**tap_config(server), setting: None})
    default = TapVoiso.config_jsonschema["properties"][setting]["default"]
    assert default is not None
    assert DEFAULTED[setting](tap.streams["cdrs"]) == default
