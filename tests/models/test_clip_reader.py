"""A user's clip read into classes, bounded: regular files only, a size limit, inside the
anchor folders (symbolic links resolved), corrupt files named in words about the file."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from latentjam.models.clip_reader import MAX_CLIP_BYTES, read_clip
from latentjam.models.configs import config_to_dict, get_config
from latentjam.models.encodings.converters import get_converter
from latentjam.models.errors import ModelError
from latentjam.models.midi_io import read_midi, write_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo

CONFIG = get_config("cat-mel_2bar_small")


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "anchors" / "riff.mid"
    path.parent.mkdir()
    notes = [Note(60 + k % 5, 90, k * 0.5, k * 0.5 + 0.25) for k in range(6)]  # then a rest
    write_midi(NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=4.0), path)
    return path


def test_a_clip_gives_the_converters_first_window_as_it_is(clip: Path):
    classes, kept = read_clip(clip, CONFIG, within=[clip.parent])
    (expected, *_) = get_converter(CONFIG).to_examples(read_midi(clip), training=False).examples
    assert classes.tolist() == expected.tolist() and kept == {}


def test_a_melody_on_a_synth_lead_is_a_clip_though_not_training_data(tmp_path: Path):
    """A performer's anchor is the melody they chose, whatever plays it; Magenta's melody
    data (and so training) keep programs 0-31 only."""
    path = tmp_path / "lead.mid"
    notes = [Note(64 + k % 3, 90, k * 0.5, k * 0.5 + 0.25, program=81) for k in range(8)]
    write_midi(NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=4.0), path)
    classes, _ = read_clip(path, CONFIG)
    assert classes[0] == 64 - 21 + 2  # its first note, E4
    training = get_converter(CONFIG).to_examples(read_midi(path))
    assert not training.examples
    assert any("no note on a melody program" in why for why in training.skipped)


@pytest.mark.parametrize("make, message", [
    (lambda d: Path("/etc/passwd"), "/etc/passwd: outside the anchor folders"),
    (lambda d: d / ".." / "elsewhere.mid", "outside the anchor folders"),
])
def test_paths_outside_the_folders_are_refused(clip: Path, make, message):
    with pytest.raises(ModelError, match=message):
        read_clip(make(clip.parent), CONFIG, within=[clip.parent])


def test_a_special_file_is_refused_unread():
    with pytest.raises(ModelError, match="/dev/zero: not a regular file"):
        read_clip(Path("/dev/zero"), CONFIG)


def test_a_clip_shorter_than_a_window_ends_in_rests(tmp_path: Path):
    path = tmp_path / "one_bar.mid"
    write_midi(NoteSequence(notes=[Note(60, 90, 0.0, 0.5)], tempos=[Tempo(0.0, 120.0)]), path)
    classes, _ = read_clip(path, CONFIG)
    assert classes.tolist() == [60 - 21 + 2] + [0] * 3 + [1] + [0] * 27


def test_a_link_out_of_the_anchor_folder_is_refused(clip: Path, tmp_path: Path):
    outside = tmp_path / "private.mid"
    outside.write_bytes(clip.read_bytes())
    (clip.parent / "link.mid").symlink_to(outside)
    with pytest.raises(ModelError, match="link.mid: outside the anchor folders"):
        read_clip(clip.parent / "link.mid", CONFIG, within=[clip.parent])


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path):
    path = tmp_path / "huge.mid"
    path.write_bytes(b"MThd" + bytes(MAX_CLIP_BYTES))
    with pytest.raises(ModelError, match=f"{MAX_CLIP_BYTES + 4:,} bytes; at most"):
        read_clip(path, CONFIG)


def _header(tracks: int, division: int) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, 1, tracks, division)


@pytest.mark.parametrize("data, message", [
    (_header(1, 0) + b"MTrk" + struct.pack(">I", 4) + b"\x00\xff\x2f\x00",
     "its header gives 0 ticks per beat"),
    (_header(0, 220), "it has no tracks"),
    (b"MThd\x00\x00", "the header is cut short"),
    (_header(1, 220) + b"MTrk" + struct.pack(">I", 40) + b"\x00\x90\x3c",
     "corrupt MIDI file"),
])
def test_corrupt_files_are_named_in_words_about_the_file(tmp_path: Path, data, message):
    path = tmp_path / "broken.mid"
    path.write_bytes(data)
    with pytest.raises(ModelError) as err:
        read_midi(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and message in text
    assert "max() arg" not in text and "division by zero" not in text


def test_the_reader_process_answers_one_json_line(clip: Path):
    def run(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "latentjam.models.clip_reader", "--config",
             json.dumps(config_to_dict(CONFIG)), "--within", str(clip.parent), *args],
            capture_output=True, text=True, timeout=60, env={**os.environ})
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert len(run(str(clip))["classes"]) == 32
    assert run("/dev/zero") == {"error": "/dev/zero: outside the anchor folders "
                                         f"({clip.parent})"}
