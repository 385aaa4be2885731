"""Following an external MIDI clock (a DAW or a drum machine leads; the engine follows).

The input runs in a process of its own (``engine.midi_input`` says why); its timestamped
messages feed ``TempoFollower``, whose transport events go to the performer and whose
timeline the scheduler reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from latentjam.engine.clocks.base import ClockLost, TransportEvent
from latentjam.engine.clocks.tempo_follower import TempoFollower
from latentjam.engine.midi_input import MidiInputProcess
from latentjam.engine.timeline import Timeline

log = logging.getLogger(__name__)

VIRTUAL_INPUT = "latentjam clock in"
CHECK_PERIOD_S = 0.02  # how often a silent clock is looked for


class MidiClockFollower:
    kind = "midi"
    leads = False

    def __init__(self, port_name: str | None = None, *, virtual: bool = True,
                 backend: str | None = None, initial_bpm: float = 120.0) -> None:
        self.follower = TempoFollower(initial_bpm)
        self._input = MidiInputProcess(port_name or VIRTUAL_INPUT, virtual=virtual,
                                       backend=backend, on_message=self._message,
                                       on_lost=self._input_lost)
        self._events: asyncio.Queue[TransportEvent] | None = None
        self._check_task: asyncio.Task | None = None
        self._refusal_logged = False

    @property
    def port_name(self) -> str | None:
        return self._input.port_name

    async def open(self, events: asyncio.Queue[TransportEvent]) -> None:
        self._events = events
        name = await self._input.open()
        self._check_task = asyncio.get_running_loop().create_task(
            self._check_loop(), name="midi clock: silence")
        log.info("following the MIDI clock on %r", name)

    def _message(self, status: int, data: bytes, at_ns: int) -> None:
        for event in self.follower.on_message(status, data, at_ns):
            self._events.put_nowait(event)

    def _input_lost(self) -> None:
        log.error("free-running at %.1f BPM", self.follower.bpm)
        if self.follower.playing and not self.follower.lost:
            self.follower.lost = True
            self._events.put_nowait(ClockLost(self.follower.bpm))

    async def _check_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECK_PERIOD_S)
            for event in self.follower.check(time.perf_counter_ns()):
                self._events.put_nowait(event)

    async def close(self) -> None:
        if self._check_task is not None:
            self._check_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._check_task
            self._check_task = None
        await self._input.close()

    def timeline(self) -> Timeline | None:
        return self.follower.timeline()

    def _refuse(self, what: str) -> None:
        if not self._refusal_logged:
            self._refusal_logged = True
            log.warning("%s ignored: the engine follows an external MIDI clock, which decides "
                        "start, stop and tempo", what)

    def start(self, resume: bool = False) -> None:
        self._refuse("play")

    def stop(self) -> None:
        self._refuse("stop")

    def set_tempo(self, bpm: float, from_tick: int) -> None:
        self._refuse("a tempo change")

    def status(self) -> str:
        if self.follower.lost:
            return "free-running"
        if self.follower.playing:
            return "playing"
        return "stopped" if self._input.received else "waiting"
