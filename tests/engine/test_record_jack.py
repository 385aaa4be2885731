"""A loop played in over a real JACK port while the set plays: recorded from the next bar
line, on the step grid, and encoded into an anchor slot (then usable as an interpolation end)."""

import asyncio
import threading
import time

import mido
from latentjam.engine import commands as cmd
from latentjam.engine import ports
from latentjam.engine.performer import Performer
from latentjam.engine.recorder import RECORD_INPUT
from latentjam.engine.set_config import set_config_from_dict
from latentjam.engine.transport import ticks_per_step

STEP = ticks_per_step()
PLAYED = [(0, 2, 60), (2, 2, 62), (4, 2, 64), (6, 2, 65), (8, 4, 67), (12, 4, 64)]  # steps


def play_notes(out, timeline, start_tick):
    """Each (step, length, pitch) at its time on the set's timeline, as a keyboard would."""
    for step, length, pitch in PLAYED:
        for tick, message in ((start_tick + step * STEP, mido.Message("note_on", note=pitch,
                                                                       velocity=90)),
                              (start_tick + (step + length) * STEP - STEP // 4,
                               mido.Message("note_off", note=pitch))):
            deadline = timeline.ns_at(tick)
            while time.perf_counter_ns() < deadline:
                time.sleep(0.0005)
            out.send(message)


async def until(predicate, timeout):
    end = asyncio.get_running_loop().time() + timeout
    while not predicate() and asyncio.get_running_loop().time() < end:
        await asyncio.sleep(0.01)
    return predicate()


def test_a_loop_played_in_becomes_an_anchor(jack_server):
    config = set_config_from_dict({
        "backend": "jack",
        "ports": {"main": {"name": "lj-rec-out"}},
        "tracks": [{"name": "melody", "seed": 2, "mode": "hold"}]})

    async def run():
        async with Performer(config) as performer:
            await asyncio.wait_for(performer.started.wait(), 10)
            performer.command(cmd.RecordAnchor("melody", 3, bars=1))
            assert await until(lambda: performer.recorder.takes, 15)
            take = performer.recorder.takes[0]
            loop = asyncio.get_running_loop()
            with ports.open_output(RECORD_INPUT, virtual=False, backend="jack") as out:
                sender = threading.Thread(target=play_notes, args=(
                    out, performer.clock.timeline(), take.start_tick))
                sender.start()
                await loop.run_in_executor(None, sender.join)
            encoded = await until(lambda: 3 in performer.tracks[0].anchors, 10)
            performer.command(cmd.SaveAnchor("melody", 0))
            performer.command(cmd.Interpolate("melody", 0, 3, steps=4))
            mode = performer.tracks[0].settings.mode
            return performer.recorder.recorded, encoded, mode, performer.tracks[0].anchors[3]

    recorded, encoded, mode, z = asyncio.run(run())
    (loop,) = recorded
    assert [(n.start_tick // STEP, (n.end_tick - n.start_tick) // STEP, n.pitch)
            for n in loop.notes] == PLAYED
    assert encoded and z.shape == (1, 64)
    assert mode == "interpolate"


def test_recording_needs_a_running_transport(jack_server):
    config = set_config_from_dict({
        "backend": "jack","autostart": False,
        "ports": {"main": {"name": "lj-rec-stopped"}}, "tracks": [{"name": "melody"}]})

    async def run():
        async with Performer(config) as performer:
            try:
                performer.command(cmd.RecordAnchor("melody", 1))
            except Exception as err:
                return str(err)

    assert asyncio.run(run()) == ("recording starts at the next bar line: start the "
                                  "transport first")
