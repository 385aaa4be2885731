"""The likeness measure (``evaluation.likeness``) on hand-made windows whose statistics are
known, and ``latentjam evaluate --like`` on a folder of real MIDI files with the shipped
melody model."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from latentjam.app.cli import main
from latentjam.models.defaults import WEIGHTS_DIR
from latentjam.models.errors import InputError
from latentjam.models.evaluation import likeness
from latentjam.models.evaluation.likeness import (
    DRUM_CLASS,
    DRUM_STEP,
    EMPTY,
    INTERVAL,
    LENGTH,
    NOTES_PER_BAR,
    ONE_NOTE,
    ONSET,
    PITCH_CLASS,
    PITCH_RANGE,
    StyleProfile,
    compare,
    distance,
)
from latentjam.models.notesequence import Note, NoteSequence, Tempo
from tune_files import SCALE, STEP, write_tunes


def window(notes: list[Note], qpm: float = 120.0, bars: int = 2) -> NoteSequence:
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, qpm)],
                        total_time=bars * 16 * 60.0 / qpm / 4)


def line(pitches, first_step: int = 0, every: int = 4, length: int = 4, qpm: float = 120.0,
         instrument: int = 0, program: int = 0) -> list[Note]:
    step = 60.0 / qpm / 4
    return [Note(p, 80, (first_step + i * every) * step, (first_step + i * every + length) * step,
                 instrument=instrument, program=program) for i, p in enumerate(pitches)]


def melody_profile(windows: list[NoteSequence]) -> StyleProfile:
    return StyleProfile.of(windows, "melody", bars=2)


def test_a_scale_in_quarters_has_the_histograms_worked_out_by_hand():
    profile = melody_profile([window(line(SCALE))])
    part = profile.parts["melody"]
    h = part.histograms
    assert list(h) == [NOTES_PER_BAR, PITCH_RANGE, PITCH_CLASS, ONSET, INTERVAL, LENGTH]
    assert part.mean_notes_per_bar == 4.0 and part.mean_pitch_range == 12.0
    # 4 notes a bar: the "4 to 6" bin (after silence, <1, 1, 2, 3)
    assert np.flatnonzero(h[NOTES_PER_BAR]).tolist() == [5]
    assert np.flatnonzero(h[PITCH_RANGE]).tolist() == [4]  # 12 semitones: 8..12
    assert h[PITCH_CLASS][0] == pytest.approx(2 / 8) and h[PITCH_CLASS][2] == 1 / 8
    assert h[ONSET][[0, 4, 8, 12]].tolist() == [0.25] * 4 and h[ONSET].sum() == 1.0
    # C D E F G A B C: five whole steps and two half steps up
    assert h[INTERVAL][12 + 2] == pytest.approx(5 / 7) and h[INTERVAL][12 + 1] == 2 / 7
    assert np.flatnonzero(h[LENGTH]).tolist() == [2]  # quarters: the 3-4 sixteenths bin
    assert part.empty_share == 0.0 and part.one_note_share == 0.0
    assert likeness.summary(part, ONSET) == "100% on beats"
    assert likeness.summary(part, PITCH_CLASS).startswith("C 25%")


def test_a_profile_is_at_distance_zero_from_itself_and_keys_cover_every_statistic():
    rng = np.random.default_rng(3)
    windows = [window(line(rng.choice(SCALE, 8), every=int(rng.integers(2, 5)), length=2))
               for _ in range(20)]
    profile = melody_profile(windows)
    measured = distance(profile, profile)
    assert set(measured) == {f"melody/{s}" for s in (*likeness.PITCHED_STATISTICS, EMPTY,
                                                      ONE_NOTE)}
    assert all(value == 0.0 for value in measured.values())


def test_a_shifted_rhythm_moves_onsets_only_and_a_transposition_moves_pitch_classes_only():
    base = melody_profile([window(line(SCALE, length=3))])
    shifted = melody_profile([window(line(SCALE, first_step=1, length=3))])
    moved = distance(base, shifted)
    assert moved["melody/onset position"] == 1.0  # every onset a sixteenth later: disjoint
    assert moved["melody/pitch class"] == 0.0
    assert moved["melody/interval"] == moved["melody/note length"] == 0.0
    assert moved["melody/notes per bar"] == moved["melody/pitch range"] == 0.0

    up = melody_profile([window(line([p + 1 for p in SCALE], length=3))])
    transposed = distance(base, up)
    # C major against C# major share only F and C: 12/8 apart in L1, half that in TV
    assert transposed["melody/pitch class"] == pytest.approx(0.75)
    for statistic in ("onset position", "interval", "note length", "notes per bar",
                      "pitch range"):
        assert transposed[f"melody/{statistic}"] == 0.0


def test_onsets_are_read_at_the_sequences_own_tempo():
    # the same rhythm written at 90 qpm: its steps come from its qpm, not from 120
    slow = melody_profile([window(line(SCALE, first_step=2, qpm=90.0), qpm=90.0)])
    assert slow.parts["melody"].histograms[ONSET][[2, 6, 10, 14]].tolist() == [0.25] * 4


def test_empty_and_one_note_windows_are_counted_and_compared():
    windows = [window([]), window(line([60])), window(line([60, 64])), window(line(SCALE))]
    profile = melody_profile(windows)
    part = profile.parts["melody"]
    assert part.empty_share == 0.25 and part.one_note_share == 0.25
    assert part.histograms[NOTES_PER_BAR][0] == 0.25  # silence has a bin of its own
    assert likeness.summary(part, EMPTY) == "25.0%"
    full = melody_profile([window(line(SCALE))] * 4)
    measured = distance(profile, full)
    assert measured["melody/empty windows"] == 0.25
    assert measured["melody/one-note windows"] == 0.25
    # nothing played at all is as far as can be from something played, not halfway
    silent = melody_profile([window([])] * 3)
    assert distance(full, silent)["melody/pitch class"] == 1.0
    assert distance(silent, silent)["melody/onset position"] == 0.0


def trio_window(with_drums: bool = True) -> NoteSequence:
    notes = line(SCALE, every=4)  # melody: instrument 0
    notes += line([36, 43, 36, 43], every=8, length=8, instrument=1, program=33)  # bass
    if with_drums:
        for step in range(0, 32, 4):  # kick on the beat, closed hat between
            notes.append(Note(36, 80, step * STEP, (step + 1) * STEP, instrument=9,
                              is_drum=True))
            notes.append(Note(42, 80, (step + 2) * STEP, (step + 3) * STEP, instrument=9,
                              is_drum=True))
    return window(notes)


def test_a_trio_is_profiled_part_by_part_each_with_its_own_statistics():
    profile = StyleProfile.of([trio_window()], "trio", bars=2)
    assert list(profile.parts) == ["melody", "bass", "drums"]
    melody, bass, drums = (profile.parts[p] for p in ("melody", "bass", "drums"))
    assert DRUM_CLASS not in melody.histograms and PITCH_CLASS not in drums.histograms
    assert list(drums.histograms) == [NOTES_PER_BAR, DRUM_CLASS, DRUM_STEP]
    assert drums.histograms[DRUM_CLASS][[0, 2]].tolist() == [0.5, 0.5]  # kick, closed hat
    # kicks on the beats, hats between: every eighth of the bar, no sixteenth between
    assert drums.histograms[DRUM_STEP][0::2].tolist() == [0.125] * 8
    assert drums.mean_notes_per_bar == 8.0
    # the bass's C and G alone, not the melody's scale
    assert np.flatnonzero(bass.histograms[PITCH_CLASS]).tolist() == [0, 7]
    assert bass.histograms[LENGTH][3] == 1.0  # halves: the 5-8 sixteenths bin
    assert melody.histograms[PITCH_CLASS][0] == pytest.approx(0.25)

    no_drums = StyleProfile.of([trio_window(with_drums=False)], "trio", bars=2)
    measured = distance(profile, no_drums)
    assert measured["drums/drum class"] == 1.0 and measured["drums/empty windows"] == 1.0
    assert measured["melody/pitch class"] == measured["bass/onset position"] == 0.0
    assert "drums/pitch class" not in measured and "melody/drum step" not in measured


def test_compare_gives_distances_changes_and_both_renderings():
    band = melody_profile([window(line(SCALE, length=3))])
    near = melody_profile([window(line(SCALE, length=3))] * 3
                          + [window(line(SCALE, first_step=1, length=3))])
    far = melody_profile([window(line(SCALE, first_step=1, length=3))])
    table = compare(band, {"base": far, "tuned": near})
    assert table.models == ("base", "tuned")
    assert table.distance("base", "melody/onset position") == 1.0
    assert table.distance("tuned", "melody/onset position") == pytest.approx(0.25)
    onset = next(row for row in table.rows if row.statistic == ONSET)
    assert onset.changes == (pytest.approx(-75.0),)
    pitch = next(row for row in table.rows if row.statistic == PITCH_CLASS)
    assert pitch.distances == (0.0, 0.0) and pitch.changes == (0.0,)
    assert table.mean_distance("tuned") < table.mean_distance("base")

    text = table.render()
    assert "vs base" in text and "-75%" in text
    header = next(t for t in text.splitlines() if t.startswith("statistic"))
    assert header.split() == ["statistic", "band", "base", "tuned", "vs", "base"]
    for statistic in (*likeness.PITCHED_STATISTICS, EMPTY, ONE_NOTE, "mean of the rows"):
        assert any(t.startswith(statistic) for t in text.splitlines()), statistic
    markdown = table.render(markdown=True)
    assert "| statistic | band | base | tuned | vs base |" in markdown
    assert "| onset position | 100% on beats | 1.000 | 0.250 | -75% |" in markdown

    drums = StyleProfile.of([trio_window()], "drums", bars=2)
    with pytest.raises(ValueError, match="different windows"):
        compare(band, {"drums": drums})


def test_band_windows_go_through_the_models_encoding_and_say_what_each_file_gave(tmp_path):
    from latentjam.models.trained_model import TrainedModel

    write_tunes(tmp_path / "band", pieces=2)
    (tmp_path / "band" / "broken.mid").write_bytes(b"not midi")
    model = TrainedModel.load("melody")
    windows, files = likeness.band_windows(model, tmp_path / "band")
    by_name = {f.path.name: f for f in files}
    assert sorted(by_name) == ["broken.mid", "drums-only.mid", "tune0.mid", "tune1.mid"]
    assert "not a MIDI file" in by_name["broken.mid"].reason
    assert by_name["drums-only.mid"].windows == 0 and "drums-only.mid" in \
        by_name["drums-only.mid"].reason
    assert by_name["tune0.mid"].windows > 0 and by_name["tune0.mid"].reason == ""
    assert len(windows) == sum(f.windows for f in files)
    # read back from classes: every window lasts the model's 2 bars at 120 qpm
    assert all(w.total_time == 4.0 and w.qpm == 120.0 for w in windows)
    profile = likeness.model_profile(model, windows)
    assert profile.encoding == "melody, 2-bar windows" and profile.windows == len(windows)
    # the tunes move in eighths and quarters, on the beat or the eighth between
    onsets = profile.parts["melody"].histograms[ONSET]
    assert onsets[1::2].sum() == 0.0 and onsets[0::4].sum() > 0.25

    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.mid").write_bytes(b"MThd")
    with pytest.raises(InputError, match=r"junk: no usable MIDI .*a\.mid"):
        likeness.band_windows(model, tmp_path / "junk")


def test_the_command_prints_a_table_of_every_statistic(tmp_path, capsys):
    write_tunes(tmp_path / "band")
    # the shipped melody model under another name: the same weights and the same seed give
    # the same samples, so its change against the base must be 0%
    copy = tmp_path / "chorales-copy.safetensors"
    shutil.copy(WEIGHTS_DIR / "mel_2bar_chorales" / "model.safetensors", copy)
    markdown = tmp_path / "out" / "likeness.md"
    code = main(["evaluate", "--like", str(tmp_path / "band"), "--model", "melody",
                 "--model", str(copy), "--samples", "24", "--markdown", str(markdown)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "skipping" in err and "drums-only.mid" in err
    assert "band: " in err and "from 3 of 4 files" in err
    lines = out.splitlines()
    assert lines[0].startswith("melody, 2-bar windows: band ")
    assert "samples melody 24, chorales-copy 24" in lines[0]
    header = next(t for t in lines if t.startswith("statistic"))
    assert header.split() == ["statistic", "band", "melody", "chorales-copy", "vs", "melody"]
    for statistic in (*likeness.PITCHED_STATISTICS, EMPTY, ONE_NOTE, "mean of the rows"):
        row = next((t for t in lines if t.startswith(statistic)), None)
        assert row is not None, statistic
        # strip the band's summary: the two distances and the change end the row
        cells = re.findall(r"(\d\.\d{3})(?: \(\d+\.\d%\))?", row[len(statistic):])
        first, second = (float(c) for c in cells[-2:])
        assert 0.0 <= first <= 1.0 and first == second
        assert row.rstrip().endswith(" 0%")
    # the samples of a chorale model are not the band's eighth-note tunes
    assert float(re.findall(r"\d\.\d{3}", next(t for t in lines if t.startswith(
        "mean of the rows")))[0]) > 0.05
    written = markdown.read_text()
    assert "| statistic | band | melody | chorales-copy | vs melody |" in written
    # header, rule, a row per statistic and share, the mean
    assert written.count("\n| ") == 2 + len(likeness.PITCHED_STATISTICS) + 2 + 1


def test_pictures_of_band_and_samples(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    write_tunes(tmp_path / "band", pieces=1)
    code = main(["evaluate", "--like", str(tmp_path / "band"), "--samples", "8", "--images",
                 str(tmp_path / "img")])
    assert code == 0, capsys.readouterr().err
    pictures = sorted(p.name for p in (tmp_path / "img").glob("*.png"))
    assert pictures == ["band-melody-2bar.png", "melody-samples.png"]
    assert all((tmp_path / "img" / p).read_bytes()[:4] == b"\x89PNG" for p in pictures)


@pytest.mark.parametrize("setup, args, named", [
    ("empty", [], "{tmp}/empty: no MIDI files (.mid, .midi) in it"),
    ("missing", [], "{tmp}/missing: no such folder of MIDI files"),
    ("band", ["--model", "melodyy"], "model 'melodyy' is neither"),
    ("band", ["--out", "x.md"], "--out is the report's file"),
])
def test_bad_input_is_one_line_naming_it(tmp_path, capsys, setup, args, named):
    if setup == "empty":
        (tmp_path / "empty").mkdir()
    elif setup == "band":
        write_tunes(tmp_path / "band", pieces=1)
    code = main(["evaluate", "--like", str(tmp_path / setup), *args])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("latentjam evaluate: error: ")
    assert named.format(tmp=tmp_path) in err
