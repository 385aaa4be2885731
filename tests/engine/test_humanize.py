"""Humanize: identity at zero, seeded, velocity/swing/length/timing rules and their limits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from latentjam.engine.errors import SettingError
from latentjam.engine.humanize import HumanizeParams, humanize
from latentjam.engine.loops import LoopNote

STEP = 120
BEAT = 480
BAR = 4 * BEAT


def grid_notes() -> tuple[LoopNote, ...]:
    """A bar of melody (with a repeated pitch) over 16th hi-hats and a kick on each beat."""
    melody = [LoopNote("melody", 60, 80, 0, 3 * STEP), LoopNote("melody", 62, 80, 3 * STEP,
                                                                  4 * STEP),
              LoopNote("melody", 64, 80, 4 * STEP, 8 * STEP),
              LoopNote("melody", 64, 80, 8 * STEP, 12 * STEP),
              LoopNote("melody", 67, 80, 13 * STEP, 16 * STEP)]
    hats = [LoopNote("drums", 42, 80, s * STEP, (s + 1) * STEP, True) for s in range(16)]
    kicks = [LoopNote("drums", 36, 80, b * BEAT, b * BEAT + STEP, True) for b in range(4)]
    return tuple(melody + hats + kicks)


EVERYTHING = HumanizeParams(velocity_spread=12, accent_downbeat=10, accent_beat=5,
                            accent_offbeat=2, drum_accents=((42, -20),), timing_spread_ms=8,
                            swing_percent=60, push_ms=-3, length_spread_percent=20)


def test_all_zero_plays_the_grid_exactly():
    notes = grid_notes()
    assert humanize(notes, np.random.default_rng(1), HumanizeParams()) == notes


def test_same_seed_same_output_and_another_seed_differs():
    notes = grid_notes()
    first = humanize(notes, np.random.default_rng(7), EVERYTHING)
    assert humanize(notes, np.random.default_rng(7), EVERYTHING) == first
    assert humanize(notes, np.random.default_rng(8), EVERYTHING) != first


def test_each_amount_keeps_its_own_random_numbers():
    notes = grid_notes()
    timing = HumanizeParams(timing_spread_ms=8)
    alone = humanize(notes, np.random.default_rng(3), timing)
    with_velocity = humanize(notes, np.random.default_rng(3),
                             dataclasses.replace(timing, velocity_spread=20))
    assert [n.offset_ns for n in alone] == [n.offset_ns for n in with_velocity]
    assert [n.velocity for n in alone] != [n.velocity for n in with_velocity]


def test_velocities_stay_in_midi_range():
    notes = tuple(dataclasses.replace(n, velocity=v) for n, v in
                  zip(grid_notes(), [1, 127] * 20, strict=False))
    loud = HumanizeParams(velocity_spread=64, accent_downbeat=126, accent_beat=-126)
    for seed in range(20):
        velocities = [n.velocity for n in humanize(notes, np.random.default_rng(seed), loud)]
        assert min(velocities) >= 1 and max(velocities) <= 127
        assert {1, 127} <= set(velocities)  # the clamp was reached both ways


def test_accents_follow_the_position_in_the_bar_and_the_drum():
    params = HumanizeParams(accent_downbeat=20, accent_beat=10, accent_offbeat=5,
                            drum_accents=((42, -30),))
    at = 3 * BAR  # a later bar: positions count from its bar line
    notes = tuple(LoopNote("melody", 60, 80, at + s * STEP, at + (s + 1) * STEP)
                  for s in (0, 1, 2, 4, 6)) + (
        LoopNote("drums", 42, 80, at, at + STEP, True), LoopNote("drums", 36, 80, at + STEP,
                                                                 at + 2 * STEP, True))
    got = [n.velocity for n in humanize(notes, np.random.default_rng(0), params)]
    assert got == [100, 80, 85, 90, 85, 70, 80]


def test_swing_moves_off_beat_sixteenths_by_whole_ticks():
    notes = tuple(LoopNote("melody", 60 + s, 80, s * STEP, (s + 1) * STEP) for s in range(4))
    for percent, shift in ((100, 40), (50, 20), (0, 0)):
        swung = humanize(notes, np.random.default_rng(0), HumanizeParams(swing_percent=percent))
        assert [(n.start_tick, n.end_tick) for n in swung] == [
            (0, STEP + shift), (STEP + shift, 2 * STEP), (2 * STEP, 3 * STEP + shift),
            (3 * STEP + shift, 4 * STEP)]


def test_push_and_spread_become_offsets_in_ns_and_ticks_stay_put():
    notes = grid_notes()
    pushed = humanize(notes, np.random.default_rng(0), HumanizeParams(push_ms=-4.5))
    assert {n.offset_ns for n in pushed} == {-4_500_000}
    assert [(n.start_tick, n.end_tick) for n in pushed] == \
        [(n.start_tick, n.end_tick) for n in notes]
    hits = tuple(LoopNote("drums", 42, 80, s * BEAT, s * BEAT + STEP, True) for s in range(4000))
    spread = humanize(hits, np.random.default_rng(5), HumanizeParams(timing_spread_ms=10))
    offsets_ms = np.array([n.offset_ns for n in spread]) / 1e6
    assert np.abs(offsets_ms).max() <= 20  # clipped at two standard deviations
    assert 8.0 < offsets_ms.std() < 10.0  # a normal clipped at 2 sigma keeps ~88% of sigma


def test_a_note_never_ends_before_it_starts():
    notes = grid_notes() + (LoopNote("bass", 40, 80, 5, 6),)  # one tick long, off the grid
    wild = HumanizeParams(length_spread_percent=50, swing_percent=100, timing_spread_ms=50)
    for seed in range(50):
        for note in humanize(notes, np.random.default_rng(seed), wild):
            assert note.end_tick > note.start_tick


def test_lengthened_notes_keep_half_their_gap_to_the_next_of_their_key():
    gap = STEP
    notes = (LoopNote("melody", 60, 80, 0, STEP), LoopNote("melody", 60, 80, STEP + gap,
                                                           2 * STEP + gap),
             LoopNote("melody", 62, 80, 0, 2 * STEP))  # ends inside the bar
    lengths = HumanizeParams(length_spread_percent=50)
    ends = np.array([[n.end_tick for n in humanize(notes, np.random.default_rng(s), lengths)]
                     for s in range(200)])
    assert ends[:, 0].max() == STEP + gap // 2  # reached the limit, never crossed it
    assert ends[:, 0].min() < STEP  # and shortened too
    assert ends[:, 2].max() <= 2 * STEP + (BAR - 2 * STEP) // 2  # half the gap to the bar line


def test_touching_repeats_of_a_pitch_share_their_offset_and_drums_do_not():
    notes = grid_notes()
    timing = HumanizeParams(timing_spread_ms=10)
    out = humanize(notes, np.random.default_rng(11), timing)
    tied = [n for n in out if n.part == "melody" and n.pitch == 64]
    assert tied[0].offset_ns == tied[1].offset_ns
    hats = [n.offset_ns for n in out if n.pitch == 42]
    assert len(set(hats)) == len(hats)
    others = [n.offset_ns for n in out if n.part == "melody" and n.pitch != 64]
    assert len(set(others)) == len(others)  # different pitches touching keep their own


def test_a_note_tied_over_the_bar_line_moves_with_the_one_before():
    timing = HumanizeParams(timing_spread_ms=10)
    before = humanize((LoopNote("melody", 64, 80, 0, BAR),), np.random.default_rng(1), timing)
    after_bar = (LoopNote("melody", 64, 80, BAR, BAR + STEP),
                 LoopNote("melody", 65, 80, BAR + STEP, BAR + 2 * STEP))
    out = humanize(after_bar, np.random.default_rng(2), timing, after=before)
    assert out[0].offset_ns == before[0].offset_ns
    assert out[1].offset_ns != before[0].offset_ns


@pytest.mark.parametrize("field, value", [
    ("velocity_spread", -1), ("timing_spread_ms", float("nan")), ("swing_percent", 101),
    ("push_ms", True), ("accent_beat", 1.5), ("length_spread_percent", 51),
    ("drum_accents", ((128, 0),)), ("drum_accents", [(36, 5)]),
])
def test_params_out_of_range_are_refused_naming_the_field(field, value):
    with pytest.raises(SettingError, match=field.split("_")[0]):
        HumanizeParams(**{field: value})
