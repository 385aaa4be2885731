"""``latentjam render`` and ``--audio`` as a user runs them, on the real FluidSynth."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from latentjam.app.cli import main

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None,
                                reason="rendering needs the fluidsynth program "
                                       "(apt-get install fluidsynth timgm6mb-soundfont)")


def test_sample_with_audio_writes_a_render_beside_each_midi_file(tmp_path: Path, capsys):
    assert main(["sample", "--num", "2", "--seed", "3", "--out", str(tmp_path), "--audio",
                 "ogg"]) == 0
    midi = sorted(tmp_path.glob("*.mid"))
    assert len(midi) == 2
    assert sorted(tmp_path.glob("*.ogg")) == [p.with_suffix(".ogg") for p in midi]
    out = capsys.readouterr().out
    assert out.count("LUFS") == 2 and "rendered in" in out


def test_render_writes_the_file_asked_for_and_never_over_one(tmp_path: Path, capsys):
    assert main(["sample", "--num", "1", "--seed", "4", "--out", str(tmp_path)]) == 0
    (midi,) = tmp_path.glob("*.mid")
    assert main(["render", str(midi), str(tmp_path / "loop.flac"), "--no-reverb"]) == 0
    assert (tmp_path / "loop.flac").stat().st_size > 1000
    capsys.readouterr()
    assert main(["render", str(midi), str(tmp_path / "loop.flac")]) == 2
    assert "loop.flac exists; nothing was written over it" in capsys.readouterr().err


def test_a_missing_soundfont_is_said_before_any_midi_is_written(tmp_path: Path, capsys):
    assert main(["sample", "--out", str(tmp_path / "loops"), "--audio", "--soundfont",
                 str(tmp_path / "none.sf2")]) == 2
    assert f"--soundfont {tmp_path / 'none.sf2'}: no such file" in capsys.readouterr().err
    assert not (tmp_path / "loops").exists()
