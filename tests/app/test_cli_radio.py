"""``latentjam radio`` as a user runs it: rendered offline (the same seed, the same files),
and live on a JACK port (clock, notes, Stop, nothing left hanging)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mido
import pytest
from latentjam.app.cli import main
from latentjam.app.cli_radio import parse_duration


def test_a_render_writes_a_file_per_song_and_a_cue_line_per_section(tmp_path: Path, capsys):
    out = tmp_path / "set"
    assert main(["radio", "--render", "5m", "--out", str(out), "--seed", "11"]) == 0
    songs = sorted(out.glob("song-*.mid"))
    assert len(songs) >= 2
    cues = [json.loads(line) for line in (out / "arrangement.jsonl").read_text().splitlines()]
    assert {"bar", "song", "section", "energy", "bpm", "tracks"} <= set(cues[0])
    assert cues[0]["bar"] == 0 and cues[0]["section"] == "intro"
    assert len({c["section"] for c in cues}) >= 4 and cues[-1]["song"] == len(songs)
    seconds = 0.0
    for path in songs:
        midi = mido.MidiFile(path)
        seconds += midi.length
        names = [t.name for t in midi.tracks]
        assert names[1:] == ["drums", "lead"]
        notes = [m for t in midi.tracks for m in t if m.type == "note_on" and m.velocity]
        offs = [m for t in midi.tracks for m in t
                if m.type == "note_off" or (m.type == "note_on" and not m.velocity)]
        assert notes and len(notes) == len(offs)  # every note ends in its song's file
    assert 295 <= seconds <= 305
    assert "song 1:" in capsys.readouterr().err


def test_the_same_seed_renders_the_same_notes(tmp_path: Path):
    for name in ("a", "b"):
        assert main(["radio", "--render", "90s", "--out", str(tmp_path / name), "--seed",
                     "2"]) == 0
    for song in sorted((tmp_path / "a").glob("*")):
        assert song.read_bytes() == (tmp_path / "b" / song.name).read_bytes(), song.name


def test_a_render_keeps_away_from_a_folder_in_use_and_reads_durations(tmp_path: Path, capsys):
    (tmp_path / "mine.txt").write_text("keep")
    assert main(["radio", "--render", "1m", "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]
    assert parse_duration("1h30m") == 5400 and parse_duration("90s") == 90
    assert parse_duration("2m") == 120 and parse_duration("45") == 45
    assert main(["radio", "--render", "soon", "--out", str(tmp_path / "x")]) == 2
    assert "'soon' is not a duration" in capsys.readouterr().err


def test_the_live_radio_plays_to_a_port_and_stops_clean(jack_server):
    from jack_server import MidiReceiver, wait_for_port

    port = "lj-radio"
    player = subprocess.Popen(
        [sys.executable, "-m", "latentjam", "radio", "--backend", "jack", "--port", port,
         "--no-osc", "--bars", "6", "--seed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        wait_for_port(port)
        with MidiReceiver(port) as rx:
            _, err = player.communicate(timeout=90)
            received = rx.stop(linger_s=0.3)
    finally:
        if player.poll() is None:
            player.kill()
            player.wait()
    assert player.returncode == 0, err
    messages = [mido.Message.from_bytes(data) for _, data in received]
    kinds = [m.type for m in messages]
    # (the station starts as soon as its port is up: the listener may miss its first beats)
    assert "stop" in kinds and kinds.count("clock") >= 3 * 96
    assert "song 1, intro" in err
    sounding: dict[tuple, int] = {}
    for m in messages:
        if m.type == "note_on" and m.velocity:
            sounding[(m.channel, m.note)] = sounding.get((m.channel, m.note), 0) + 1
        elif m.type in ("note_on", "note_off"):
            sounding[(m.channel, m.note)] = sounding.get((m.channel, m.note), 0) - 1
    assert sounding and all(count <= 0 for count in sounding.values())
    assert {channel for channel, _ in sounding} == {9}  # the intro: drums only


def test_a_render_with_audio_has_a_sound_file_beside_each_song(tmp_path: Path):
    import shutil

    import soundfile

    if shutil.which("fluidsynth") is None:
        pytest.skip("rendering needs the fluidsynth program (apt-get install fluidsynth)")
    out = tmp_path / "set"
    assert main(["radio", "--render", "40s", "--out", str(out), "--seed", "5", "--audio",
                 "flac"]) == 0
    (song,) = out.glob("song-*.mid")
    info = soundfile.info(song.with_suffix(".flac"))
    assert abs(info.duration - mido.MidiFile(song).length) <= 2.5  # the tail at most 2 s
