"""Corrupt MIDI files (issue 10, finding 6): every failure of ``read_midi`` is one line that
names the file and says what is wrong with it, never Python's own words ("max() arg is an
empty sequence", "float division by zero"). Hand-made cases, then real files cut, flipped
and spliced by a seeded fuzzer."""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

import mido
import pytest
from latentjam.models.errors import MidiReadError
from latentjam.models.midi_io import read_midi, write_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo

# What an exception says about Python rather than about a file.
PYTHON_WORDS = ("empty sequence", "division by zero", "out of range", "has no attribute",
                "unsupported operand", "subscriptable", "NoneType", "invalid literal",
                "is not a valid `", "Error", "()", "unpack", "last_status", "object")


def assert_told_in_words(err: Exception, path: Path) -> None:
    text = str(err)
    assert text.startswith(f"{path}: ") and "\n" not in text, text
    assert not any(words in text for words in PYTHON_WORDS), text


def midi_file(path: Path, tracks: list[list], ticks_per_beat: int = 480, kind: int = 1) -> Path:
    midi = mido.MidiFile(type=kind, ticks_per_beat=ticks_per_beat)
    midi.tracks.extend(mido.MidiTrack(track) for track in tracks)
    midi.save(path)
    return path


NOTE = [mido.Message("note_on", note=60, velocity=90), mido.Message("note_off", note=60, time=480)]
END = b"\x00\xff\x2f\x00"


def raw_midi(path: Path, division: int, track: bytes) -> Path:
    path.write_bytes(b"MThd" + struct.pack(">IHHh", 6, 0, 1, division)
                     + b"MTrk" + struct.pack(">I", len(track)) + track)
    return path


def cut(path: Path, bytes_off: int) -> Path:
    path.write_bytes(path.read_bytes()[:-bytes_off])
    return path


def with_division(path: Path, division: bytes) -> Path:
    data = bytearray(path.read_bytes())
    data[12:14] = division
    path.write_bytes(bytes(data))
    return path


def test_each_known_fault_is_named(tmp_path: Path):
    cases = {
        "zero ticks per beat": (with_division(midi_file(tmp_path / "tpb.mid", [NOTE]),
                                              b"\0\0"), "0 ticks per beat"),
        "tempo 0": (midi_file(tmp_path / "tempo.mid",
                              [[mido.MetaMessage("set_tempo", tempo=0), *NOTE]]),
                    "a tempo or time signature of zero"),
        "time signature 0/4": (midi_file(tmp_path / "meter.mid", [[mido.MetaMessage(
            "time_signature", numerator=0, denominator=4), *NOTE]]),
            "a time signature numerator of 0"),
        "SMPTE time": (raw_midi(tmp_path / "smpte.mid", -7928,
                                b"\x00\x90\x3c\x40\x60\x80\x3c\x00" + END), "SMPTE frames"),
        "a track shorter than its header says": (cut(raw_midi(tmp_path / "cut.mid", 96,
                                                           b"\x00\x90\x3c\x40" + END), 6),
                                                 "cut short"),
        "a cut tempo event": (raw_midi(tmp_path / "cut_tempo.mid", 96,
                                       b"\x00\xff\x51\x00" + END), "cut short"),
        "a data byte where a status belongs": (raw_midi(tmp_path / "running.mid", 96,
                                                        b"\x00\x3c\x40" + END), "status byte"),
        "a data byte over 127": (raw_midi(tmp_path / "loud.mid", 96,
                                          b"\x00\x90\x3c\xc0" + END), "128 or more"),
    }
    for name, (path, words) in cases.items():
        with pytest.raises(MidiReadError) as caught:
            read_midi(path)
        assert_told_in_words(caught.value, path)
        assert words in str(caught.value), (name, str(caught.value))


def test_empty_tracks_and_a_file_of_only_its_end_read_as_silence(tmp_path: Path):
    for name, tracks in (("empty.mid", [[], NOTE]), ("only_end.mid", [[]])):
        ns = read_midi(midi_file(tmp_path / name, tracks))
        assert len(ns.notes) == (1 if name == "empty.mid" else 0)


def seeds(fixture_dir: Path | None, tmp_path: Path) -> list[bytes]:
    """Real MIDI files to spoil: one written here (always), Magenta's inputs when present."""
    ns = NoteSequence(notes=[Note(60 + i % 12, 80, i * 0.25, i * 0.25 + 0.2) for i in range(32)],
                      tempos=[Tempo(0.0, 120.0), Tempo(4.0, 90.0)], total_time=8.0)
    write_midi(ns, tmp_path / "seed.mid")
    found = [tmp_path / "seed.mid"]
    if fixture_dir is not None:
        found += sorted(fixture_dir.glob("*/inputs/*.mid"))[:6]
    return [path.read_bytes() for path in found]


def spoil(data: bytes, rng: random.Random) -> bytes:
    """Cut, overwrite a few bytes, flip a bit, insert noise, or cut a piece out."""
    data = bytearray(data)
    how = rng.randrange(5)
    if how == 0:
        return bytes(data[:rng.randrange(len(data))])
    if how == 1:
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif how == 2:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif how == 3:
        at = rng.randrange(14, len(data))
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20)))
    else:
        start = rng.randrange(len(data))
        del data[start:rng.randrange(start, len(data))]
    return bytes(data)


@pytest.fixture
def fixture_inputs(request) -> Path | None:
    try:
        return request.getfixturevalue("magenta_fixtures")
    except pytest.skip.Exception:
        return None


def test_spoilt_real_files_fail_in_words_about_the_file(tmp_path: Path, fixture_inputs):
    rng = random.Random(10)
    originals = seeds(fixture_inputs, tmp_path)
    path = tmp_path / "spoilt.mid"
    failures = 0
    for _ in range(400):
        path.write_bytes(spoil(rng.choice(originals), rng))
        try:
            read_midi(path)
        except MidiReadError as err:
            failures += 1
            assert_told_in_words(err, path)
    assert failures > 100  # the fuzzer does spoil files (most of its changes break one)


def test_a_fifo_or_a_folder_is_refused_without_waiting(tmp_path: Path):
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)  # opened the plain way, a FIFO waits for a writer that never comes
    folder = tmp_path / "folder.mid"
    folder.mkdir()
    for path in (fifo, folder):
        with pytest.raises(MidiReadError, match="not a regular file") as caught:
            read_midi(path)
        assert_told_in_words(caught.value, path)
