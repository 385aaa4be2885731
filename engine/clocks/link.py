"""Ableton Link: the engine joins a Link session (Live, Bitwig, phone apps on the same network)
and plays in time with it, through the ``aalink`` package.

Link shares a beat timeline, a tempo that any peer may change, and (when enabled) start and
stop. Its clock is the host's CLOCK_MONOTONIC_RAW, not the output thread's CLOCK_MONOTONIC
(they differ by an offset and slowly in rate), so the timeline is not converted from Link's
times: each call reads Link's beat *now* and ``perf_counter_ns`` back to back and anchors a
tempo line there. The engine's tick 0 is the bar line (a multiple of ``quantum`` beats) at
which it starts, so every peer hears bars line up.

Link discovers peers by UDP multicast on the machine's networks; it is enabled only while
``open``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from fractions import Fraction

from latentjam.engine.clocks.base import Started, Stopped, TempoChanged, TransportEvent
from latentjam.engine.clocks.internal import check_bpm
from latentjam.engine.errors import EngineError
from latentjam.engine.timeline import Timeline
from latentjam.engine.transport import NS_PER_SECOND, PPQN, TempoMap

log = logging.getLogger(__name__)


class LinkClock:
    kind = "link"
    leads = True  # it proposes tempo and start/stop to the session

    def __init__(self, bpm: float = 120.0, quantum: int = 4) -> None:
        self._bpm = check_bpm(bpm)
        self._quantum = quantum
        self._link = None
        self._events: asyncio.Queue[TransportEvent] | None = None
        self._start_beat: float | None = None  # Link beat of our tick 0 while playing
        self._stopped_tick = 0

    async def open(self, events: asyncio.Queue[TransportEvent]) -> None:
        try:
            import aalink
        except ImportError as err:
            raise EngineError(f"the Link clock needs the aalink package (pip install aalink): "
                              f"{err}") from None
        self._events = events
        link = aalink.Link(self._bpm)
        link.quantum = self._quantum
        link.start_stop_sync_enabled = True
        link.set_tempo_callback(self._tempo_changed)
        link.set_start_stop_callback(self._start_stop)
        link.enabled = True
        self._link = link
        log.info("joined Ableton Link (quantum %d beats); %d peers", self._quantum,
                 link.num_peers)

    async def close(self) -> None:
        if self._link is not None:
            self._link.enabled = False
            self._link = None

    @property
    def peers(self) -> int:
        return self._link.num_peers if self._link is not None else 0

    # -- Link's callbacks (run on the asyncio loop) ------------------------------------------

    def _tempo_changed(self, bpm: float) -> None:
        self._bpm = float(bpm)
        self._put(TempoChanged(self._bpm))

    def _start_stop(self, playing: bool) -> None:
        if playing and self._start_beat is None:
            self._begin()
        elif not playing and self._start_beat is not None:
            self._end()

    def _put(self, event: TransportEvent) -> None:
        if self._events is not None:
            self._events.put_nowait(event)

    # -- the transport -----------------------------------------------------------------------

    def _begin(self) -> None:
        beat = self._link.beat
        # The next bar line of the session (or this one, if we are right on it).
        self._start_beat = math.ceil(beat / self._quantum - 1e-9) * self._quantum
        self._put(Started(0))

    def _end(self) -> None:
        timeline = self.timeline()
        self._stopped_tick = max(timeline.tick_at_ns(time.perf_counter_ns()), 0) \
            if timeline else 0
        self._start_beat = None
        self._put(Stopped(self._stopped_tick))

    def start(self, resume: bool = False) -> None:
        if self._link is None or self._start_beat is not None:
            return
        self._begin()
        self._link.playing = True  # peers with start/stop sync start too

    def stop(self) -> None:
        if self._link is None or self._start_beat is None:
            return
        self._end()
        self._link.playing = False

    def set_tempo(self, bpm: float, from_tick: int) -> None:
        # Link changes tempo for the whole session at once; ``from_tick`` cannot be honoured
        # beyond the look-ahead already handed out.
        self._bpm = check_bpm(bpm)
        if self._link is not None:
            self._link.tempo = self._bpm
        self._put(TempoChanged(self._bpm))

    def timeline(self) -> Timeline | None:
        if self._link is None or self._start_beat is None:
            return None
        beat, now_ns, bpm = self._link.beat, time.perf_counter_ns(), self._link.tempo
        exact_tick = (beat - self._start_beat) * PPQN
        tick = math.floor(exact_tick)
        ns_per_tick = 60 * NS_PER_SECOND / (bpm * PPQN)
        at_ns = now_ns - round((exact_tick - tick) * ns_per_tick)
        return Timeline(TempoMap(Fraction(bpm), start_tick=tick, start_ns=at_ns))

    def status(self) -> str:
        if self._link is None:
            return "stopped"
        if self._start_beat is None:
            return "stopped"
        return "playing"
