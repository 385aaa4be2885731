"""Humanization: a pure, seeded function of (notes, rng, params).

Velocity gets accents by position in the bar and by drum instrument, and a random spread;
swing moves the off-beat 16ths later by whole ticks (musical time); length gets a random
spread in ticks; timing gets a random spread and a whole-track push or lag in milliseconds,
carried as each note's ``offset_ns`` for the output edge (ticks stay musical, since the
tempo may change). All amounts zero gives the notes back unchanged.

Every note draws its three random numbers (velocity, timing, length) in input order
whatever the amounts, so a given seed keeps its timing when only the velocity spread
changes. Random spreads are normal with the given standard deviation, clipped at two.

A timing offset moves a whole note (its note-on and note-off), so a note never ends before
it starts, at any tempo. Notes of one part and pitch must not cross at the output either (a
note-off landing after the next note-on of its key cuts that note): a lengthened note keeps
at least half its gap to the next note of its key (or to the next bar line, where the next
batch may start one), and melody notes that touch (one ends where the next of its pitch
starts, within the batch or from ``after``) share one offset, so their note-off and note-on
keep their order at any tempo. Drum hits keep their own offsets: drum voices ignore
note-offs. What is left: same-key notes whose gap is shorter in time than the difference of
their offsets (at most four standard deviations) may still cross.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from latentjam.engine.errors import SettingError
from latentjam.engine.loops import LoopNote
from latentjam.engine.transport import BEATS_PER_BAR, PPQN

SWING_FULL_TICKS = PPQN // 12  # 40: an off-beat 16th moved onto the last 8th-note triplet
CLIP_SIGMAS = 2.0  # random spreads are cut at this many standard deviations
NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class HumanizeParams:
    """Humanize amounts for one track; all zero plays the grid exactly."""

    velocity_spread: float = 0.0  # standard deviation of a random velocity change (MIDI units)
    accent_downbeat: int = 0  # velocity added to notes on the first beat of the bar
    accent_beat: int = 0  # velocity added to notes on the bar's other beats
    accent_offbeat: int = 0  # velocity added to notes on the 8th-note off-beats ("and")
    drum_accents: tuple[tuple[int, int], ...] = ()  # (drum pitch, velocity added) pairs
    timing_spread_ms: float = 0.0  # standard deviation of a random shift of each note (ms)
    swing_percent: float = 0.0  # off-beat 16ths later: 0 straight .. 100 triplet feel (%)
    push_ms: float = 0.0  # whole-track shift (ms): negative plays ahead, positive behind
    length_spread_percent: float = 0.0  # standard deviation of a length change (% of length)

    def __post_init__(self) -> None:
        _check_number("velocity_spread", self.velocity_spread, 0, 64)
        for name in ("accent_downbeat", "accent_beat", "accent_offbeat"):
            _check_int(name, getattr(self, name), -126, 126)
        if not isinstance(self.drum_accents, tuple):
            raise SettingError(f"drum_accents must be a tuple of (pitch, velocity) pairs, "
                               f"got {self.drum_accents!r}")
        for pair in self.drum_accents:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise SettingError(f"drum_accents holds (pitch, velocity) pairs, got {pair!r}")
            _check_int("drum_accents pitch", pair[0], 0, 127)
            _check_int("drum_accents velocity", pair[1], -126, 126)
        _check_number("timing_spread_ms", self.timing_spread_ms, 0, 50)
        _check_number("swing_percent", self.swing_percent, 0, 100)
        _check_number("push_ms", self.push_ms, -100, 100)
        _check_number("length_spread_percent", self.length_spread_percent, 0, 50)


def _check_number(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or not low <= value <= high:
        raise SettingError(f"humanize {name} must be a number in {low}..{high}, got {value!r}")


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingError(f"humanize {name} must be an int in {low}..{high}, got {value!r}")


def humanize(notes: Iterable[LoopNote], rng: np.random.Generator, params: HumanizeParams,
             beats_per_bar: int = BEATS_PER_BAR, after: Iterable[LoopNote] = ()
             ) -> tuple[LoopNote, ...]:
    """The notes humanized, in the order given.

    Ticks are performance ticks (bar lines on multiples of ``beats_per_bar`` beats), which
    place accents and swing. ``after``: the notes humanized just before these (the previous
    bar's), so that a melody note tied over the bar line into a repeat of its pitch keeps
    moving with it.
    """
    notes = tuple(notes)
    if not notes:
        return ()
    draws = np.clip(rng.standard_normal((len(notes), 3)), -CLIP_SIGMAS, CLIP_SIGMAS)
    velocities = [_velocity(note, float(draw), params, beats_per_bar)
                  for note, draw in zip(notes, draws[:, 0], strict=True)]
    swing = round(params.swing_percent * SWING_FULL_TICKS / 100)
    grid = [_swung_span(note, swing) for note in notes]
    successors = _same_key_successors(notes, grid)
    spans = _spread_lengths(grid, successors, draws[:, 2], params.length_spread_percent,
                            beats_per_bar * PPQN)
    offsets = [note.offset_ns + round((float(draw) * params.timing_spread_ms + params.push_ms)
                                      * NS_PER_MS)
               for note, draw in zip(notes, draws[:, 1], strict=True)]
    offsets = _legato_offsets(notes, grid, spans, successors, offsets, tuple(after))
    return tuple(
        LoopNote(note.part, note.pitch, velocity, start, end, note.is_drum, offset)
        for note, velocity, (start, end), offset in zip(notes, velocities, spans, offsets,
                                                        strict=True))


def _velocity(note: LoopNote, draw: float, params: HumanizeParams, beats_per_bar: int) -> int:
    accent = 0
    if note.start_tick % (beats_per_bar * PPQN) == 0:
        accent = params.accent_downbeat
    elif note.start_tick % PPQN == 0:
        accent = params.accent_beat
    elif note.start_tick % PPQN == PPQN // 2:
        accent = params.accent_offbeat
    if note.is_drum:
        accent += sum(delta for pitch, delta in params.drum_accents if pitch == note.pitch)
    velocity = note.velocity + accent + round(draw * params.velocity_spread)
    return min(max(velocity, 1), 127)


def _swing_tick(tick: int, swing: int) -> int:
    return tick + swing if tick % (PPQN // 2) == PPQN // 4 else tick


def _swung_span(note: LoopNote, swing: int) -> tuple[int, int]:
    # Ends move with the grid too, so notes that touch keep touching.
    start = _swing_tick(note.start_tick, swing)
    end = _swing_tick(note.end_tick, swing)
    return start, max(end, start + 1)


def _same_key_successors(notes: tuple[LoopNote, ...],
                         spans: list[tuple[int, int]]) -> dict[int, int]:
    """For each note's index, the index of the next note of its part and pitch, if any."""
    order = sorted(range(len(notes)), key=lambda i: (notes[i].part, notes[i].pitch, spans[i]))
    return {
        first: second for first, second in zip(order, order[1:], strict=False)
        if (notes[first].part, notes[first].pitch) == (notes[second].part, notes[second].pitch)
    }


def _spread_lengths(grid: list[tuple[int, int]], successors: dict[int, int],
                    draws: np.ndarray, spread_percent: float,
                    bar_ticks: int) -> list[tuple[int, int]]:
    if spread_percent == 0:
        return grid
    spans = []
    for i, (start, end) in enumerate(grid):
        scale = 1 + float(draws[i]) * spread_percent / 100
        new_end = start + max(1, round((end - start) * scale))
        if new_end > end:
            # The next note of this key, or the next bar line where one of the next batch
            # may start: a lengthened note keeps at least half the gap before it.
            following = grid[successors[i]][0] if i in successors \
                else -(-end // bar_ticks) * bar_ticks
            new_end = min(new_end, max(end, following - (following - end) // 2))
        spans.append((start, new_end))
    return spans


def _legato_offsets(notes: tuple[LoopNote, ...], grid: list[tuple[int, int]],
                    spans: list[tuple[int, int]], successors: dict[int, int],
                    offsets: list[int], after: tuple[LoopNote, ...]) -> list[int]:
    """Melody notes that touch the next note of their key share its offset (drum voices
    ignore note-offs, and their hits keep their own timing)."""
    shared = list(offsets)
    tied_in = {(n.part, n.pitch, n.end_tick): n.offset_ns for n in after if not n.is_drum}
    for i, note in enumerate(notes):
        key = (note.part, note.pitch, spans[i][0])
        if not note.is_drum and key in tied_in:
            shared[i] = tied_in[key]
    for i in sorted(successors, key=lambda i: spans[i][0]):
        following = successors[i]
        touching = spans[i][1] == spans[following][0] or grid[i][1] == grid[following][0]
        if touching and not notes[i].is_drum:
            shared[following] = shared[i]
    return shared
