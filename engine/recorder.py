"""Recording loops a performer plays in, so they become anchors (walk starts, interpolation
ends) while the set plays.

A take is armed by a command and runs from the next bar line for a number of bars. What
arrives on the set's MIDI input (a process of its own: ``engine.midi_input``) is placed in
musical time through the clock's timeline as it arrives; when the take's last bar has
passed, the notes go on the step grid (``engine.recording``) and the track's model encodes
them into the slot. The input opens at the first take, so a set that never records never
opens it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field

from latentjam.engine.errors import SettingError
from latentjam.engine.loops import Loop, chain
from latentjam.engine.midi_input import MidiInputProcess
from latentjam.engine.recording import recorded_loop
from latentjam.engine.timeline import Timeline
from latentjam.engine.track import Track
from latentjam.engine.transport import bars_to_ticks, next_boundary, ticks_per_step

log = logging.getLogger(__name__)

RECORD_INPUT = "latentjam in"  # the virtual input loops are played into
MAX_TAKE_EVENTS = 4096  # note messages a take keeps (16 bars of 16ths, 8 notes each, on and off)
RECORDED_KEPT = 16  # the latest takes' loops kept for a look (state, tests)


@dataclass
class Take:
    """A recording armed or running: what is played in from ``start_tick`` to ``end_tick``."""

    track: Track
    slot: int
    start_tick: int
    end_tick: int
    bars: int
    events: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    overflowed: bool = False  # more than MAX_TAKE_EVENTS were played in


class LoopRecorder:
    """``port``: an existing input to record from, or None for a virtual "latentjam in".
    ``timeline`` is the clock's; ``spawn`` runs a coroutine in the background (errors
    logged)."""

    def __init__(self, port: str | None, backend: str | None,
                 timeline: Callable[[], Timeline | None],
                 spawn: Callable[[Coroutine], None]) -> None:
        self._port = port
        self._backend = backend
        self._timeline = timeline
        self._spawn = spawn
        self._input: MidiInputProcess | None = None
        self._bar_ticks = bars_to_ticks(1)
        self.takes: list[Take] = []
        self.recorded: deque[Loop] = deque(maxlen=RECORDED_KEPT)  # latest last

    async def arm(self, track: Track, slot: int, bars: int) -> None:
        """Record ``bars`` bars from the next bar line into ``track``'s anchor ``slot``."""
        if self._input is None:
            recorder_input = MidiInputProcess(
                self._port or RECORD_INPUT, virtual=self._port is None, backend=self._backend,
                on_message=self._played_in)
            port = await recorder_input.open()
            self._input = recorder_input
            log.info("loops are played in on %r", port)
        timeline = self._timeline()
        if timeline is None:
            raise SettingError("the transport stopped before the recording could start")
        start = next_boundary(timeline.tick_at_ns(time.perf_counter_ns()) + 1, self._bar_ticks)
        self.takes.append(Take(track, slot, start, start + bars * self._bar_ticks, bars))
        log.info("track %s: recording %d bar(s) into anchor %d from bar %d", track.name, bars,
                 slot, start // self._bar_ticks + 1)

    def _played_in(self, status: int, data: bytes, at_ns: int) -> None:
        kind = status & 0xF0
        timeline = self._timeline()
        if kind not in (0x80, 0x90) or len(data) < 2 or timeline is None:
            return
        tick = timeline.tick_at_ns(at_ns)
        event = (tick, 1 if kind == 0x90 else 0, status & 0x0F, data[0], data[1])
        for take in self.takes:
            if take.start_tick - ticks_per_step() <= tick:
                if len(take.events) < MAX_TAKE_EVENTS:
                    take.events.append(event)
                elif not take.overflowed:  # a flood from the input: the take stays small
                    take.overflowed = True
                    log.warning("track %s: the take holds %d note messages already; the rest "
                                "is ignored", take.track.name, MAX_TAKE_EVENTS)

    def finish_due(self, now_tick: int) -> None:
        """Encode every take whose last bar has passed (call as time goes by)."""
        for take in [t for t in self.takes if now_tick >= t.end_tick]:
            self.takes.remove(take)
            loop = recorded_loop(take.events, take.start_tick, take.bars)
            self.recorded.append(loop)
            window = take.track.window_bars
            played = chain([loop] * (window // loop.bars)) if loop.bars < window else loop
            self._spawn(self._encode(take, played, len(loop.notes)))

    async def _encode(self, take: Take, played: Loop, notes: int) -> None:
        what = f"the {take.bars}-bar take for track {take.track.name}"
        await take.track.encode_loop(take.slot, played, what)
        log.info("track %s: %d notes played in, encoded into anchor %d", take.track.name,
                 notes, take.slot)

    async def close(self) -> None:
        if self._input is not None:
            await self._input.close()
            self._input = None
