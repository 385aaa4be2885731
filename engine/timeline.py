"""Where musical time stands on the output thread's clock: the bridge from ticks to deadlines.

A ``Timeline`` is what every clock source hands the scheduler: tick ``t`` sounds at
``origin_ns + tempo_map.ns_at(t)`` on ``time.perf_counter_ns`` (CLOCK_MONOTONIC on Linux, the
same clock in every process, so a follower process's timestamps are comparable). It is
immutable: an internal clock replaces it when its tempo changes, a follower each time its
estimate moves. Events already handed to the output thread keep the deadlines they were
given, which is why a follower keeps the scheduler's look-ahead short.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from latentjam.engine.transport import TempoMap


@dataclass(frozen=True, slots=True)
class Timeline:
    """Tick -> deadline (ns on ``time.perf_counter_ns``) and back."""

    tempo_map: TempoMap
    origin_ns: int = 0

    def ns_at(self, tick: int) -> int:
        """The deadline of ``tick`` on the output thread's clock."""
        return self.origin_ns + self.tempo_map.ns_at(tick)

    def tick_at_ns(self, ns: int) -> int:
        """The last tick that sounds at or before ``ns`` (on the output thread's clock)."""
        return self.tempo_map.tick_at_ns(ns - self.origin_ns)

    def bpm_at(self, tick: int) -> Fraction:
        return self.tempo_map.bpm_at(tick)

    @classmethod
    def steady(cls, bpm: float | Fraction, tick: int, at_ns: int) -> Timeline:
        """One tempo through the point where ``tick`` sounds at ``at_ns``."""
        return cls(TempoMap(bpm, start_tick=tick, start_ns=at_ns), 0)
