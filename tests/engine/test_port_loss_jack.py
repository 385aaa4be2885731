"""A synth that disappears mid-set and comes back (real JACK ports): the set plays on, and
the port is reopened and told all-notes-off when the synth returns."""

import asyncio

import mido
from jack_server import VirtualSynth
from latentjam.engine.performer import Performer
from latentjam.engine.port_watch import WatchedOutput
from latentjam.engine.set_config import set_config_from_dict


async def until(predicate, timeout):
    end = asyncio.get_running_loop().time() + timeout
    while not predicate() and asyncio.get_running_loop().time() < end:
        await asyncio.sleep(0.05)
    return predicate()


def test_a_lost_port_is_reopened_when_it_comes_back(jack_server):
    config = set_config_from_dict({
        "backend": "jack", "clock": {"bpm": 240},
        "ports": {"main": {"name": "lj-synth", "virtual": False}},
        "tracks": [{"name": "melody", "seed": 2, "channel": 5}]})

    async def run():
        loop = asyncio.get_running_loop()
        first = VirtualSynth("lj-synth")
        async with Performer(config) as performer:
            port = performer._ports["main"]
            assert isinstance(port, WatchedOutput)
            heard_first = await until(lambda: first.count() > 50, 10)
            first.kill()
            lost = await until(lambda: port.lost, 5)
            second = await loop.run_in_executor(None, VirtualSynth, "lj-synth")
            with second:
                back = await until(lambda: not port.lost and second.count() > 50, 10)
                playing = performer.state().playing
                received = second.stop()
        return heard_first, lost, back, playing, port.losses, received

    heard_first, lost, back, playing, losses, received = asyncio.run(run())
    assert heard_first and lost and back and playing
    assert losses == 1
    messages = [mido.Message.from_bytes(data) for _, data in received]
    assert messages[0] == mido.Message("control_change", channel=4, control=123, value=0)
    assert "clock" in [m.type for m in messages]
