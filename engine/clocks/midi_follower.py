"""Following an external MIDI clock (a DAW or a drum machine leads; the engine follows).

The input runs in a process of its own (``engine.midi_input`` says why); its timestamped
messages feed ``TempoFollower``, whose transport events go to the performer and whose
timeline the scheduler reads. An existing input (another program's clock output) is watched
as the output ports are: when it goes (the master quits or crashes) the engine free-runs and
says so, and when a port of that name is listed again, or the clock stays silent though its
port is listed (a master restarted faster than the port list is read), the input is opened
anew, so the master's next Start, pulses and Stop are obeyed.

Silence is told by the pulses' arrival stamps, with the pipe read first: an engine held up
for a moment finds its master's pulses waiting in the pipe, which is no silence. Opening the
input anew loses what the master sends meanwhile, so it waits for a silence a held-up master
never makes (``REOPEN_SILENT_AFTER_S``): before, a clock lost for 100 ms on a loaded machine
was opened anew at the next look at the port list, and a second of pulses went with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from latentjam.engine.clocks.base import ClockLost, TransportEvent
from latentjam.engine.clocks.tempo_follower import TempoFollower
from latentjam.engine.errors import PortError
from latentjam.engine.midi_input import MidiInputProcess
from latentjam.engine.port_lister import PortLister
from latentjam.engine.timeline import Timeline

log = logging.getLogger(__name__)

VIRTUAL_INPUT = "latentjam clock in"
CHECK_PERIOD_S = 0.02  # how often a silent clock is looked for
WATCH_PERIOD_S = 0.5  # how often an existing input's port is looked for in the port list
REOPEN_SILENT_AFTER_S = 1.0  # a listed input silent this long while playing is opened anew


class MidiClockFollower:
    kind = "midi"
    leads = False

    def __init__(self, port_name: str | None = None, *, virtual: bool = True,
                 backend: str | None = None, initial_bpm: float = 120.0) -> None:
        self.follower = TempoFollower(initial_bpm)
        self._input = MidiInputProcess(port_name or VIRTUAL_INPUT, virtual=virtual,
                                       backend=backend, on_message=self._message,
                                       on_lost=self._input_lost)
        self._virtual, self._backend = virtual, backend
        self._events: asyncio.Queue[TransportEvent] | None = None
        self._check_task: asyncio.Task | None = None
        self._watch_task: asyncio.Task | None = None
        self._input_gone = False
        self._opened_at = time.monotonic()
        self.reopened = 0  # times the input was opened anew after its port came back
        self.pulses_heard = 0  # clock pulses that reached the follower, every opening's
        self._run_pulses = 0  # of those, since the master's last Start or Continue
        self._heard_ns: int | None = None  # when the last message of any kind arrived
        self._refusal_logged = False

    @property
    def port_name(self) -> str | None:
        return self._input.port_name

    async def open(self, events: asyncio.Queue[TransportEvent]) -> None:
        self._events = events
        name = await self._input.open()
        loop = asyncio.get_running_loop()
        self._check_task = loop.create_task(self._check_loop(), name="midi clock: silence")
        if not self._virtual:
            self._watch_task = loop.create_task(self._watch_loop(), name="midi clock: port")
        log.info("following the MIDI clock on %r", name)

    def _message(self, status: int, data: bytes, at_ns: int) -> None:
        self._heard_ns = at_ns
        if status == 0xF8:
            self.pulses_heard += 1
            self._run_pulses += 1
        elif status in (0xFA, 0xFB):
            self._run_pulses = 0
        elif status == 0xFC and self.follower.playing:
            # what a count downstream is checked against (benchmarks/bench_faults.py)
            log.info("the master's Stop: %d pulses heard since its start", self._run_pulses)
        for event in self.follower.on_message(status, data, at_ns):
            self._events.put_nowait(event)

    def _input_lost(self) -> None:
        self._input_gone = True
        log.error("free-running at %.1f BPM", self.follower.bpm)
        self._free_run()

    def _free_run(self) -> None:
        if self.follower.playing and not self.follower.lost:
            self.follower.lost = True
            self._events.put_nowait(ClockLost(self.follower.bpm))

    async def _watch_loop(self) -> None:
        lister = PortLister(self._backend)  # listing here would stall the clock (port_lister)
        await lister.open()
        try:
            await self._watch(lister)
        finally:
            await lister.close()

    async def _watch(self, lister: PortLister) -> None:
        while True:
            await asyncio.sleep(WATCH_PERIOD_S)
            if lister.latest is None:
                continue
            listed = self._input.port_name in lister.latest.inputs
            if not listed and not self._input_gone:
                self._input_gone = True
                log.warning("the MIDI clock input %r has gone; free-running at %.1f BPM "
                            "until it comes back", self._input.port_name, self.follower.bpm)
                self._free_run()
            elif listed and (self._input_gone and not self._heard_lately()
                             or self._silent_while_playing()):
                # A master that restarts at once keeps its port's name, but our connection
                # to it went with the old one: a silent input is opened anew. One that
                # still delivers (the port list missed its port a moment) is left alone.
                await self._reopen()

    def _heard_lately(self) -> bool:
        """A message arrived (the pipe read first) within ``REOPEN_SILENT_AFTER_S``: the
        connection lives, and opening it anew would only lose what comes meanwhile."""
        self._input.drain()
        return self._heard_ns is not None and \
            time.perf_counter_ns() - self._heard_ns < REOPEN_SILENT_AFTER_S * 1e9

    def _silent_while_playing(self) -> bool:
        """The master's pulses stopped coming, not held up for a moment: no pulse has arrived
        for ``REOPEN_SILENT_AFTER_S`` (once the pipe is read), nor since the last opening."""
        self._input.drain()
        last = self.follower.last_pulse_ns
        if not self.follower.lost or last is None:
            return False
        silence_s = (time.perf_counter_ns() - last) / 1e9
        return silence_s >= REOPEN_SILENT_AFTER_S and \
            time.monotonic() - self._opened_at >= REOPEN_SILENT_AFTER_S

    async def _reopen(self) -> None:
        name = self._input.port_name
        await self._input.close()
        try:
            await self._input.open()
        except PortError as err:
            log.debug("the clock input %r is listed but does not open yet: %s", name, err)
            return
        self._input_gone = False
        self._opened_at = time.monotonic()
        self.reopened += 1
        log.warning("the MIDI clock input %r is back; following it again", name)

    async def _check_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECK_PERIOD_S)
            self._input.drain()  # pulses waiting in the pipe are no silence
            for event in self.follower.check(time.perf_counter_ns()):
                self._events.put_nowait(event)

    async def close(self) -> None:
        for task in (self._check_task, self._watch_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._check_task = self._watch_task = None
        await self._input.close()
        # what a count downstream is checked against (benchmarks/bench_faults.py reads it)
        log.info("the MIDI clock input heard %d pulses (opened anew %d times)",
                 self.pulses_heard, self.reopened)

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
