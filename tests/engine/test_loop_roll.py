"""The piano roll's summary of a loop (loops.roll), and a track's state carrying it."""

from latentjam.engine.loops import ROLL_STEPS_PER_BAR, Loop, LoopNote, roll
from latentjam.engine.transport import bars_to_ticks


def _note(pitch, start_step, end_step, per_step):
    return LoopNote("melody", pitch, 100, start_step * per_step, end_step * per_step)


def test_a_roll_is_the_length_then_start_length_pitch_per_note_in_16ths():
    per_step = bars_to_ticks(1) // ROLL_STEPS_PER_BAR
    loop = Loop((_note(60, 0, 4, per_step), _note(67, 8, 9, per_step),
                 LoopNote("melody", 64, 90, 20 * per_step, 20 * per_step + 1)), bars=2)
    # a note shorter than a step still shows, a step long
    assert roll(loop) == (32, 0, 4, 60, 8, 1, 67, 20, 1, 64)


def test_a_roll_keeps_its_first_notes_only():
    per_step = bars_to_ticks(1) // ROLL_STEPS_PER_BAR
    loop = Loop(tuple(_note(36, s, s + 1, per_step) for s in range(64)), bars=4)
    summary = roll(loop, limit=10)
    assert len(summary) == 1 + 3 * 10 and summary[-3:] == (9, 1, 36)
    assert roll(Loop((), bars=1)) == (16,)
