"""The JACK server's xruns, heard by a performer on JACK ports (issue 10, finding 6): a
listener that stops answering makes the server miss its cycles; the performer's watch, a
process of its own, counts them in the state, the log says so in one line, and the set shuts
down as ever (no JACK client of the watch is left behind)."""

import asyncio
import logging
import os
import signal

from jack_server import MidiReceiver
from latentjam.engine import commands as cmd
from latentjam.engine.performer import Performer
from latentjam.engine.set_config import set_config_from_dict
from latentjam.engine.xrun_process import XrunReporter

LOGGER = "latentjam.engine.xrun_process"


def set_config(port: str, backend: str = "jack"):
    return set_config_from_dict({
        "backend": backend, "autostart": False, "clock": {"bpm": 240},
        "ports": {"main": {"name": port}},
        "tracks": [{"name": "melody", "mode": "hold", "seed": 2}],
    })


def xrun_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == LOGGER and "xrun" in r.getMessage()]


async def stall_a_listener(performer: Performer, port: str, stalls: int) -> tuple[int, int]:
    """Stop a listener of ``port`` ``stalls`` times until the state counts more xruns each
    time; (count before, count after)."""
    loop = asyncio.get_running_loop()
    with await loop.run_in_executor(None, MidiReceiver, port) as rx:
        performer.command(cmd.Play())
        await asyncio.wait_for(performer.started.wait(), 10)
        before = performer.state().jack_xruns
        for _ in range(stalls):
            seen = performer.state().jack_xruns
            os.kill(rx._child.pid, signal.SIGSTOP)
            try:
                for _ in range(500):
                    if performer.state().jack_xruns > seen:
                        break
                    await asyncio.sleep(0.02)
            finally:
                os.kill(rx._child.pid, signal.SIGCONT)
            await asyncio.sleep(0.3)
        return before, performer.state().jack_xruns


def test_xruns_are_counted_in_the_state_and_logged_once_a_burst(jack_server, caplog):
    async def run():
        async with Performer(set_config("lj-xruns")) as performer:
            counts = await stall_a_listener(performer, "lj-xruns", stalls=3)
            child = performer._xruns._process
        return counts, child, performer.state()

    with caplog.at_level(logging.INFO, logger=LOGGER):
        (before, after), child, state = asyncio.run(run())
    assert before == 0 and after >= 3  # three stalls, an xrun at least each
    assert state.jack_xruns >= after and state.refused_messages == 0
    assert child.exitcode == 0  # the watch's process ended when told, closing its client
    lines = xrun_lines(caplog)
    # the first at once, then a count at most every 10 s (and what is left at close): a
    # line or two for the whole test, never one an xrun
    assert lines[0].startswith("JACK reported an xrun: a period's deadline was missed")
    assert len(lines) <= 2 < state.jack_xruns
    if len(lines) == 2:
        assert lines[1].endswith(f"({state.jack_xruns} in all)")


def test_off_jack_there_is_no_watch(tmp_path):
    """Another backend (here none at all: the sinks are the test's) starts no xrun child."""
    from latentjam.engine.sinks import MemorySink

    async def run():
        config = set_config("lj-none")
        async with Performer(config, sinks={"main": MemorySink()}) as performer:
            return performer._xruns, performer.state().jack_xruns
    assert asyncio.run(run()) == (None, 0)


def test_the_reporter_tells_what_the_child_counted_before_it_closed(jack_server, caplog):
    """Counts the child sent but the loop had not read yet are told at close."""
    async def run():
        reporter = XrunReporter()
        await reporter.open()
        reporter._heard_from_child(("count", 4))
        await reporter.close()
        return reporter

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        reporter = asyncio.run(run())
    assert reporter.count == 4
    assert xrun_lines(caplog)[0].startswith("JACK reported an xrun")
    assert xrun_lines(caplog)[1] == "JACK reported 3 more xruns in the last 0 s (4 in all)"
