"""The internal master clock: the engine keeps time itself and leads (sends MIDI clock).

Time is a ``TempoMap`` anchored at the moment of Start (plus a short pre-roll, so that the
first bar's messages reach the output thread before they are due). A tempo change starts a
new segment at the first tick not yet handed to the output thread, at the time the old tempo
gives that tick: no jump, no drift (the map is exact; see ``transport``).
"""

from __future__ import annotations

import asyncio
import math
import time

from latentjam.engine.clocks.base import Started, Stopped, TempoChanged, TransportEvent
from latentjam.engine.commands import MAX_BPM, MIN_BPM  # the tempo range, stated once
from latentjam.engine.errors import SettingError
from latentjam.engine.midi_clock_out import TICKS_PER_MIDI_BEAT
from latentjam.engine.timeline import Timeline
from latentjam.engine.transport import TempoMap

DEFAULT_PRE_ROLL_MS = 50.0


def check_bpm(bpm: object) -> float:
    if isinstance(bpm, bool) or not isinstance(bpm, int | float) or not math.isfinite(bpm) \
            or not MIN_BPM <= bpm <= MAX_BPM:
        raise SettingError(f"tempo must be {MIN_BPM:g}..{MAX_BPM:g} BPM, got {bpm!r}")
    return float(bpm)


class InternalClock:
    kind = "internal"
    leads = True

    def __init__(self, bpm: float = 120.0, pre_roll_ms: float = DEFAULT_PRE_ROLL_MS) -> None:
        self._bpm = check_bpm(bpm)
        self._pre_roll_ns = round(pre_roll_ms * 1e6)
        self._timeline: Timeline | None = None
        self._stopped_at = 0  # where Continue resumes
        self._events: asyncio.Queue[TransportEvent] | None = None

    async def open(self, events: asyncio.Queue[TransportEvent]) -> None:
        self._events = events

    async def close(self) -> None:
        self._timeline = None

    def timeline(self) -> Timeline | None:
        return self._timeline

    def _put(self, event: TransportEvent) -> None:
        if self._events is not None:
            self._events.put_nowait(event)

    def start(self, resume: bool = False) -> None:
        if self._timeline is not None:
            return
        # Resume on a 16th note: the position Song Position Pointer can tell a receiver.
        tick = self._stopped_at // TICKS_PER_MIDI_BEAT * TICKS_PER_MIDI_BEAT if resume else 0
        at_ns = time.perf_counter_ns() + self._pre_roll_ns
        self._timeline = Timeline(TempoMap(self._bpm, start_tick=tick, start_ns=at_ns))
        self._put(Started(tick, resumed=resume))

    def stop(self) -> None:
        if self._timeline is None:
            return
        self._stopped_at = max(self._timeline.tick_at_ns(time.perf_counter_ns()), 0)
        self._timeline = None
        self._put(Stopped(self._stopped_at))

    def set_tempo(self, bpm: float, from_tick: int) -> None:
        self._bpm = check_bpm(bpm)
        timeline = self._timeline
        if timeline is not None:
            now_tick = timeline.tick_at_ns(time.perf_counter_ns())
            # Segments wholly in the past are dropped: a set with a tempo change a bar does
            # not grow its map for hours.
            tempo_map = timeline.tempo_map.since(now_tick).with_tempo(max(from_tick, now_tick),
                                                                      self._bpm)
            self._timeline = Timeline(tempo_map, timeline.origin_ns)
        self._put(TempoChanged(self._bpm))

    def status(self) -> str:
        return "playing" if self._timeline is not None else "stopped"
