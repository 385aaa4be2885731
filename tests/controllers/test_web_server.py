"""The control page's server over real TCP on 127.0.0.1 (a port the system picks), in front
of an in-memory engine that records commands: the token and the allow-list (403, logged
once), the page's files, the WebSocket's commands and feedback to every page, and its bounds."""

import asyncio
import json
import logging

import aiohttp
import pytest
from latentjam.controllers.web import server as web_server
from latentjam.controllers.web.config import WebConfig
from latentjam.controllers.web.server import COOKIE, WebServer, read_static
from latentjam.engine import commands as cmd
from latentjam.engine.engine_state import EngineState, TrackState
from latentjam.engine.errors import SettingError
from latentjam.engine.humanize import HumanizeParams


class FakeEngine:
    def __init__(self):
        self.commands = []
        self.muted = False

    def command(self, command):
        if getattr(command, "track", "melody") != "melody":
            raise SettingError(f"no track {command.track!r} (tracks: melody)")
        if isinstance(command, cmd.Mute):
            self.muted = command.on
        self.commands.append(command)

    def state(self):
        track = TrackState("melody", "blend", 0.5, 0.25, 2, 2, self.muted, False,
                           HumanizeParams(), "main", 0, 3, 0, (0, 1))
        return EngineState(True, "internal", "playing", 120.0, 0, 0, 0, (track,))


async def serving(**kwargs):
    engine = FakeEngine()
    server = WebServer(WebConfig(port=0), engine.command, engine.state,
                       anchors=lambda: ("a.mid", "b.mid"), **kwargs)
    await server.start()
    base = f"http://127.0.0.1:{server.address[1]}"
    return engine, server, base


async def next_frame(ws, kind):
    while True:
        message = await asyncio.wait_for(ws.receive(), 10)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        frame = json.loads(message.data)
        if frame["type"] == kind:
            return frame


async def until_feedback(ws, address, args):
    while True:
        frame = await next_frame(ws, "feedback")
        if frame["messages"].get(address) == args:
            return


def test_the_page_needs_the_token_and_then_its_files_come_by_the_cookie(caplog):
    async def run():
        engine, server, base = await serving()
        # unsafe: aiohttp keeps no cookie of an IP address unless told to; browsers do
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            refused = [(await session.get(f"{base}{path}")).status
                       for path in ("/", "/?token=wrong", "/static/app.js", "/ws", "/")]
            page = await session.get(f"{base}/?token={server.token}")
            body = await page.text()
            assert COOKIE in page.cookies
            script = await session.get(f"{base}/static/app.js")  # the cookie, no ?token
            missing = await session.get(f"{base}/static/secrets.txt")
            statuses = (page.status, script.status, missing.status)
        await server.close()
        return refused, body, statuses, server.url

    with caplog.at_level(logging.WARNING, logger="latentjam.controllers.web.server"):
        refused, body, statuses, url = asyncio.run(run())
    assert refused == [403] * 5
    assert '<script src="/static/app.js">' in body and statuses == (200, 200, 404)
    assert url.startswith("http://127.0.0.1:") and "/?token=" in url
    lines = [r.getMessage() for r in caplog.records]
    # once per address and reason: "/" twice without a token is one line
    assert sum("no valid token" in line for line in lines) == 1, lines


def test_an_address_not_allowed_is_refused_even_with_the_token(caplog):
    async def run():
        engine, server, base = await serving(allow=("192.0.2.99",))
        async with aiohttp.ClientSession() as session:
            statuses = [(await session.get(f"{base}/?token={server.token}")).status
                        for _ in range(3)]
        await server.close()
        return statuses

    with caplog.at_level(logging.WARNING, logger="latentjam.controllers.web.server"):
        assert asyncio.run(run()) == [403, 403, 403]
    assert sum("not in osc.allow" in r.getMessage() for r in caplog.records) == 1


def test_a_command_from_one_page_reaches_the_engine_and_every_page():
    async def run():
        engine, server, base = await serving()
        url = f"{base}/ws?token={server.token}"
        async with aiohttp.ClientSession() as session, \
                session.ws_connect(url) as one, session.ws_connect(url) as two:
            first = await next_frame(one, "feedback")  # the whole state on connecting
            await next_frame(two, "feedback")
            await one.send_str(json.dumps(["/latentjam/track/melody/mute", [1]]))
            await one.send_str(json.dumps(["/latentjam/track/melody/blend", [0.25, 0.75]]))
            await until_feedback(two, "/latentjam/track/melody/mute", [1])
            await until_feedback(one, "/latentjam/track/melody/mute", [1])
            await one.send_str(json.dumps(["/latentjam/track/drums/mute", [1]]))
            error = await next_frame(one, "error")
            await one.send_str(json.dumps(["/latentjam/tempo", ["fast"]]))
            wrong = await next_frame(one, "error")
            await two.send_str(json.dumps(["/latentjam/anchors", []]))
            files = await next_frame(two, "anchors")
            await two.send_str(json.dumps(["/latentjam/play", [0]]))  # a release: nothing
            await two.send_str(json.dumps(["/latentjam/state", []]))
            whole = await next_frame(two, "feedback")
        await server.close()
        return engine.commands, first, error, wrong, files, whole

    commands, first, error, wrong, files, whole = asyncio.run(run())
    assert commands == [cmd.Mute("melody", True), cmd.SetBlend("melody", 0.25, 0.75)]
    assert first["messages"]["/latentjam/track/melody/anchors"] == [0, 1]
    assert first["messages"]["/latentjam/tempo"] == [120.0]
    assert "no track 'drums'" in error["text"]
    assert "expected a number" in wrong["text"]
    assert files["files"] == ["a.mid", "b.mid"]
    assert set(whole["messages"]) == set(first["messages"])


def test_the_bounds_frame_size_and_open_pages(monkeypatch):
    monkeypatch.setattr(web_server, "MAX_SOCKETS", 2)

    async def run():
        engine, server, base = await serving()
        url = f"{base}/ws?token={server.token}"
        async with aiohttp.ClientSession() as session:
            one = await session.ws_connect(url)
            two = await session.ws_connect(url)
            with pytest.raises(aiohttp.WSServerHandshakeError) as third:
                await session.ws_connect(url)
            await one.send_str(json.dumps(["/latentjam/track/melody/anchor/load",
                                           [0, "x" * 5000]]))
            closed = await asyncio.wait_for(one.receive(), 10)
            while closed.type == aiohttp.WSMsgType.TEXT:
                closed = await asyncio.wait_for(one.receive(), 10)
            await two.close()
        await server.close()
        return third.value.status, closed, engine.commands

    status, closed, commands = asyncio.run(run())
    assert status == 503
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert commands == []


def test_the_page_files_are_all_shipped_and_reference_nothing_outside():
    files = read_static()
    assert set(files) == {"index.html", "app.css", "app.js"}
    text = b"".join(body for body, _ in files.values()).decode()
    assert "http://" not in text and "https://" not in text  # no CDN: a stage has no internet


def test_learn_from_a_page_goes_to_the_midi_controller_and_without_one_is_refused():
    from latentjam.controllers.osc_addresses import CancelLearn, Learn

    async def run(learn):
        engine = FakeEngine()
        server = WebServer(WebConfig(port=0), engine.command, engine.state, learn=learn)
        await server.start()
        url = f"http://127.0.0.1:{server.address[1]}/ws?token={server.token}"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await next_frame(ws, "feedback")
            await ws.send_str(json.dumps(["/latentjam/learn",
                                          ["/latentjam/track/melody/temperature"]]))
            await ws.send_str(json.dumps(["/latentjam/learn/cancel", []]))
            await ws.send_str(json.dumps(["/latentjam/track/melody/grid/cell", [1, 2]]))
            error = None if learn else await next_frame(ws, "error")
            await ws.send_str(json.dumps(["/latentjam/state", []]))
            await next_frame(ws, "feedback")
        await server.close()
        return engine.commands, error

    asked = []
    commands, _ = asyncio.run(run(asked.append))
    assert asked == [Learn("/latentjam/track/melody/temperature"), CancelLearn()]
    assert commands == [cmd.SetGridCell("melody", 1, 2)]  # a grid cell tapped
    _, error = asyncio.run(run(None))
    assert "no MIDI controller to learn" in error["text"]


def test_a_page_that_does_not_read_keeps_only_its_latest_frames():
    page = web_server._Page(ws=None, sent={})
    for n in range(web_server.MAX_QUEUED_FRAMES + 8):
        page.say(f"frame {n}")
    assert len(page.frames) == web_server.MAX_QUEUED_FRAMES
    assert page.frames[-1] == f"frame {web_server.MAX_QUEUED_FRAMES + 7}"
    page.offer({"/latentjam/tempo": (120.0,)})
    page.offer({"/latentjam/tempo": (121.0,)})
    assert page.pending == {"/latentjam/tempo": (121.0,)}  # the latest state, not a backlog
