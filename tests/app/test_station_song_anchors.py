"""A station whose blend track draws each song's corners from a folder of the user's MIDI
loops (``song_anchors``): the files read at load, a bad one named before any sound, and a
render whose songs start on files of the folder, the same for the same seed."""

from __future__ import annotations

import json
import logging
import tomllib
from pathlib import Path

import mido
import pytest
from latentjam.app.cli import main
from latentjam.app.station_file import EXAMPLE_STATION, station_from_dict
from latentjam.engine.errors import SettingError


def drum_loop(path: Path, offset: int) -> None:
    """Two bars of drums at 120 BPM: a kick on the beats, hats between, a snare moving."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    events = []
    for step in range(32):
        pitch = 36 if step % 4 == 0 else 38 if step % 8 == (offset % 8) else 42
        events += [(step * 120, "note_on", pitch), (step * 120 + 60, "note_off", pitch)]
    now = 0
    for tick, kind, pitch in sorted(events, key=lambda e: (e[0], e[1] == "note_on")):
        track.append(mido.Message(kind, channel=9, note=pitch, velocity=90, time=tick - now))
        now = tick
    midi.save(path)


@pytest.fixture
def loops(tmp_path: Path) -> Path:
    folder = tmp_path / "loops"
    (folder / "more").mkdir(parents=True)
    for index in range(5):
        drum_loop(folder / ("more" if index == 4 else "") / f"loop-{index}.mid", index + 1)
    (folder / "notes.txt").write_text("not a loop, not read")
    return folder


def with_folder(folder: object, track: int = 0) -> dict:
    data = tomllib.loads(EXAMPLE_STATION.read_text())
    data["tracks"][track]["song_anchors"] = folder
    return data


def test_a_folder_of_loops_is_read_at_load_in_name_order(loops: Path):
    station = station_from_dict(with_folder(str(loops)), "my.toml")
    names = [Path(p).relative_to(loops.resolve()).as_posix()
             for p in station.song_anchors["drums"]]
    assert names == ["loop-0.mid", "loop-1.mid", "loop-2.mid", "loop-3.mid", "more/loop-4.mid"]
    assert "lead" not in station.song_anchors


@pytest.mark.parametrize("change, named", [
    (lambda folder: (5, 0), "tracks[0].song_anchors must name a folder of MIDI files, got 5"),
    (lambda folder: (str(folder / "gone"), 0), "no such folder"),
    (lambda folder: (str(folder), 1), "only a blend or grid track has corners to draw"),
    (lambda folder: (str(folder / "empty"), 0), "holds no MIDI file"),
    (lambda folder: (str(folder / "bad"), 0), "bad/broken.mid: "),
    (lambda folder: (str(folder / "big"), 0), "big/huge.mid: 1,048,600 bytes; at most"),
    (lambda folder: (str(folder / "tune"), 0), "tune/melody.mid: no 2-bar drums window"),
])
def test_a_bad_folder_or_file_stops_the_station_naming_file_key_and_value(loops: Path, change,
                                                                          named):
    (loops / "empty").mkdir()
    (loops / "bad").mkdir()
    (loops / "bad" / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    (loops / "big").mkdir()
    (loops / "big" / "huge.mid").write_bytes(b"MThd" + bytes(1_048_596))
    (loops / "tune").mkdir()
    melody = mido.MidiFile(ticks_per_beat=480)
    melody.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=80),
                                         mido.Message("note_off", note=60, time=480)]))
    melody.save(loops / "tune" / "melody.mid")
    folder, track = change(loops)
    with pytest.raises(SettingError) as err:
        station_from_dict(with_folder(folder, track), "my.toml")
    text = str(err.value)
    assert text.startswith(f"my.toml: tracks[{track}].song_anchors") and named in text, text
    assert repr(folder) in text and "\n" not in text


def test_a_folder_and_corner_anchors_together_are_refused(loops: Path):
    data = with_folder(str(loops))
    data["tracks"][0]["anchors"] = {"2": str(loops / "loop-0.mid")}
    with pytest.raises(SettingError, match=r"tracks\[0\].song_anchors = .*anchors 0-3"):
        station_from_dict(data, "my.toml")


def test_a_render_starts_each_song_on_files_of_the_folder_the_same_for_a_seed(
        loops: Path, tmp_path: Path, caplog):
    station = tmp_path / "radio.toml"
    text = EXAMPLE_STATION.read_text()
    station.write_text(text.replace('blend_path = "walk"\n',
                                    f'blend_path = "walk"\nsong_anchors = "{loops}"\n', 1))
    caplog.set_level(logging.INFO, logger="latentjam.engine.track")
    for name in ("a", "b"):
        assert main(["radio", "--config", str(station), "--render", "5m", "--out",
                     str(tmp_path / name), "--seed", "4"]) == 0
    read = [r.getMessage() for r in caplog.records if "track drums: anchor" in r.getMessage()]
    assert len(read) == 8 and all(str(loops.resolve()) in line for line in read)
    assert not [r for r in caplog.records if "cannot be made" in r.getMessage()]
    for song in sorted((tmp_path / "a").glob("*")):
        assert song.read_bytes() == (tmp_path / "b" / song.name).read_bytes(), song.name
    cues = [json.loads(line) for line in (tmp_path / "a" / "arrangement.jsonl").open()]
    assert any("transition" in cue for cue in cues)
