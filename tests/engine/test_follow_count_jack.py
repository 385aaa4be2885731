"""A followed master's pulses, counted end to end on real JACK ports (issue 10, finding 2):
a master of its own process sends an exactly known number of pulses, held up now and then
as a loaded machine holds them; the set following it must forward exactly that number.

Before, a clock held up for more than 100 ms counted as lost, and the port watch opened a
lost clock's listed input anew at its next look (every 0.5 s): the pulses the master sent
while the input was reopened never arrived (96 of 3,024 in bench_faults.py's long form on a
loaded machine). A hold of 400 ms is lost for 300 ms of it, so some look fell inside one of
ten such holds.
"""

import asyncio

import mido
from jack_server import ClockMaster, MidiReceiver
from latentjam.engine.performer import Performer
from latentjam.engine.set_config import set_config_from_dict

PULSES, BPM, HOLD_EVERY, HOLD_MS = 480, 120, 48, 400  # ten holds, one a bar


def test_a_follower_forwards_exactly_the_pulses_its_master_sent(jack_server):
    config = set_config_from_dict({
        "backend": "jack", "autostart": False,
        "clock": {"source": "midi", "input_port": "lj-count-master"},
        "ports": {"main": {"name": "lj-count-follower"}},
        "tracks": [{"name": "melody", "mode": "hold", "seed": 2}]})

    async def run():
        loop = asyncio.get_running_loop()
        with ClockMaster("lj-count-master") as master:
            async with Performer(config) as performer:
                with await loop.run_in_executor(None, MidiReceiver, "lj-count-follower") as rx:
                    await loop.run_in_executor(None, master.send, "start")
                    await loop.run_in_executor(
                        None, master.send, f"pulses {PULSES} {BPM} {HOLD_EVERY} {HOLD_MS}")
                    await loop.run_in_executor(None, master.send, "stop")
                    for _ in range(100):  # until the Stop has gone through
                        if not performer.state().playing:
                            break
                        await asyncio.sleep(0.02)
                    state = performer.state()
                    reopened = performer.clock.reopened
                    heard = performer.clock.pulses_heard
                    received = await loop.run_in_executor(None, rx.stop, 0.3)
        return state, reopened, heard, received

    state, reopened, heard, received = asyncio.run(run())
    kinds = [mido.Message.from_bytes(data).type for _, data in received]
    assert reopened == 0  # a held-up master is not a silent one
    assert heard == PULSES  # every pulse reached the engine
    assert state.skipped_pulses == 0
    assert kinds.count("clock") == PULSES  # and every one went on, none gained
    assert kinds.index("stop") > max(i for i, kind in enumerate(kinds) if kind == "clock")
