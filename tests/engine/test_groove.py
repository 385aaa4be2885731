"""Groove templates, pure: taken from onsets with known timing and velocity, and laid on
grid notes with amounts, per drum voice where the clip had it."""

from __future__ import annotations

import pytest
from latentjam.engine.errors import SettingError
from latentjam.engine.groove import (
    GrooveAmounts,
    extract,
    from_dict,
    grooved,
    to_dict,
)
from latentjam.engine.loops import LoopNote

STEP = 120  # ticks of a 16th


def swung_hats(bars: int = 2):
    """Closed hats on every 16th, the off-beat 16ths 0.2 of a step late and softer; a kick
    on each beat, 0.1 early."""
    onsets = []
    for step in range(16 * bars):
        late = 0.2 if step % 2 else 0.0
        onsets.append((step + late, 42, 60 if step % 2 else 100, True))
        if step % 4 == 0:
            onsets.append((step - 0.1, 36, 120, True))
    return onsets


def test_the_timing_and_velocity_played_come_back_per_slot_and_voice():
    template = extract(swung_hats(), bars=1, source="hats.mid")  # two bars fold onto one
    hats, kick = template.voices[42], template.voices[36]
    assert template.slots == 16
    assert hats.timing[1] == pytest.approx(0.2) and hats.timing[2] == pytest.approx(0.0)
    assert hats.velocity[1] == 60 and hats.velocity[2] == 100
    assert kick.timing[4] == pytest.approx(-0.1) and kick.velocity[4] == 120
    assert kick.velocity[1] == 0  # no kick there
    assert template.all_notes.velocity[4] == pytest.approx(110)  # the kick and the hat


def test_laid_on_grid_notes_with_the_amounts():
    template = extract(swung_hats(), bars=1)
    notes = [LoopNote("drums", 42, 80, s * STEP, s * STEP + 60, True) for s in range(4)]
    full = grooved(notes, template, GrooveAmounts())
    assert [n.start_tick - s * STEP for s, n in enumerate(full)] == [0, 24, 0, 24]
    assert [n.velocity for n in full] == [100, 60, 100, 60]
    half = grooved(notes, template, GrooveAmounts(amount=50, velocity=0))
    assert [n.start_tick - s * STEP for s, n in enumerate(half)] == [0, 12, 0, 12]
    assert {n.velocity for n in half} == {80}
    assert grooved(notes, template, GrooveAmounts(amount=0)) == tuple(notes)
    melody = [LoopNote("melody", 42, 80, STEP, 2 * STEP)]  # not a drum: the all-notes feel
    (note,) = grooved(melody, template, GrooveAmounts())
    assert note.start_tick == STEP + 24 and note.velocity == 60


def test_a_template_goes_to_plain_data_and_back_and_bad_data_is_named():
    template = extract(swung_hats(), bars=2, source="hats.mid")
    assert from_dict(to_dict(template), "x.groove") == template
    broken = to_dict(template)
    broken["all"]["timing"] = broken["all"]["timing"][:3]
    with pytest.raises(SettingError, match="x.groove: .*32 slots"):
        from_dict(broken, "x.groove")
    with pytest.raises(SettingError, match="not a latentjam groove"):
        from_dict({"format": "other"}, "x.groove")
    with pytest.raises(SettingError, match="groove timing must be 0..100"):
        GrooveAmounts(timing=120)
