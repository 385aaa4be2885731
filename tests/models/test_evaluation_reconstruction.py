"""Reconstruction beside the always-"no event" baseline: the arithmetic by hand, a folder of
MIDI files read as a model cuts it, and ``evaluate --unseen DIR`` end to end on the shipped
melody model."""

from __future__ import annotations

import numpy as np
import pytest
from latentjam.app.cli import main
from latentjam.models.errors import InputError
from latentjam.models.evaluation import reconstruction
from latentjam.models.evaluation.reconstruction import (
    NO_EVENT,
    PartScore,
    files_windows,
    no_event_share,
    render_table,
    score,
)
from latentjam.models.midi_io import write_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo
from latentjam.models.trained_model import TrainedModel
from tune_files import write_tunes


@pytest.fixture(scope="module")
def melody():
    return TrainedModel.load("melody")


def test_the_baseline_is_the_share_of_no_event_steps():
    classes = np.array([[NO_EVENT, 5, NO_EVENT, 1], [NO_EVENT, NO_EVENT, 7, 2]])
    assert no_event_share(classes) == 0.5
    trio = np.zeros((1, 4, 3), np.int64)
    trio[0, :, 0] = [9, 0, 0, 0]  # melody: one onset in four steps
    assert no_event_share(trio[..., 0]) == 0.75 and no_event_share(trio) == 11 / 12
    assert PartScore("bass", 0.6, 0.5, 0.7).margin == pytest.approx(-0.2)


def test_a_folder_is_read_as_the_model_cuts_it_and_scored(tmp_path, melody):
    write_tunes(tmp_path / "tunes")
    (tmp_path / "tunes" / "broken.mid").write_bytes(b"not midi")
    found = files_windows(melody, tmp_path / "tunes")
    assert (found.files, found.used) == (5, 3)
    assert len(found.skipped) == 2
    assert any("broken.mid" in s for s in found.skipped)
    assert any("drums-only.mid" in s for s in found.skipped)
    assert len({w.tobytes() for w in found.classes}) == len(found.classes)  # distinct
    result = score(melody, found.classes)
    (part,) = result.parts
    assert part.part == "melody" and result.windows == len(found.classes)
    assert part.no_event == pytest.approx(np.mean(found.classes == NO_EVENT))
    # tunes of eighths and quarters: every other step at least holds a note
    assert 0.5 <= part.no_event < 0.75
    assert 0.0 <= part.sampled <= 1.0 and 0.0 <= part.teacher_forced <= 1.0
    assert result.mu.shape == (len(found.classes), melody.vae.z_size)
    table = render_table([("melody", result)], markdown=True).splitlines()
    assert table[0].startswith("| model | part | windows |") and len(table) == 3
    assert f"{part.no_event:.3f}" in table[2] and f"{part.margin:+.3f}" in table[2]


def test_a_folder_with_nothing_for_the_model_or_too_many_files_is_one_error(tmp_path, melody,
                                                                           monkeypatch):
    (tmp_path / "drums").mkdir()
    write_midi(NoteSequence(notes=[Note(36, 90, 0.0, 0.1, is_drum=True, instrument=9)],
                            tempos=[Tempo(0.0, 120.0)], total_time=4.0),
               tmp_path / "drums" / "kick.mid")
    with pytest.raises(InputError, match=r"drums: no .* window in any of its 1 MIDI files"):
        files_windows(melody, tmp_path / "drums")
    monkeypatch.setattr(reconstruction, "MAX_FILES", 0)
    with pytest.raises(InputError, match="at most 0 are read"):
        files_windows(melody, tmp_path / "drums")


def test_the_command_prints_the_table_and_writes_markdown(tmp_path, capsys):
    write_tunes(tmp_path / "tunes", pieces=2)
    markdown = tmp_path / "out" / "unseen.md"
    code = main(["evaluate", "--unseen", str(tmp_path / "tunes"), "--model", "melody",
                 "--markdown", str(markdown)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "skipping" in err and "drums-only.mid" in err and "from 2 of 3 files" in err
    header, row = out.splitlines()
    assert header.split()[:5] == ["model", "part", "windows", "teacher-forced", "sampled"]
    cells = row.split()
    assert cells[:2] == ["melody", "melody"]
    sampled, baseline, margin = (float(c) for c in cells[4:7])
    assert margin == pytest.approx(sampled - baseline, abs=1.5e-3)
    assert markdown.read_text().count("\n") == 3


@pytest.mark.parametrize("args, named", [
    (["--unseen", "{tmp}/missing"], "{tmp}/missing: no such folder of MIDI files"),
    (["--unseen", "{tmp}", "--like", "{tmp}"], "--unseen and --like are two different"),
    (["--unseen", "{tmp}", "--out", "x.md"], "--out is the report's file"),
])
def test_bad_input_is_one_line_naming_it(tmp_path, capsys, args, named):
    code = main(["evaluate", *(a.format(tmp=tmp_path) for a in args)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and named.format(tmp=tmp_path) in err
