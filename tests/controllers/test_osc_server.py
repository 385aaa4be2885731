"""The OSC server over real UDP on 127.0.0.1 (a port picked by the system), in front of an
in-memory engine that records commands: mapping, refusals, replies, feedback, allow-list."""

import asyncio
import logging
import socket
import struct

import pytest
from latentjam.controllers.osc_config import OscConfig
from latentjam.controllers.osc_server import MAX_SUBSCRIBERS, OscServer, RefusalLog, encode
from latentjam.engine import commands as cmd
from latentjam.engine.engine_state import EngineState, TrackState
from latentjam.engine.errors import SettingError
from latentjam.engine.humanize import HumanizeParams
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket


class FakeEngine:
    def __init__(self):
        self.commands = []
        self.bar = 0
        self.muted = False
        self.broken = False  # state() raises, as a bug in the engine would

    def command(self, command):
        if getattr(command, "track", "melody") != "melody":
            raise SettingError(f"no track {command.track!r} (tracks: melody)")
        self.commands.append(command)

    def state(self):
        if self.broken:
            raise RuntimeError("engine bug")
        track = TrackState("melody", "sample", 0.5, 0.25, 2, 2, self.muted, False,
                           HumanizeParams(), "main", 0, 3, 0, ())
        return EngineState(True, "internal", "playing", 120.0, self.bar * 1920, self.bar, 0,
                           (track,))


class Client:
    def __init__(self, server_port, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self.server = ("127.0.0.1", server_port)

    def send(self, address, *args):
        self.sock.sendto(encode(address, args), self.server)

    def send_raw(self, data):
        self.sock.sendto(data, self.server)

    def received(self):
        out = {}
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return out
            message = OscPacket(data).messages[0].message
            out[message.address] = tuple(message.params)


async def serve(config=None):
    engine = FakeEngine()
    server = OscServer(config or OscConfig(port=0), engine.command, engine.state)
    _, port = await server.start()
    return engine, server, port


async def until(predicate, timeout=2.0):
    end = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > end:
            return False
        await asyncio.sleep(0.005)
    return True


MESSAGES = [
    (("/latentjam/play",), cmd.Play()),
    (("/latentjam/play", 1.0), cmd.Play()),
    (("/latentjam/continue",), cmd.Play(resume=True)),
    (("/latentjam/stop",), cmd.Stop()),
    (("/latentjam/tempo", 126), cmd.SetTempo(126.0)),
    (("/latentjam/panic",), cmd.Panic()),
    (("/latentjam/track/melody/mode", "walk"), cmd.SetMode("melody", "walk")),
    (("/latentjam/track/melody/temperature", 0.75), cmd.SetTemperature("melody", 0.75)),
    (("/latentjam/track/melody/walk_step", 0.125), cmd.SetWalkStep("melody", 0.125)),
    (("/latentjam/track/melody/bars", 4.0), cmd.SetLoopBars("melody", 4)),
    (("/latentjam/track/melody/every", 3), cmd.SetEvery("melody", 3)),
    (("/latentjam/track/melody/mute", 1.0), cmd.Mute("melody", True)),
    (("/latentjam/track/melody/mute", 0), cmd.Mute("melody", False)),
    (("/latentjam/track/melody/solo",), cmd.Solo("melody", True)),
    (("/latentjam/track/melody/anchor/save", 2), cmd.SaveAnchor("melody", 2)),
    (("/latentjam/track/melody/anchor/load", 1, "a.mid"), cmd.LoadAnchor("melody", 1, "a.mid")),
    (("/latentjam/track/melody/anchor/record", 4, 1), cmd.RecordAnchor("melody", 4, 1)),
    (("/latentjam/track/melody/interpolate", 0, 1, 16), cmd.Interpolate("melody", 0, 1, 16)),
    (("/latentjam/track/melody/humanize/swing_percent", 55.0),
     cmd.SetHumanize("melody", "swing_percent", 55.0)),
]


def test_every_address_becomes_its_command():
    async def run():
        engine, server, port = await serve()
        client = Client(port)
        for message, _ in MESSAGES:
            client.send(*message)
        await until(lambda: len(engine.commands) == len(MESSAGES))
        client.send("/latentjam/play", 0.0)  # a button's release does nothing
        await asyncio.sleep(0.05)
        await server.close()
        return engine.commands

    assert asyncio.run(run()) == [command for _, command in MESSAGES]


def test_bad_messages_are_ignored_and_the_server_keeps_answering(caplog):
    async def run():
        engine, server, port = await serve()
        client = Client(port)
        client.send_raw(b"not osc at all")
        client.send("/latentjam/track/drums/mute", 1)  # unknown track
        client.send("/latentjam/tempo", "fast")  # wrong type
        client.send("/latentjam/tempo", 1000.0)  # out of range
        client.send("/latentjam/track/melody/bars", 3)  # not a loop length
        client.send("/latentjam/nothing")  # unknown address (six refusals: the log's count)
        client.send("/latentjam/track/melody/bars", 2.5)  # not whole
        client.send("/latentjam/tempo", 90.0)
        await until(lambda: engine.commands)
        await server.close()
        return engine.commands, server.rejected

    with caplog.at_level("WARNING"):
        commands, rejected = asyncio.run(run())
    assert commands == [cmd.SetTempo(90.0)]
    assert rejected == 7
    text = caplog.text
    assert "malformed packet" in text and "expected a number, got 'fast'" in text
    assert "300" in text  # the tempo range
    assert "no track 'drums'" in text  # the engine's own refusal, logged with its reason


def test_state_reply_and_feedback_of_changes_to_subscribers():
    async def run():
        engine, server, port = await serve(OscConfig(port=0, feedback_hz=100))
        client = Client(port)
        client.send("/latentjam/state")
        await until(lambda: False, 0.1)
        state = client.received()
        client.send("/latentjam/subscribe")
        await until(lambda: False, 0.1)
        first = client.received()
        engine.bar, engine.muted = 4, True
        await until(lambda: False, 0.1)
        update = client.received()
        client.send("/latentjam/unsubscribe")
        await until(lambda: False, 0.05)
        engine.bar = 5
        await until(lambda: False, 0.1)
        after = client.received()
        await server.close()
        return state, first, update, after

    state, first, update, after = asyncio.run(run())
    assert state["/latentjam/tempo"] == (120.0,)
    assert state["/latentjam/track/melody/mode"] == ("sample",)
    assert first == state
    assert update == {"/latentjam/beat": (5, 1), "/latentjam/track/melody/mute": (1,)}
    assert after == {}


def test_an_allow_list_drops_other_senders():
    async def run():
        engine, server, port = await serve(OscConfig(port=0, allow=("127.0.0.2",)))
        stranger, friend = Client(port), Client(port, host="127.0.0.2")
        stranger.send("/latentjam/stop")
        friend.send("/latentjam/play")
        await until(lambda: engine.commands)
        await asyncio.sleep(0.05)
        await server.close()
        return engine.commands, server.rejected

    commands, rejected = asyncio.run(run())
    assert commands == [cmd.Play()]
    assert rejected == 1


@pytest.mark.parametrize("settings, named", [
    ({"host": "0.0.0.0"}, "list the tablets"),
    ({"port": 70000}, "port must be a UDP port"),
    ({"allow": ["tablet"]}, "'tablet' is not an IP address"),
    ({"feedback_hz": 0}, "feedback_hz must be 1..200"),
])
def test_config_mistakes_are_named(settings, named):
    with pytest.raises(SettingError, match=named):
        OscConfig(**settings)


def test_a_lan_bind_with_an_allow_list_is_accepted():
    assert OscConfig(host="0.0.0.0", allow=("192.168.1.20",)).allow == ("192.168.1.20",)


def test_a_port_in_use_is_a_clear_error():
    async def run():
        _, first, port = await serve()
        try:
            await serve(OscConfig(port=port))
        finally:
            await first.close()

    with pytest.raises(Exception, match="cannot listen on 127.0.0.1:\\d+"):
        asyncio.run(run())


def bundle(*messages, timetag=IMMEDIATELY):
    builder = OscBundleBuilder(timetag)
    for address, *args in messages:
        message = OscMessageBuilder(address)
        for arg in args:
            message.add_arg(arg)
        builder.add_content(message.build())
    return builder.build().dgram


def test_a_bundle_acts_in_order_and_a_bad_part_spoils_the_whole_packet():
    async def run():
        engine, server, port = await serve()
        client = Client(port)
        client.send_raw(bundle(("/latentjam/track/melody/mute", 1.0),
                               ("/latentjam/tempo", 140.0),
                               ("/latentjam/track/melody/mute", 0.0)))
        spoilt = bundle(("/latentjam/stop",))[:-4] + struct.pack(">i", -4)  # a broken tail
        client.send_raw(spoilt)
        client.send_raw(bundle(("/latentjam/track/melody/mute", 1.0),  # one value out of
                               ("/latentjam/tempo", 9000.0)))  # range: none of it acts
        client.send("/latentjam/panic")
        await until(lambda: len(engine.commands) == 4)
        await server.close()
        return engine.commands

    assert asyncio.run(run()) == [cmd.Mute("melody", True), cmd.SetTempo(140.0),
                                  cmd.Mute("melody", False), cmd.Panic()]


def nested(*parts):
    """A bundle of already-built parts (messages or bundles), as an OSC app nests them."""
    body = b"".join(struct.pack(">i", len(part)) + part for part in parts)
    return b"#bundle\x00" + bytes(7) + b"\x01" + body


def test_an_out_of_range_message_deep_in_a_nested_bundle_or_a_65th_spoils_all_of_it(caplog):
    inner = nested(encode("/latentjam/track/melody/temperature", (0.5,)),
                   encode("/latentjam/track/melody/bars", (3.0,)))  # 3 bars: not allowed
    spoilt = nested(encode("/latentjam/track/melody/mute", (1.0,)), inner,
                    encode("/latentjam/tempo", (100.0,)))
    too_many = bundle(*[("/latentjam/tempo", 100.0 + i) for i in range(65)])

    async def run():
        engine, server, port = await serve()
        client = Client(port)
        client.send_raw(spoilt)
        client.send_raw(too_many)
        client.send("/latentjam/panic")  # the marker: what came before it has been handled
        await until(lambda: engine.commands)
        await server.close()
        return engine.commands, server.rejected

    with caplog.at_level(logging.WARNING):
        commands, rejected = asyncio.run(run())
    assert commands == [cmd.Panic()]  # neither packet's other messages acted
    assert rejected == 2
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "none of the packet's 4 messages is carried out" in text


def test_packets_that_hang_or_flood_python_osc_leave_the_server_answering(caplog):
    hang = b"#bundle\x00" + bytes(7) + b"\x01" + struct.pack(">i", -4)
    deep = encode("/latentjam/stop", ())
    for _ in range(2000):
        deep = b"#bundle\x00" + bytes(8) + struct.pack(">i", len(deep)) + deep
    tags = b"/latentjam/stop\x00" + b",zzzzzzzzzzz" + bytes(4)

    async def run():
        engine, server, port = await serve()
        client = Client(port)
        for data in (hang, deep, tags):
            client.send_raw(data)
        client.send("/latentjam/state")
        await until(lambda: client_has(client, "/latentjam/tempo"))
        await server.close()
        return engine.commands, server.rejected

    with caplog.at_level(logging.WARNING):
        commands, rejected = asyncio.run(run())
    assert commands == [] and rejected == 3
    assert [r.name for r in caplog.records] == ["latentjam.controllers.osc_server"] * 3


def client_has(client, address):
    client.seen = getattr(client, "seen", {})
    client.seen.update(client.received())
    return address in client.seen


def test_a_flood_of_refusals_is_logged_a_few_at_a_time_and_counted(caplog):
    async def run():
        engine, server, port = await serve()
        client = Client(port)
        for i in range(300):
            client.send("/latentjam/no/such/address", i)
        client.send("/latentjam/stop")
        await until(lambda: engine.commands)
        await server.close()  # says how many went unlogged
        return server.rejected

    with caplog.at_level(logging.WARNING):
        rejected = asyncio.run(run())
    one_by_one = [r for r in caplog.records if "no/such/address" in r.getMessage()]
    summaries = [r.args[0] for r in caplog.records if "more in the last second" in r.getMessage()]
    assert rejected == 300
    assert len(one_by_one) + sum(summaries) == rejected
    assert summaries and len(one_by_one) < 100  # five a second; the flood takes less than 20


def test_refusal_log_windows_with_a_fake_clock(caplog):
    refusals = RefusalLog(logging.getLogger("test.refusals"), per_second=2)
    with caplog.at_level(logging.WARNING, logger="test.refusals"):
        for i in range(5):
            refusals.refuse(f"r{i}", now=10.0 + i * 0.1)
        refusals.flush(now=10.9)  # the window is still open: nothing yet
        refusals.refuse("r5", now=11.05)
        refusals.flush(now=13.0, final=True)
    assert [r.getMessage() for r in caplog.records] == [
        "OSC: ignored r0", "OSC: ignored r1",
        "OSC: ignored 3 more in the last second (not logged one by one)", "OSC: ignored r5"]


def test_feedback_to_a_given_port_and_the_oldest_subscriber_replaced():
    async def run():
        engine, server, port = await serve(OscConfig(port=0, feedback_hz=100))
        asker, listener = Client(port), Client(port)
        listener_port = listener.sock.getsockname()[1]
        asker.send("/latentjam/subscribe", float(listener_port))  # a tablet sends floats
        await until(lambda: client_has(listener, "/latentjam/beat"))
        engine.bar = 2
        await until(lambda: client_has(listener, "/latentjam/beat")
                    and listener.seen["/latentjam/beat"] == (3, 1))
        asker_got = asker.received()
        others = [Client(port) for _ in range(MAX_SUBSCRIBERS)]
        for other in others:
            other.send("/latentjam/subscribe")
        await until(lambda: len(server.subscribers) == MAX_SUBSCRIBERS
                    and ("127.0.0.1", listener_port) not in server.subscribers)
        subscribers = server.subscribers
        await server.close()
        return asker_got, listener.seen, subscribers, others

    asker_got, seen, subscribers, others = asyncio.run(run())
    assert asker_got == {}
    assert seen["/latentjam/beat"] == (3, 1) and seen["/latentjam/tempo"] == (120.0,)
    assert subscribers == tuple(o.sock.getsockname() for o in others)


def test_feedback_goes_on_after_the_engine_fails_to_give_its_state():
    async def run():
        engine, server, port = await serve(OscConfig(port=0, feedback_hz=100))
        client = Client(port)
        client.send("/latentjam/subscribe")
        await until(lambda: client_has(client, "/latentjam/beat"))
        engine.broken = True
        await until(lambda: server.rejected > 0)
        engine.broken, engine.bar = False, 6
        await until(lambda: client_has(client, "/latentjam/beat")
                    and client.seen["/latentjam/beat"] == (7, 1))
        await server.close()
        return client.seen["/latentjam/beat"]

    assert asyncio.run(run()) == (7, 1)


def test_the_receive_buffer_is_enlarged_beyond_the_default():
    async def run():
        _, server, _ = await serve()
        await server.close()
        return server.receive_buffer_bytes

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as fresh:
        default = fresh.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    assert asyncio.run(run()) > default


def test_extra_feedback_reaches_state_and_subscribers():
    now = {"song": 1}

    async def run():
        engine = FakeEngine()
        server = OscServer(OscConfig(port=0, feedback_hz=100), engine.command, engine.state,
                           extra=lambda: {"/latentjam/radio/song": (now["song"],)})
        _, port = await server.start()
        client = Client(port)
        client.send("/latentjam/subscribe")
        await until(lambda: False, 0.1)
        first = client.received()
        now["song"] = 2
        await until(lambda: False, 0.1)
        update = client.received()
        await server.close()
        return first, update

    first, update = asyncio.run(run())
    assert first["/latentjam/radio/song"] == (1,) and "/latentjam/tempo" in first
    assert update == {"/latentjam/radio/song": (2,)}
