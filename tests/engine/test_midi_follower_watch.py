"""When a followed clock's input is opened anew (issue 10, findings 2 and 3), with a fake
input and port list: a master held up for a moment, a port list that misses the port while
pulses still come, or pulses that wait in the pipe while the loop was busy never cost a
reopening (each loses what the master sends meanwhile); a master gone silent on a listed port
(restarted under the same name) is opened anew."""

from __future__ import annotations

import asyncio
import time

import pytest
from latentjam.engine.clocks import midi_follower
from latentjam.engine.clocks.base import ClockLost
from latentjam.engine.clocks.midi_follower import MidiClockFollower
from latentjam.engine.ports import PortListing

PORT = "master:clock"
PERIOD_S = 0.02  # a pulse every 20 ms: 125 BPM


class FakeInput:
    """Stands for ``MidiInputProcess``: messages that arrived but wait in the pipe are
    handed on by ``drain``; ``open`` counts the openings."""

    port_name = PORT
    received = 1

    def __init__(self) -> None:
        self.follower: MidiClockFollower | None = None
        self.pending: list[tuple[int, int]] = []  # (status, arrival ns)
        self.opened = 0

    def drain(self) -> None:
        pending, self.pending = self.pending, []
        for status, at_ns in pending:
            self.follower._message(status, b"", at_ns)

    async def open(self) -> str:
        self.opened += 1
        return PORT

    async def close(self) -> None:
        pass


class FakeLister:
    def __init__(self) -> None:
        self.latest = PortListing("fake", [PORT], [])

    def listed(self, yes: bool) -> None:
        self.latest = PortListing("fake", [PORT] if yes else [], [])


@pytest.fixture
def quick_watch(monkeypatch):
    monkeypatch.setattr(midi_follower, "WATCH_PERIOD_S", 0.01)


async def following():
    follower = MidiClockFollower(PORT, virtual=False)
    fake = FakeInput()
    fake.follower, follower._input = follower, fake
    follower._events = asyncio.Queue()
    lister = FakeLister()
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(follower._watch(lister)), loop.create_task(follower._check_loop())]
    follower._message(0xFA, b"", time.perf_counter_ns())
    return follower, fake, lister, tasks


async def pulses(follower: MidiClockFollower, count: int) -> None:
    for _ in range(count):
        follower._message(0xF8, b"", time.perf_counter_ns())
        await asyncio.sleep(PERIOD_S)


async def finish(tasks) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def events_of(follower: MidiClockFollower) -> list:
    out = []
    while not follower._events.empty():
        out.append(follower._events.get_nowait())
    return out


def test_a_master_held_up_for_moments_is_never_reopened(quick_watch):
    async def run():
        follower, fake, lister, tasks = await following()
        for _ in range(4):  # held up 400 ms four times: lost for 300 ms of each
            await pulses(follower, 10)
            await asyncio.sleep(0.4)
        await pulses(follower, 10)
        lost = any(isinstance(e, ClockLost) for e in events_of(follower))
        await finish(tasks)
        return lost, fake.opened

    lost, opened = asyncio.run(run())
    assert lost  # each hold was long enough to count as lost ...
    assert opened == 0  # ... but none was a silence: the connection was never reopened


def test_a_port_list_that_misses_the_port_while_pulses_come_costs_no_reopening(quick_watch):
    async def run():
        follower, fake, lister, tasks = await following()
        await pulses(follower, 5)
        lister.listed(False)
        await pulses(follower, 3)
        lister.listed(True)
        await pulses(follower, 20)
        await finish(tasks)
        return fake.opened, follower.pulses_heard

    assert asyncio.run(run()) == (0, 28)


def test_pulses_waiting_in_the_pipe_are_no_silence(quick_watch):
    async def run():
        follower, fake, lister, tasks = await following()
        await pulses(follower, 10)
        began = time.perf_counter_ns()
        time.sleep(0.3)  # the loop is held up; the child stamped pulses meanwhile
        fake.pending = [(0xF8, began + k * round(PERIOD_S * 1e9)) for k in range(1, 16)]
        await asyncio.sleep(0.03)  # the silence check runs first, the pipe not yet read
        await pulses(follower, 10)
        await finish(tasks)
        return events_of(follower), fake.opened

    events, opened = asyncio.run(run())
    assert not any(isinstance(e, ClockLost) for e in events) and opened == 0


def test_a_master_silent_on_a_listed_port_is_opened_anew(quick_watch):
    """kill -9 and a restart faster than the port list is read: the port stays listed, our
    connection went with the old master, no pulse comes: opened anew after a second."""
    async def run():
        follower, fake, lister, tasks = await following()
        await pulses(follower, 10)
        await asyncio.sleep(1.3)
        opened = fake.opened
        await finish(tasks)
        return opened, follower.reopened

    opened, reopened = asyncio.run(run())
    assert opened >= 1 and reopened == opened


def test_a_stopped_master_whose_port_went_and_came_back_is_opened_anew(quick_watch):
    async def run():
        follower, fake, lister, tasks = await following()
        await pulses(follower, 5)
        follower._message(0xFC, b"", time.perf_counter_ns())  # Stop, then it quits
        lister.listed(False)
        await asyncio.sleep(0.1)
        lister.listed(True)  # a new one under the same name
        await asyncio.sleep(1.2)
        await finish(tasks)
        return fake.opened

    assert asyncio.run(run()) >= 1
