"""Loops a performer plays in: the notes heard during a stretch of bars, as a loop on the
step grid (which the model service encodes). Pure.

A human plays around the grid, so each note's start and end are rounded to the nearest
16th-note step (a note at least one step long); a note struck up to a step before the
first bar line counts as on it, one struck in the last half step of the take counts as the
next loop's and is dropped; a note still held at the end stops there.
"""

from __future__ import annotations

from collections.abc import Iterable

from latentjam.engine.loops import Loop, LoopNote
from latentjam.engine.transport import BEATS_PER_BAR, STEPS_PER_BEAT, ticks_per_step
from latentjam.models.service import DRUMS, MELODY

DRUM_CHANNEL = 9  # General MIDI's channel 10


def recorded_loop(events: Iterable[tuple[int, int, int, int, int]], start_tick: int,
                  bars: int, beats_per_bar: int = BEATS_PER_BAR) -> Loop:
    """The loop of ``bars`` bars from ``start_tick`` in ``events``: (tick, kind, channel,
    pitch, velocity) with kind 1 for a note-on, 0 for a note-off (or a note-on at
    velocity 0), ticks of the performance, in the order they arrived."""
    step = ticks_per_step(STEPS_PER_BEAT)
    steps = bars * beats_per_bar * STEPS_PER_BEAT
    sounding: dict[tuple[int, int], tuple[int, int]] = {}  # (channel, pitch) -> (step, vel)
    notes: list[LoopNote] = []

    def finish(channel: int, pitch: int, end_step: int) -> None:
        began, velocity = sounding.pop((channel, pitch))
        if not 0 <= began < steps:
            return
        end_step = min(max(end_step, began + 1), steps)
        part = DRUMS if channel == DRUM_CHANNEL else MELODY
        notes.append(LoopNote(part, pitch, velocity, began * step, end_step * step,
                              is_drum=channel == DRUM_CHANNEL))

    for tick, kind, channel, pitch, velocity in events:
        at_step = round((tick - start_tick) / step)
        if (channel, pitch) in sounding:  # a repeat before its note-off, or the note-off
            finish(channel, pitch, at_step)
        if kind == 1 and velocity > 0:
            sounding[(channel, pitch)] = (max(at_step, 0) if at_step >= -1 else at_step,
                                          velocity)
    for channel, pitch in list(sounding):
        finish(channel, pitch, steps)
    return Loop(tuple(notes), bars, beats_per_bar)
