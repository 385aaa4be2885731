"""A drum loop's feel as a groove model (GrooVAE) plays it: pure.

The model worker answers a ``HumanizeRequest`` with, per note of the loop, a velocity and a
timing in steps (``ModelResult.played``). Here that answer becomes the loop's feel, keyed by
each note's tick in the loop and pitch, and is laid on a bar's notes in musical time (ticks,
so it holds at any tempo): a note takes its velocity and moves by its timing. A note the
feel does not know (the loop changed) keeps its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from latentjam.engine.loops import Loop, LoopNote
from latentjam.engine.transport import ticks_per_step

Feel = Mapping[tuple[int, int], tuple[int, int]]  # (loop tick, pitch) -> (velocity, ticks)


def feel_of(loop: Loop, played: Sequence[tuple[int, float]], steps_per_quarter: int) -> Feel:
    """The feel of ``loop`` from the model's answer for its notes, in order."""
    if len(played) != len(loop.notes):
        raise ValueError(f"the groove model answered for {len(played)} notes of a loop of "
                         f"{len(loop.notes)}")
    step_ticks = ticks_per_step(steps_per_quarter)
    return {(note.start_tick, note.pitch): (int(velocity), round(timing * step_ticks))
            for note, (velocity, timing) in zip(loop.notes, played, strict=True)}


def felt(notes: Iterable[LoopNote], feel: Feel, loop_start_tick: int) -> tuple[LoopNote, ...]:
    """A bar's ``notes`` (ticks of the performance; the loop began at ``loop_start_tick``)
    played with ``feel``."""
    out = []
    for note in notes:
        known = feel.get((note.start_tick - loop_start_tick, note.pitch))
        if known is None:
            out.append(note)
            continue
        velocity, shift = known
        start = max(note.start_tick + shift, 0)
        end = max(note.end_tick + shift, start + 1)
        out.append(LoopNote(note.part, note.pitch, velocity, start, end, note.is_drum,
                            note.offset_ns))
    return tuple(out)


__all__ = ["Feel", "feel_of", "felt"]
