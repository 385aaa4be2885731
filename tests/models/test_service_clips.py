"""MIDI files read for a caller that must not wait: the reader process killed at its
deadline, its refusals passed on in one line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from latentjam.models.configs import get_config
from latentjam.models.midi_io import write_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo
from latentjam.models.service import InputError, ModelInfo, read_clip_classes

CONFIG = get_config("cat-mel_2bar_small")
INFO = ModelInfo(CONFIG, "test", 512, 32)


def test_a_clip_is_read_in_a_process_and_arrives_as_classes(tmp_path: Path):
    path = tmp_path / "riff.mid"
    notes = [Note(62, 90, 0.0, 1.0), Note(64, 90, 1.0, 2.0)]
    write_midi(NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=4.0), path)
    classes, seconds = asyncio.run(read_clip_classes(str(path), INFO, (str(tmp_path),)))
    assert classes.shape == (32,) and classes[0] == 62 - 21 + 2 and seconds > 0


def test_a_reader_that_hangs_is_killed_at_its_deadline(tmp_path: Path, monkeypatch):
    stuck = tmp_path / "stuck-python"  # a reader process that never answers
    stuck.write_text("#!/bin/sh\nexec sleep 60\n")
    stuck.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(stuck))
    with pytest.raises(InputError, match="riff.mid: not read within 1 s; refused"):
        asyncio.run(read_clip_classes(str(tmp_path / "riff.mid"), INFO, None, timeout_s=1.0))


def test_a_fifo_is_refused_at_once_not_waited_for(tmp_path: Path):
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer that never comes
    with pytest.raises(InputError, match="pipe.mid: not a regular file"):
        asyncio.run(read_clip_classes(str(fifo), INFO, None, timeout_s=10.0))


def test_the_readers_refusal_comes_back_in_one_line(tmp_path: Path):
    with pytest.raises(InputError) as err:
        asyncio.run(read_clip_classes("/dev/zero", INFO, None))
    assert str(err.value) == "/dev/zero: not a regular file"
