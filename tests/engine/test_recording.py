"""Notes played in, onto the step grid: rounding, the edges of the take, drums, and the
NoteSequence the converter reads back note for note."""

from latentjam.engine.loops import steps_of
from latentjam.engine.recording import recorded_loop
from latentjam.engine.transport import ticks_per_step
from latentjam.models.configs import get_config
from latentjam.models.encodings.converters import get_converter
from latentjam.models.parts import DRUMS, MELODY
from latentjam.models.service.answer import loop_sequence

STEP = ticks_per_step()
START = 7680  # the take starts at bar 5


def on(step_ticks, pitch, channel=0, velocity=100):
    return (START + step_ticks, 1, channel, pitch, velocity)


def off(step_ticks, pitch, channel=0):
    return (START + step_ticks, 0, channel, pitch, 0)


def test_notes_round_to_the_nearest_step_and_keep_at_least_one():
    loop = recorded_loop([on(-30, 60), off(2 * STEP + 50, 60),  # early, long
                          on(4 * STEP + 40, 62), off(4 * STEP + 70, 62),  # a flick
                          on(15 * STEP + 70, 64), off(16 * STEP, 64)],  # the next loop's
                         START, bars=1)
    assert [(n.pitch, n.start_tick // STEP, n.end_tick // STEP) for n in loop.notes] == [
        (60, 0, 2), (62, 4, 5)]


def test_a_held_note_stops_at_the_end_and_drums_are_drums():
    loop = recorded_loop([on(0, 36, channel=9), off(STEP, 36, channel=9), on(8 * STEP, 67)],
                         START, bars=1)
    assert [(n.part, n.pitch, n.is_drum, n.end_tick // STEP) for n in loop.notes] == [
        (DRUMS, 36, True, 1), (MELODY, 67, False, 16)]


def test_a_note_on_at_velocity_zero_ends_a_note():
    loop = recorded_loop([on(0, 60), on(3 * STEP, 60, velocity=0)], START, bars=1)
    assert [(n.start_tick, n.end_tick) for n in loop.notes] == [(0, 3 * STEP)]


def test_the_converter_reads_the_take_back_note_for_note():
    notes = [on(0, 60), off(2 * STEP, 60), on(4 * STEP, 67), off(12 * STEP, 67),
             on(20 * STEP, 65), off(31 * STEP, 65)]
    loop = recorded_loop(notes, START, bars=2)
    converter = get_converter(get_config("cat-mel_2bar_small"))
    (window,) = converter.to_examples(loop_sequence(steps_of(loop, 4), 4)).examples
    back = converter.to_sequence(window, qpm=15.0)  # a step a second
    assert [(n.pitch, round(n.start_time), round(n.end_time)) for n in back.notes] == [
        (n.pitch, n.start_tick // STEP, n.end_tick // STEP) for n in loop.notes]
