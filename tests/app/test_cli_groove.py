"""``latentjam groove`` on real MIDI files: a template taken from a clip with known offsets
gets them back, and laid on a quantized file moves and shapes its notes."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import pytest
from latentjam.app.cli import main
from latentjam.app.groove_file import clip_onsets

TPB = 96  # a file's own resolution: 24 ticks a 16th


def write_clip(path: Path, late_ticks: int, soft: int, loud: int, bars: int = 2) -> Path:
    """Hats on every 16th (channel 10), each off-beat 16th ``late_ticks`` late at ``soft``."""
    mid = mido.MidiFile(ticks_per_beat=TPB)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    events = []
    for step in range(16 * bars):
        at = step * 24 + (late_ticks if step % 2 else 0)
        events += [(at, mido.Message("note_on", channel=9, note=42,
                                     velocity=soft if step % 2 else loud)),
                   (at + 6, mido.Message("note_off", channel=9, note=42, velocity=0))]
    now = 0
    for at, message in sorted(events, key=lambda e: e[0]):
        track.append(message.copy(time=at - now))
        now = at
    mid.save(path)
    return path


def test_extract_gets_the_known_offsets_back(tmp_path: Path, capsys):
    clip = write_clip(tmp_path / "played.mid", late_ticks=6, soft=50, loud=110)  # 0.25 step
    assert main(["groove", "extract", str(clip), "--out", str(tmp_path / "funk.groove")]) == 0
    assert "2 bar(s), 32 of 32 slots played, 1 drum voices" in capsys.readouterr().out
    data = json.loads((tmp_path / "funk.groove").read_text())
    hats = data["voices"]["42"]
    assert hats["timing"][1] == pytest.approx(0.25) and hats["timing"][0] == 0
    assert hats["velocity"][:2] == [110, 50]
    assert main(["groove", "extract", str(clip), "--out", str(tmp_path / "funk.groove")]) == 2
    assert "exists; nothing was written over it" in capsys.readouterr().err


def test_apply_lays_the_groove_on_a_quantized_file(tmp_path: Path, capsys):
    played = write_clip(tmp_path / "played.mid", late_ticks=6, soft=50, loud=110)
    assert main(["groove", "extract", str(played), "--out", str(tmp_path / "f.groove")]) == 0
    grid = write_clip(tmp_path / "grid.mid", late_ticks=0, soft=90, loud=90)
    out = tmp_path / "grooved.mid"
    assert main(["groove", "apply", str(grid), str(tmp_path / "f.groove"), "--out", str(out),
                 "--timing", "50"]) == 0
    assert "32 notes grooved" in capsys.readouterr().out
    onsets = clip_onsets(mido.MidiFile(out))
    assert [round(step, 3) for step, *_ in onsets[:4]] == [0, 1.125, 2, 3.125]  # half of 0.25
    assert [velocity for _, _, velocity, _ in onsets[:2]] == [110, 50]
    messages = [m for m in mido.MidiFile(out).tracks[0]]
    assert messages[-1].type == "end_of_track"
    ons = sum(1 for m in messages if m.type == "note_on" and m.velocity)
    offs = sum(1 for m in messages if m.type == "note_off")
    assert ons == offs == 32


def test_a_groove_in_a_set_is_read_with_the_set_and_a_bad_one_named(tmp_path: Path):
    from latentjam.app.set_file import live_set_from_dict
    from latentjam.engine.errors import SettingError

    played = write_clip(tmp_path / "played.mid", late_ticks=6, soft=50, loud=110)
    assert main(["groove", "extract", str(played), "--out", str(tmp_path / "f.groove")]) == 0
    live = live_set_from_dict({"tracks": [{"name": "drums", "model": "drums",
                                           "groove": str(tmp_path / "f.groove"),
                                           "groove_timing": 60}]})
    assert live.grooves["drums"].voices[42].timing[1] == pytest.approx(0.25)
    with pytest.raises(SettingError, match=r"set.toml: tracks\[0\].groove: .*no such groove"):
        live_set_from_dict({"tracks": [{"name": "d", "groove": "none.groove"}]}, "set.toml")
    with pytest.raises(SettingError, match=r"tracks\[0\]: groove_amount must be a number"):
        live_set_from_dict({"tracks": [{"name": "d", "groove_amount": 150}]})
