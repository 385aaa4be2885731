"""The control page's pure parts: its settings, the frames a page sends, the bounds on them,
the refusal log's once-a-minute rule and the terminal's QR code."""

import dataclasses

import pytest
from latentjam.app.set_file import live_set_from_dict
from latentjam.controllers.osc_config import OscConfig
from latentjam.controllers.web.config import WebConfig, check_reach, parse_web_flag
from latentjam.controllers.web.protocol import (
    MAX_ARGS,
    FrameError,
    OncePerWindow,
    RateLimit,
    read_frame,
)
from latentjam.controllers.web.terminal import banner, qr_text
from latentjam.engine.errors import SettingError


def test_the_default_is_this_machine_on_9080_with_a_fallback():
    web = WebConfig()
    assert (web.enabled, web.host, web.port, web.fallback) == (True, "127.0.0.1", 9080, True)


@pytest.mark.parametrize("changes, reason", [
    ({"port": 70000}, "port must be a TCP port"),
    ({"enabled": 1}, "enabled must be true or false"),
    ({"feedback_hz": 0}, "feedback_hz must be 1..100"),
    ({"host": ""}, "host must be an IP address"),
])
def test_bad_settings_say_why(changes, reason):
    with pytest.raises(SettingError, match=reason):
        WebConfig(**changes)


def test_off_the_loopback_only_with_the_osc_allow_list():
    lan = WebConfig(host="0.0.0.0")
    with pytest.raises(SettingError, match=r"list the tablets that may in \[osc\] allow"):
        check_reach(lan, OscConfig())
    check_reach(lan, OscConfig(allow=("192.168.1.23",)))
    check_reach(dataclasses.replace(lan, enabled=False), OscConfig())
    with pytest.raises(SettingError, match=r"set.toml: web host '0.0.0.0'"):
        live_set_from_dict({"web": {"host": "0.0.0.0"}}, "set.toml")
    with pytest.raises(SettingError, match=r"web.colour: unknown key"):
        live_set_from_dict({"web": {"colour": "red"}}, "set.toml")
    live = live_set_from_dict({"web": {"host": "0.0.0.0", "port": 8000},
                               "osc": {"allow": ["192.168.1.23"]}})
    assert (live.web.host, live.web.port) == ("0.0.0.0", 8000)


def test_the_web_flag():
    web = WebConfig(enabled=False)
    assert parse_web_flag("0.0.0.0:8000", web) == WebConfig(host="0.0.0.0", port=8000,
                                                             fallback=False)
    assert parse_web_flag("8001", web) == WebConfig(port=8001, fallback=False)
    assert parse_web_flag("[::1]:8002", web).host == "::1"
    assert parse_web_flag("192.168.1.5:", web) == WebConfig(host="192.168.1.5")
    with pytest.raises(SettingError, match="expected HOST:PORT"):
        parse_web_flag("here:there", web)


def test_a_frame_is_an_address_and_its_arguments():
    assert read_frame('["/latentjam/track/drums/blend", [0.25, 1]]') == (
        "/latentjam/track/drums/blend", (0.25, 1))
    assert read_frame('["/latentjam/play", []]') == ("/latentjam/play", ())


@pytest.mark.parametrize("text, reason", [
    ("{", "not JSON"),
    ('{"address": "/latentjam/play"}', r"expected \[address, \[arguments\]\]"),
    ('["/latentjam/play", 1]', r"expected \[address"),
    ('["/latentjam/tempo", [NaN]]', "is not a number"),
    ('["/latentjam/tempo", [{"a": 1}]]', "arguments are numbers"),
    (f'["/latentjam/tempo", [{", ".join(["1"] * (MAX_ARGS + 1))}]]', "at most 8 arguments"),
    ('["/x", ["' + "a" * 2000 + '"]]', "more than 1024 characters"),
    ("[" * 100_000, "not JSON"),
])
def test_frames_refused_say_why(text, reason):
    with pytest.raises(FrameError, match=reason):
        read_frame(text)


def test_the_rate_limit_lets_a_burst_through_then_the_rate():
    limit = RateLimit(rate=10, burst=5)
    assert [limit.take(0.0) for _ in range(7)] == [True] * 5 + [False] * 2
    assert limit.take(0.1) and not limit.take(0.1)  # a tenth of a second: one more
    assert sum(limit.take(10.0) for _ in range(20)) == 5  # never more than the burst


def test_a_refusal_is_logged_once_a_minute_per_key():
    once = OncePerWindow(window_s=60, keys=2)
    assert once.should_log("10.0.0.9 no token", 0.0)
    assert not once.should_log("10.0.0.9 no token", 59.0)
    assert once.should_log("10.0.0.8 no token", 1.0)
    assert once.should_log("10.0.0.9 no token", 61.0)
    assert once.suppressed == 1


def test_the_banner_shows_the_url_and_on_a_terminal_its_qr_code():
    url = "http://192.168.1.5:9080/?token=abc"
    assert banner(url, qr=False) == f"control page: {url}\n"
    shown = banner(url, qr=True)
    assert shown.startswith(f"control page: {url}\n") and shown.endswith(qr_text(url))
    rows = qr_text(url).splitlines()
    assert len(rows) >= 12 and len({len(r) for r in rows}) == 1  # a square of blocks
    assert set("".join(rows)) <= {"█", "▀", "▄", " "}
