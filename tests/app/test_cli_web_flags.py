"""``--web HOST:PORT`` and ``--no-web`` over a set's ``[web]``, and the allow-list rule checked
on the command line as in the file."""

import argparse

import pytest
from latentjam.app.cli_play import _with_flags, add_set_flags
from latentjam.app.set_file import live_set_from_dict
from latentjam.engine.errors import SettingError


def flags(*argv):
    parser = argparse.ArgumentParser()
    add_set_flags(parser)
    args = parser.parse_args(argv)
    args.model = None
    return args


def test_the_page_is_on_by_default_and_the_flags_move_or_stop_it():
    live = live_set_from_dict({})
    assert _with_flags(live, flags()).web == live.web and live.web.enabled
    assert not _with_flags(live, flags("--no-web")).web.enabled
    moved = _with_flags(live, flags("--web", "127.0.0.1:8123")).web
    assert (moved.host, moved.port, moved.fallback) == ("127.0.0.1", 8123, False)


def test_the_lan_needs_the_allow_list_on_the_command_line_too():
    with pytest.raises(SettingError, match=r"command line: web host '0.0.0.0'.*\[osc\] allow"):
        _with_flags(live_set_from_dict({}), flags("--web", "0.0.0.0:9080"))
    allowed = live_set_from_dict({"osc": {"allow": ["192.168.1.23"]}})
    assert _with_flags(allowed, flags("--web", "0.0.0.0:9080")).web.host == "0.0.0.0"
