"""``latentjam radio`` as a user runs it: rendered offline (the same seed, the same files),
and live on a JACK port (clock, notes, Stop, nothing left hanging)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import mido
import pytest
from latentjam.app.cli import main
from latentjam.app.cli_radio import parse_duration
from latentjam.app.station_file import EXAMPLE_STATION


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


def test_the_live_radio_plays_tells_systemd_reports_reloads_and_stops_clean(jack_server,
                                                                            tmp_path: Path):
    import socket
    import time
    import urllib.error
    import urllib.request

    from jack_server import MidiReceiver, wait_for_port

    station = tmp_path / "radio.toml"
    station.write_text(EXAMPLE_STATION.read_text())
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(tmp_path / "notify"))
    systemd.settimeout(20)
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "400000"}
    port = "lj-radio"
    player = subprocess.Popen(
        [sys.executable, "-m", "latentjam", "radio", "--config", str(station), "--backend",
         "jack", "--port", port, "--no-osc", "--bars", "10", "--seed", "1", "--status-port",
         "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_for_port(port)
        with MidiReceiver(port) as rx:
            told = [systemd.recv(256).decode() for _ in range(3)]
            assert "READY=1" in told and "WATCHDOG=1" in told, told
            log = tmp_path / "log"
            # the status server's port, from the log line on stderr
            url = None
            started = time.monotonic()
            lines = []
            while url is None and time.monotonic() - started < 20:
                line = player.stderr.readline()
                lines.append(line)
                if "/health and /metrics" in line:
                    url = line.split("http://")[1].split("/health")[0]
            assert url, lines
            with urllib.request.urlopen(f"http://{url}/health", timeout=5) as answer:
                assert answer.status == 200 and answer.read() == b"ok\n"
            with urllib.request.urlopen(f"http://{url}/metrics", timeout=5) as answer:
                metrics = answer.read().decode()
            assert "latentjam_playing 1.0" in metrics and "latentjam_song 1.0" in metrics
            try:
                urllib.request.urlopen(f"http://{url}/other", timeout=5)
            except urllib.error.HTTPError as err:
                assert err.code == 404
            station.write_text("[station]\ntempo = 3\n[[tracks]]\nname = 'drums'\n")
            player.send_signal(signal.SIGHUP)  # a bad file: one line, the station plays on
            time.sleep(0.5)
            station.write_text(EXAMPLE_STATION.read_text())
            player.send_signal(signal.SIGHUP)
            _, err = player.communicate(timeout=90)
            received = rx.stop(linger_s=0.3)
    finally:
        systemd.close()
        if player.poll() is None:
            player.kill()
            player.wait()
    err = "".join(lines) + err
    log.write_text(err)
    assert player.returncode == 0, err
    assert f"SIGHUP: {station}: station.tempo: unknown key" in err
    assert f"SIGHUP: {station} reloaded" in err
    messages = [mido.Message.from_bytes(data) for _, data in received]
    kinds = [m.type for m in messages]
    # (the station starts as soon as its port is up: the listener may miss its first beats)
    assert "stop" in kinds and kinds.count("clock") >= 6 * 96
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


def test_the_live_stream_is_recorded_and_survives_a_kill(jack_server, tmp_path: Path):
    import time

    from jack_server import wait_for_port

    record = tmp_path / "rec"
    player = subprocess.Popen(
        [sys.executable, "-m", "latentjam", "radio", "--backend", "jack", "--port", "lj-rec",
         "--no-osc", "--no-status", "--seed", "2", "--record", str(record), "--rotate", "3s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        wait_for_port("lj-rec")
        deadline = time.monotonic() + 60
        while len(list(record.glob("radio-*.mid"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        player.kill()  # kill -9: no chance to close anything
        player.wait()
    finally:
        if player.poll() is None:
            player.kill()
    files = sorted(record.glob("radio-*.mid"))
    assert len(files) >= 3, player.stderr.read()
    notes = 0
    for path in files:  # every one a whole file, the open one too (at most its bar lost)
        midi = mido.MidiFile(path)
        notes += sum(1 for m in midi.tracks[0] if m.type == "note_on" and m.velocity)
    assert notes > 0
