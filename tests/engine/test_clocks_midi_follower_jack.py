"""Following a MIDI clock sent over real JACK ports: the follower's own input process, and a
whole set slaved to it (its notes start with the master's Start and stop with its Stop).

JACK hands MIDI over once per period (21 ms at the fixture's -p 1024), so arrival times come
in bursts: tempo is checked to a few per cent here, phase precision is measured on exact
timestamps by benchmarks/bench_clock_follow.py.
"""

import asyncio
import threading
import time

import mido
import pytest
from jack_server import MidiReceiver
from latentjam.engine import ports
from latentjam.engine.clocks.base import Started, Stopped, TempoChanged
from latentjam.engine.clocks.midi_follower import VIRTUAL_INPUT, MidiClockFollower
from latentjam.engine.errors import PortError
from latentjam.engine.performer import Performer
from latentjam.engine.set_config import set_config_from_dict

JACK = "jack"


def play_clock(out, segments, stop_event=None):
    """Start, pulses at (bpm, beats) segments on absolute deadlines, then Stop."""
    out.send(mido.Message("start"))
    deadline = time.perf_counter()
    for bpm, beats in segments:
        period = 60 / (bpm * 24)
        for _ in range(beats * 24):
            while time.perf_counter() < deadline:
                time.sleep(0.0005)
            out.send(mido.Message("clock"))
            deadline += period
    out.send(mido.Message("stop"))
    if stop_event is not None:
        stop_event.set()


async def collect(events, until_type, timeout):
    got = []
    end = asyncio.get_running_loop().time() + timeout
    while not any(isinstance(e, until_type) for e in got):
        remaining = end - asyncio.get_running_loop().time()
        if remaining <= 0:
            break
        try:
            got.append(await asyncio.wait_for(events.get(), remaining))
        except TimeoutError:
            break
    return got


def test_the_follower_hears_start_tempo_changes_and_stop(jack_server):
    async def run():
        follower = MidiClockFollower(backend=JACK)
        events = asyncio.Queue()
        await follower.open(events)
        tempi = []
        try:
            with ports.open_output(VIRTUAL_INPUT, virtual=False, backend=JACK) as out:
                sender = threading.Thread(target=play_clock,
                                          args=(out, [(150, 8), (100, 8)]))
                sender.start()
                got = await collect(events, Started, 5)
                await asyncio.sleep(2.9)  # into the eighth beat at 150
                tempi.append(follower.timeline().bpm_at(0))
                got += await collect(events, Stopped, 10)
                sender.join()
        finally:
            await follower.close()
        return got, tempi, follower

    got, tempi, follower = asyncio.run(run())
    kinds = [type(e) for e in got]
    assert kinds[0] is Started and got[0].tick == 0
    assert Stopped in kinds
    assert float(tempi[0]) == pytest.approx(150, rel=0.03)
    changes = [e.bpm for e in got if isinstance(e, TempoChanged)]
    assert any(abs(bpm - 100) < 3 for bpm in changes)
    assert follower.follower.bpm == pytest.approx(100, rel=0.03)
    stopped = next(e for e in got if isinstance(e, Stopped))
    assert stopped.tick == pytest.approx((16 * 24 - 1) * 20, abs=2 * 20)


def test_a_missing_input_port_is_a_clear_error(jack_server):
    async def run():
        follower = MidiClockFollower("no such clock", virtual=False, backend=JACK)
        await follower.open(asyncio.Queue())

    with pytest.raises(PortError, match="'no such clock' matches no MIDI input port"):
        asyncio.run(run())


def test_a_slaved_set_follows_the_masters_start_tempo_and_stop(jack_server):
    config = set_config_from_dict({
        "backend": JACK, "clock": {"source": "midi"},
        "ports": {"main": {"name": "lj-slave"}},
        "tracks": [{"name": "melody", "mode": "hold", "seed": 2}]})

    async def run():
        async with Performer(config) as performer:
            loop = asyncio.get_running_loop()
            with await loop.run_in_executor(None, MidiReceiver, "lj-slave") as rx:
                with ports.open_output(VIRTUAL_INPUT, virtual=False, backend=JACK) as out:
                    played = loop.run_in_executor(None, play_clock, out, [(240, 8), (180, 4)])
                    await asyncio.sleep(2.6)  # into the 180 BPM bar
                    bpm = performer.state().bpm
                    await played
                    await asyncio.sleep(0.3)
                    state = performer.state()
                    received = rx.stop(linger_s=0.2)
        return bpm, state, received

    bpm, state, received = asyncio.run(run())
    kinds = [mido.Message.from_bytes(data).type for _, data in received]
    assert bpm == pytest.approx(180, rel=0.03)  # the set follows the master's tempo change
    assert not state.playing and state.clock == "midi"
    assert kinds[0] == "start" and "stop" in kinds
    assert "note_on" in kinds[: kinds.index("stop")]
    # Forwarded clock: exactly the master's pulses (a device downstream counts them)
    assert kinds.count("clock") == 12 * 24
    after_stop = [mido.Message.from_bytes(d) for _, d in received[kinds.index("stop"):]]
    assert not [m for m in after_stop if m.type == "note_on" and m.velocity > 0]


def test_a_master_that_crashes_and_comes_back_is_followed_again(jack_server):
    """kill -9 of the master, then a new one under the same port name: the set free-runs
    meanwhile, then hears the new master's Start, pulses and Stop (and stops)."""
    from jack_server import ClockMaster

    config = set_config_from_dict({
        "backend": JACK,
        "clock": {"source": "midi", "input_port": "lj-master"},
        "ports": {"main": {"name": "lj-follows"}},
        "tracks": [{"name": "melody", "mode": "hold", "seed": 2}]})

    async def until(condition, timeout_s=20.0):
        give_up = asyncio.get_running_loop().time() + timeout_s
        while not condition() and asyncio.get_running_loop().time() < give_up:
            await asyncio.sleep(0.02)
        return condition()

    async def run():
        loop = asyncio.get_running_loop()
        with ClockMaster("lj-master") as master:
            async with Performer(config) as performer:
                await loop.run_in_executor(None, master.send, "start")
                await loop.run_in_executor(None, master.send, "pulses 96 240")
                playing = performer.state().playing
                master.kill()
                lost = await until(lambda: performer.state().clock_status == "free-running")
                with ClockMaster("lj-master") as again:
                    opened = performer.clock.reopened  # (it may have tried the dying port)
                    back = await until(lambda: performer.clock.reopened > opened)
                    await loop.run_in_executor(None, again.send, "start")
                    await loop.run_in_executor(None, again.send, "pulses 48 240")
                    restarted = performer.state().playing
                    await loop.run_in_executor(None, again.send, "stop")
                    stopped = await until(lambda: not performer.state().playing)
        return playing, lost, back, restarted, stopped

    assert asyncio.run(run()) == (True, True, True, True, True)
