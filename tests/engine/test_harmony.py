"""One key: a loop's pitched notes moved together into the song's key, drums left alone."""

from __future__ import annotations

import pytest
from latentjam.engine.errors import SettingError
from latentjam.engine.harmony import Key, best_shift, in_key_share, transposed
from latentjam.engine.loops import LoopNote


def notes(pitches, drum=None):
    out = [LoopNote("melody", p, 90, i * 120, (i + 1) * 120) for i, p in enumerate(pitches)]
    if drum is not None:
        out.append(LoopNote("drums", drum, 100, 0, 120, is_drum=True))
    return out


def test_a_loop_is_moved_by_the_smallest_step_that_puts_it_in_the_key():
    d_major = notes([62, 64, 66, 67, 69, 71, 73], drum=37)  # D major's scale
    shift, share = best_shift(d_major, Key(0))  # into C major
    assert (shift, share) == (-2, 1.0)
    moved = transposed(d_major, shift)
    assert [n.pitch for n in moved if not n.is_drum] == [60, 62, 64, 65, 67, 69, 71]
    assert [n.pitch for n in moved if n.is_drum] == [37]  # drums never move
    assert in_key_share(moved, Key(0)) == 1.0
    assert best_shift(notes([57, 60, 64]), Key(9, minor=True)) == (0, 1.0)  # already there
    assert in_key_share(notes([], drum=36), Key(4)) == 1.0


def test_moves_stay_inside_midi_and_keys_are_checked():
    (high,) = transposed(notes([126]), 5)
    assert high.pitch == 119
    with pytest.raises(SettingError, match="tonic must be 0..11"):
        Key(12)
    assert str(Key(9, True)) == "A minor" and str(Key(6)) == "F# major"
