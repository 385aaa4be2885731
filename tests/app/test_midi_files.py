"""``open_midi`` (the MIDI files render and groove read): every failure, at opening or while
its messages are read in time order as render does, is one ``SettingError`` line naming the
file and what is wrong, never Python's words (issue 10, finding 6)."""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

import mido
import pytest
from latentjam.app.midi_files import open_midi
from latentjam.engine.errors import SettingError
from latentjam.models.midi_io import write_midi
from latentjam.models.notesequence import Note, NoteSequence

PYTHON_WORDS = ("empty sequence", "division by zero", "out of range", "has no attribute",
                "unsupported operand", "NoneType", "Error", "()", "can't merge", "Errno")
NOTE = [mido.Message("note_on", note=60, velocity=90), mido.Message("note_off", note=60, time=480)]
END = b"\x00\xff\x2f\x00"


def read_through(path: Path) -> float:
    """What render does with the file: every message in time order, seconds added up."""
    return sum(message.time for message in open_midi(path))


def assert_told_in_words(err: Exception, path: Path) -> None:
    text = str(err)
    assert text.startswith(f"{path}: ") and "\n" not in text, text
    assert not any(words in text for words in PYTHON_WORDS), text


def midi_file(path: Path, tracks: list[list], kind: int = 1) -> Path:
    midi = mido.MidiFile(type=kind, ticks_per_beat=480)
    midi.tracks.extend(mido.MidiTrack(track) for track in tracks)
    midi.save(path)
    return path


def raw_midi(path: Path, division: int, track: bytes) -> Path:
    path.write_bytes(b"MThd" + struct.pack(">IHHh", 6, 0, 1, division)
                     + b"MTrk" + struct.pack(">I", len(track)) + track)
    return path


@pytest.mark.parametrize("name, words", [
    ("zero_tpb", "0 ticks per beat"),
    ("type_2", "type 2"),
    ("smpte", "SMPTE frames"),
    ("bad_key", "Could not decode key"),  # mido's own KeySignatureError, said about the file
    ("cut_tempo", "cut short"),
    ("short_header", "cut short"),
    ("a_folder", "not a regular file"),
    ("missing", "cannot read (No such file"),
    ("fifo", "not a regular file"),
])
def test_each_known_fault_is_named(tmp_path: Path, name: str, words: str):
    path = tmp_path / f"{name}.mid"
    if name == "zero_tpb":
        data = bytearray(midi_file(path, [NOTE]).read_bytes())
        data[12:14] = b"\0\0"
        path.write_bytes(bytes(data))
    elif name == "type_2":
        midi_file(path, [NOTE, NOTE], kind=2)
    elif name == "smpte":
        raw_midi(path, -7928, b"\x00\x90\x3c\x40\x60\x80\x3c\x00" + END)
    elif name == "bad_key":
        raw_midi(path, 96, b"\x00\xff\x59\x02\x09\x00" + END)
    elif name == "cut_tempo":
        raw_midi(path, 96, b"\x00\xff\x51\x00" + END)
    elif name == "short_header":
        path.write_bytes(b"MThd" + struct.pack(">IHHH", 0, 0, 1, 96) + b"MTrk"
                         + struct.pack(">I", 4) + END)
    elif name == "a_folder":
        path.mkdir()
    elif name == "fifo":
        os.mkfifo(path)  # a reader that waits for a writer: must be refused, not read
    with pytest.raises(SettingError) as caught:
        read_through(path)
    assert_told_in_words(caught.value, path)
    assert words in str(caught.value)


def test_tempo_0_and_empty_tracks_read_through(tmp_path: Path):
    assert read_through(midi_file(tmp_path / "t.mid",
                                  [[mido.MetaMessage("set_tempo", tempo=0), *NOTE]])) == 0.0
    assert read_through(midi_file(tmp_path / "e.mid", [[], NOTE])) == pytest.approx(0.5)


def test_spoilt_real_files_fail_in_words_about_the_file(tmp_path: Path):
    seed = tmp_path / "seed.mid"
    write_midi(NoteSequence(notes=[Note(60 + i % 12, 80, i * 0.25, i * 0.25 + 0.2)
                                   for i in range(32)], total_time=8.0), seed)
    original = seed.read_bytes()
    assert read_through(seed) == pytest.approx(8.0)
    rng = random.Random(10)
    path = tmp_path / "spoilt.mid"
    failures = 0
    for _ in range(400):
        data = bytearray(original)
        if rng.random() < 0.4:
            data = data[:rng.randrange(len(data))]
        else:
            for _ in range(rng.randrange(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data))
        try:
            read_through(path)
        except SettingError as err:
            failures += 1
            assert_told_in_words(err, path)
    assert failures > 100
