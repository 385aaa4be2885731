"""``latentjam personalize`` as a user runs it: a folder of real MIDI files in, a .midime out
that ``sample`` takes as a model; bad input stopped with one line naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from latentjam.app.cli import main
from latentjam.models.midi_io import write_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo
from latentjam.models.personalize.midime_file import read_midime_info
from latentjam.models.trained_model import TrainedModel


def riff(seed: int, bars: int = 8, program: int = 0) -> NoteSequence:
    """A random walk of eighth notes at 120 qpm on ``program``."""
    rng = np.random.default_rng(seed)
    pitch, notes = 64, []
    for k in range(bars * 8):
        pitch = int(np.clip(pitch + rng.integers(-3, 4), 55, 79))
        notes.append(Note(pitch, 90, k * 0.25, k * 0.25 + 0.2, program=program))
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=bars * 2.0)


@pytest.fixture
def band(tmp_path: Path) -> Path:
    folder = tmp_path / "band"
    (folder / "album").mkdir(parents=True)
    write_midi(riff(1), folder / "one.mid")
    write_midi(riff(2), folder / "album" / "two.MID")
    write_midi(riff(3, program=81), folder / "lead.mid")  # a synth lead
    (folder / "notes.txt").write_text("not MIDI, not looked at")
    return folder


def test_personalize_writes_a_model_that_sample_plays(band: Path, tmp_path: Path,
                                                      capsys) -> None:
    out = tmp_path / "band.midime"
    assert main(["personalize", str(band), "--out", str(out), "--steps", "60"]) == 0
    printed = capsys.readouterr()
    assert f"wrote {out}: " in printed.out and "from 2 of 3 file(s), 60 steps" in printed.out
    assert "two.MID: " in printed.out and "window(s)" in printed.out
    assert "lead.mid: skipped: no 2-bar melody window (no note on a melody program (0-31" \
        in printed.out and "found programs 81" in printed.out
    assert "--any-program takes the songs" in printed.err
    assert "step 60/60" in printed.err  # progress
    assert read_midime_info(out).name == "mel_2bar_chorales"
    assert TrainedModel.load(out).vae.z_size == 4

    loops = tmp_path / "loops"
    assert main(["sample", "--model", str(out), "--num", "3", "--out", str(loops),
                 "--seed", "1"]) == 0
    written = sorted(loops.glob("band_sample_*.mid"))
    assert len(written) == 3 and all(p.stat().st_size > 30 for p in written)

    again = tmp_path / "any.midime"
    assert main(["personalize", str(band), "--out", str(again), "--steps", "5",
                 "--any-program"]) == 0
    assert "from 3 of 3 file(s)" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["empty folder", "missing", "not midi", "exists", "suffix"])
def test_bad_input_is_one_line_naming_it(case: str, tmp_path: Path, band: Path,
                                        capsys) -> None:
    out = tmp_path / "x.midime"
    source = band
    if case == "empty folder":
        source = tmp_path / "nothing"
        source.mkdir()
        expected = f"{source}: no .mid or .midi files in this folder"
    elif case == "missing":
        source = tmp_path / "gone"
        expected = f"{source}: no such file or folder"
    elif case == "not midi":
        source = tmp_path / "fake.mid"
        source.write_bytes(b"RIFF not a MIDI file")
        expected = f"none of the 1 MIDI file(s) could be read; first: {source}"
    elif case == "exists":
        out.write_bytes(b"")
        expected = f"{out} exists; pass --force to overwrite it"
    else:
        out = tmp_path / "x.safetensors"
        expected = f"--out {out}: a personalized model's file ends in .midime"
    assert main(["personalize", str(source), "--out", str(out), "--steps", "5"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith(f"latentjam personalize: error: {expected}")
    assert not any("Traceback" in line for line in lines)


def test_the_decoder_head_is_on_by_default_and_head_steps_0_leaves_it_out(
        band: Path, tmp_path: Path, capsys) -> None:
    from latentjam.models.personalize.midime_file import load_midime

    out = tmp_path / "band.midime"
    assert main(["personalize", str(band), "--out", str(out), "--steps", "20"]) == 0
    printed = capsys.readouterr()
    assert "decoder head step 200/200" in printed.err
    assert "; decoder head on " in printed.out and "cross-entropy" in printed.out
    assert load_midime(out)[0].head.config.steps == 200
    plain = tmp_path / "plain.midime"
    assert main(["personalize", str(band), "--out", str(plain), "--steps", "20",
                 "--head-steps", "0"]) == 0
    assert "decoder head" not in capsys.readouterr().out
    assert load_midime(plain)[0].head is None
    assert main(["personalize", str(band), "--out", str(tmp_path / "x.midime"),
                 "--head-steps", "-1"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "latentjam personalize: error: --head-steps must be 0 (no head) or more, got -1")
