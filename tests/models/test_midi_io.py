"""Reading MIDI as note-seq does (checked on Magenta's fixtures), writing it back, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import pytest
from latentjam.models.configs import load_config
from latentjam.models.encodings.converters import get_converter
from latentjam.models.errors import MidiReadError, ModelError
from latentjam.models.midi_io import read_midi, write_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo, TimeSignature

FIXTURE_CONFIGS = ("cat-mel_2bar_small", "cat-drums_2bar_small", "hierdec-trio_16bar_tiny")


def note_rows(ns: NoteSequence) -> list[list]:
    rows = [[n.pitch, n.velocity, n.start_time, n.end_time, n.instrument, n.program, n.is_drum]
            for n in ns.notes]
    return sorted(rows, key=lambda r: (r[2], r[4], r[0], r[3]))


@pytest.mark.parametrize("config", FIXTURE_CONFIGS)
def test_reads_what_note_seq_read(magenta_fixtures: Path, config: str):
    folder = magenta_fixtures / config
    ref = json.loads((folder / "reference.json").read_text())
    for record in ref["inputs"]:
        ns = read_midi(folder / record["file"])
        expected = record["input_sequence"]
        assert note_rows(ns) == expected["notes"], record["file"]
        assert ns.total_time == expected["total_time"]
        assert [t.qpm for t in ns.tempos] == expected["tempos_qpm"]
        assert [[t.numerator, t.denominator] for t in ns.time_signatures] == (
            expected["time_signatures"])
        assert ns.ticks_per_quarter == 220
        assert ns.filename == Path(record["file"]).name


def test_written_file_reads_back_to_the_same_notes(tmp_path: Path):
    ns = NoteSequence(
        tempos=[Tempo(0.0, 100.0)], time_signatures=[TimeSignature(0.0, 3, 4)],
        notes=[Note(60, 80, 0.0, 0.3, 0, 0), Note(60, 81, 0.3, 0.6, 0, 0),
               Note(36, 100, 0.0, 0.15, 9, 0, True), Note(40, 70, 0.6, 1.2, 1, 33)],
    )
    ns.total_time = 1.2
    path = tmp_path / "out.mid"
    write_midi(ns, path)
    back = read_midi(path)
    assert [t.qpm for t in back.tempos] == pytest.approx([100.0])
    assert [(t.numerator, t.denominator) for t in back.time_signatures] == [(3, 4)]
    key = lambda n: (n.start_time, n.pitch)  # noqa: E731
    got = sorted(back.notes, key=key)
    want = sorted(ns.notes, key=key)
    assert [(n.pitch, n.velocity, n.program, n.is_drum) for n in got] == [
        (n.pitch, n.velocity, n.program, n.is_drum) for n in want]
    for g, w in zip(got, want, strict=True):
        assert g.start_time == pytest.approx(w.start_time, abs=1e-3)
        assert g.end_time == pytest.approx(w.end_time, abs=1e-3)
    channels = {m.channel for t in mido.MidiFile(path).tracks for m in t if m.type == "note_on"}
    assert 9 in channels  # drums on channel 10


def test_tempo_changes_are_written_where_they_happen(tmp_path: Path):
    ns = NoteSequence(tempos=[Tempo(0.0, 120.0), Tempo(2.0, 60.0)],
                      notes=[Note(60, 80, 3.0, 4.0)], total_time=4.0)
    write_midi(ns, tmp_path / "t.mid")
    back = read_midi(tmp_path / "t.mid")
    assert [t.time for t in back.tempos] == pytest.approx([0.0, 2.0])
    assert [t.qpm for t in back.tempos] == pytest.approx([120.0, 60.0])
    assert back.notes[0].start_time == pytest.approx(3.0)


def test_not_midi_names_the_file(tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, not MIDI")
    with pytest.raises(MidiReadError, match="notes.txt.*not a MIDI file"):
        read_midi(path)


def test_empty_and_missing_files(tmp_path: Path):
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    with pytest.raises(MidiReadError, match="empty.mid"):
        read_midi(empty)
    with pytest.raises(MidiReadError, match="missing.mid.*cannot read"):
        read_midi(tmp_path / "missing.mid")


def test_truncated_midi_is_reported_as_corrupt(tmp_path: Path):
    whole = tmp_path / "whole.mid"
    write_midi(NoteSequence(notes=[Note(60, 80, 0.0, 1.0)], total_time=1.0), whole)
    cut = tmp_path / "cut.mid"
    cut.write_bytes(whole.read_bytes()[:30])
    with pytest.raises(MidiReadError, match="cut.mid.*corrupt"):
        read_midi(cut)


def test_unwritable_notes_and_paths_name_the_problem(tmp_path: Path):
    loud = NoteSequence(notes=[Note(60, 200, 0.0, 1.0)], total_time=1.0)
    with pytest.raises(ModelError, match="loud.mid: cannot write as MIDI.*velocity"):
        write_midi(loud, tmp_path / "loud.mid")
    with pytest.raises(ModelError, match="cannot write"):
        write_midi(NoteSequence(), tmp_path / "no" / "such" / "dir.mid")


def test_a_file_with_no_notes_reads_as_an_empty_piece(tmp_path: Path):
    path = tmp_path / "silent.mid"
    write_midi(NoteSequence(), path)
    ns = read_midi(path)
    assert ns.notes == [] and ns.total_time == 0.0


def test_a_written_trio_decode_reads_back_to_the_same_examples(magenta_fixtures, tmp_path):
    folder = magenta_fixtures / "hierdec-trio_16bar_tiny"
    ref = json.loads((folder / "reference.json").read_text())
    converter = get_converter(load_config(folder / "config.json"))
    decoded = converter.to_sequence(np.array(ref["fixed_z"]["decodes"][0]["output_classes"]))
    write_midi(decoded, tmp_path / "loop.mid")
    back = read_midi(tmp_path / "loop.mid")
    key = lambda r: (r[2], r[5], r[4], r[0], r[3])  # noqa: E731
    want = sorted(([r[0], r[1], r[2], r[3], r[5], r[6]] for r in note_rows(decoded)), key=key)
    got = sorted(([r[0], r[1], r[2], r[3], r[5], r[6]] for r in note_rows(back)), key=key)
    assert [r[:2] + r[4:] for r in got] == [r[:2] + r[4:] for r in want]
    assert np.allclose([r[2:4] for r in got], [r[2:4] for r in want], atol=1e-9)
    assert [e.tolist() for e in converter.to_examples(back).examples] == [
        e.tolist() for e in converter.to_examples(decoded).examples]
