"""The live stream's MIDI files: whole after every bar, rotated, and closed again after a
crash cut one in the middle of a bar."""

from __future__ import annotations

import time
from pathlib import Path

import mido
from latentjam.app.stream_recorder import BarFile, StreamRecorder, repair
from latentjam.engine.transport import PPQN

BAR = 4 * PPQN


def bar_events(bar: int, pitch: int = 60) -> list[tuple[int, mido.Message]]:
    start = bar * BAR
    return [(start, mido.Message("note_on", channel=9, note=pitch, velocity=100)),
            (start + 60, mido.Message("note_off", channel=9, note=pitch, velocity=0))]


def notes(path: Path) -> list[tuple[int, int]]:
    midi = mido.MidiFile(path)
    now, out = 0, []
    for message in midi.tracks[0]:
        now += message.time
        if message.type == "note_on" and message.velocity:
            out.append((now, message.note))
    return out


def test_the_file_is_whole_after_every_bar(tmp_path: Path):
    path = tmp_path / "a.mid"
    grow = BarFile(path, 120.0)
    for bar in range(3):
        grow.add(bar_events(bar, 60 + bar), bar * BAR, 120.0 + bar)
        assert notes(path) == [(b * BAR, 60 + b) for b in range(bar + 1)]  # read while open
    grow.close()
    tempos = [m.tempo for m in mido.MidiFile(path).tracks[0] if m.type == "set_tempo"]
    assert [round(mido.tempo2bpm(t)) for t in tempos] == [120, 121, 122]


def test_a_file_cut_in_a_bar_is_closed_at_its_last_whole_bar(tmp_path: Path):
    path = tmp_path / "radio-cut.mid"
    grow = BarFile(path, 120.0)
    for bar in range(4):
        grow.add(bar_events(bar), bar * BAR, 120.0)
    grow.close()
    whole = path.read_bytes()
    path.write_bytes(whole[:-7])  # a crash while the last bar's note-off was written
    assert repair(path)
    assert notes(path) == [(b * BAR, 60) for b in range(4)]  # whole events kept ...
    messages = list(mido.MidiFile(path).tracks[0])
    ons = sum(1 for m in messages if m.type == "note_on" and m.velocity)
    assert ons == sum(1 for m in messages if m.type == "note_off")  # ... none left sounding
    assert not repair(path)


def test_the_recorder_rotates_and_repairs_at_start(tmp_path: Path):
    recorder = StreamRecorder(tmp_path, rotate_s=0.3)
    for bar in range(6):
        recorder.bar(bar, bar * BAR, 124.0, bar_events(bar))
        time.sleep(0.15)
    recorder.close()
    files = sorted(tmp_path.glob("radio-*.mid"))
    assert len(files) >= 2
    heard = [n for path in files for n in notes(path)]
    assert len(heard) == 6
    assert notes(files[0])[0] == (0, 60)  # each file counts from its own first bar
    assert notes(files[1])[0] == (0, 60)
    files[-1].write_bytes(files[-1].read_bytes()[:-3])
    StreamRecorder(tmp_path).close()  # the next start closes the cut one
    assert notes(files[-1])
