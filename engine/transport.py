"""Musical time: integer ticks, and the one place where ticks become seconds.

Inside the engine every time is an integer tick count from the start of the performance.
``PPQN = 480`` holds MIDI clock (24 per beat: 20 ticks), 16th-note steps (120 ticks),
8th and 16th triplets (160 and 80 ticks) and 32nd triplets (40) exactly. The helpers below
are pure and exact; they raise ``ValueError`` rather than round.

``TempoMap`` is the conversion to wall time. It is a list of tempo segments, each anchored
at an absolute (tick, nanosecond) pair, so that the time of any tick is computed from its
segment's anchor in one exact rational step: nothing is accumulated tick by tick, and an
hour of clock ticks at 120 BPM ends at exactly 3600 s. A tempo change starts a new segment at
the time the old tempo gives for its tick (rounded to the nanosecond), so time never jumps.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction

PPQN = 480  # ticks per quarter note (one beat)
CLOCK_PPQN = 24  # MIDI clock messages (0xF8) per beat
TICKS_PER_CLOCK = PPQN // CLOCK_PPQN  # 20 ticks between MIDI clock messages
STEPS_PER_BEAT = 4  # 16th-note steps, as Magenta's 16 steps per 4/4 bar
BEATS_PER_BAR = 4  # 4/4 unless told otherwise
NS_PER_SECOND = 1_000_000_000


def ticks_per_step(steps_per_beat: int = STEPS_PER_BEAT) -> int:
    """Ticks in one step when a beat is divided into ``steps_per_beat`` (4: 16ths, 6: triplets)."""
    if steps_per_beat <= 0 or PPQN % steps_per_beat:
        raise ValueError(f"steps_per_beat must divide {PPQN}, got {steps_per_beat}")
    return PPQN // steps_per_beat


def steps_to_ticks(steps: int, steps_per_beat: int = STEPS_PER_BEAT) -> int:
    return steps * ticks_per_step(steps_per_beat)


def ticks_to_steps(ticks: int, steps_per_beat: int = STEPS_PER_BEAT) -> Fraction:
    return Fraction(ticks, ticks_per_step(steps_per_beat))


def beats_to_ticks(beats: int | Fraction) -> int:
    ticks = Fraction(beats) * PPQN
    if ticks.denominator != 1:
        raise ValueError(f"{beats} beats is not a whole number of ticks at PPQN {PPQN}")
    return int(ticks)


def ticks_to_beats(ticks: int) -> Fraction:
    return Fraction(ticks, PPQN)


def bars_to_ticks(bars: int, beats_per_bar: int = BEATS_PER_BAR) -> int:
    return bars * beats_per_bar * PPQN


def ticks_to_bars(ticks: int, beats_per_bar: int = BEATS_PER_BAR) -> Fraction:
    return Fraction(ticks, beats_per_bar * PPQN)


def bar_and_beat(tick: int, beats_per_bar: int = BEATS_PER_BAR) -> tuple[int, int]:
    """The (bar, beat) a tick falls in, both counted from 0."""
    beat = tick // PPQN
    return beat // beats_per_bar, beat % beats_per_bar


def next_boundary(tick: int, quantum: int) -> int:
    """The first multiple of ``quantum`` ticks at or after ``tick`` ("start at the next bar")."""
    if quantum <= 0:
        raise ValueError(f"quantum must be a positive number of ticks, got {quantum}")
    return -(-tick // quantum) * quantum


def _exact_bpm(bpm: float | Fraction) -> Fraction:
    if isinstance(bpm, bool) or not isinstance(bpm, int | float | Fraction):
        raise TypeError(f"tempo must be a number of beats per minute, got {bpm!r}")
    if not math.isfinite(bpm) or bpm <= 0:
        raise ValueError(f"tempo must be a positive, finite number of BPM, got {bpm}")
    return Fraction(bpm)


@dataclass(frozen=True, slots=True)
class TempoSegment:
    """From ``start_tick`` (at ``start_ns``) on, ``bpm`` beats per minute."""

    start_tick: int
    start_ns: int
    bpm: Fraction

    def exact_ns_at(self, tick: int) -> Fraction:
        return self.start_ns + (tick - self.start_tick) * 60 * NS_PER_SECOND / (self.bpm * PPQN)

    def exact_tick_at(self, ns: int) -> Fraction:
        return self.start_tick + (ns - self.start_ns) * self.bpm * PPQN / (60 * NS_PER_SECOND)


class TempoMap:
    """Tick <-> time conversion through tempo segments with absolute anchors (immutable).

    Times are relative to the map's origin: tick ``start_tick`` sounds at ``start_ns``
    (0 and 0 by default); a scheduler adds its own clock's origin. Ticks before the first
    segment use the first segment's tempo.
    """

    __slots__ = ("_segments", "_starts", "_starts_ns")

    def __init__(self, bpm: float | Fraction, start_tick: int = 0, start_ns: int = 0) -> None:
        self._segments: tuple[TempoSegment, ...] = (
            TempoSegment(start_tick, start_ns, _exact_bpm(bpm)),
        )
        self._starts: tuple[int, ...] = (start_tick,)
        self._starts_ns: tuple[int, ...] = (start_ns,)

    @classmethod
    def _from_segments(cls, segments: tuple[TempoSegment, ...]) -> TempoMap:
        tempo_map = cls.__new__(cls)
        tempo_map._segments = segments
        tempo_map._starts = tuple(s.start_tick for s in segments)
        tempo_map._starts_ns = tuple(s.start_ns for s in segments)
        return tempo_map

    @property
    def segments(self) -> tuple[TempoSegment, ...]:
        return self._segments

    def _segment_for_tick(self, tick: int) -> TempoSegment:
        return self._segments[max(bisect_right(self._starts, tick) - 1, 0)]

    def with_tempo(self, tick: int, bpm: float | Fraction) -> TempoMap:
        """A map whose tempo becomes ``bpm`` at ``tick``; changes at or after ``tick`` are
        replaced. The new segment starts where the old tempo puts ``tick``: no jump."""
        new_bpm = _exact_bpm(bpm)
        kept = self._segments[: max(bisect_right(self._starts, tick - 1), 1)]
        last = kept[-1]
        if tick <= last.start_tick:
            # A change at (or before) the first anchor re-tempos that segment in place.
            return TempoMap._from_segments(
                kept[:-1] + (TempoSegment(last.start_tick, last.start_ns, new_bpm),)
            )
        start_ns = round(last.exact_ns_at(tick))
        return TempoMap._from_segments(kept + (TempoSegment(tick, start_ns, new_bpm),))

    def since(self, tick: int) -> TempoMap:
        """The same map without the segments that end at or before ``tick`` (bounded memory
        for long runs; ticks before ``tick`` are then converted with the earliest kept tempo)."""
        first = max(bisect_right(self._starts, tick) - 1, 0)
        return TempoMap._from_segments(self._segments[first:])

    def bpm_at(self, tick: int) -> Fraction:
        return self._segment_for_tick(tick).bpm

    def exact_ns_at(self, tick: int) -> Fraction:
        return self._segment_for_tick(tick).exact_ns_at(tick)

    def ns_at(self, tick: int) -> int:
        """Nanoseconds from the origin at which ``tick`` sounds (nearest nanosecond)."""
        return round(self.exact_ns_at(tick))

    def seconds_at(self, tick: int) -> float:
        return float(self.exact_ns_at(tick) / NS_PER_SECOND)

    def tick_at_ns(self, ns: int) -> int:
        """The last tick that sounds at or before ``ns``: ``tick_at_ns(ns_at(t)) == t``."""
        segment = self._segments[max(bisect_right(self._starts_ns, ns) - 1, 0)]
        tick = math.floor(segment.exact_tick_at(ns))
        # Rounding ns_at to the nanosecond may put a tick's time one nanosecond either side.
        while self.ns_at(tick + 1) <= ns:
            tick += 1
        while self.ns_at(tick) > ns:
            tick -= 1
        return tick

    def tick_at(self, seconds: float) -> int:
        """The last tick that sounds at or before ``seconds`` from the origin."""
        return self.tick_at_ns(round(Fraction(seconds) * NS_PER_SECOND))

    def __repr__(self) -> str:
        parts = ", ".join(f"{s.start_tick}@{s.start_ns}ns:{float(s.bpm):g}" for s in self._segments)
        return f"TempoMap({parts})"
