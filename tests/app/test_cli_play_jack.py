"""``latentjam play`` as a user runs it: a process of its own playing to a JACK port, steered
over OSC, stopped by SIGTERM or Ctrl-C (SIGINT) with nothing left hanging; ``latentjam
ports``; a bad config named in one line."""

import os
import signal
import socket
import subprocess
import sys
import time

import mido
import pytest
from jack_server import MidiReceiver, free_udp_port, wait_for_port
from latentjam.controllers.osc_server import encode

BASE = [sys.executable, "-m", "latentjam"]


def wait_for_osc(client, port, timeout=20.0):
    """Until the engine's OSC server answers /latentjam/state (it starts after the ports)."""
    client.settimeout(0.2)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        client.sendto(encode("/latentjam/state", ()), ("127.0.0.1", port))
        try:
            client.recv(65536)
            return
        except TimeoutError:
            continue
    raise AssertionError("the OSC server did not answer")


def play_and_listen(port, args, during):
    """`latentjam play` to JACK port ``port`` with ``args``, a listener on it; ``during(
    player, rx)`` acts while it plays, then SIGTERM. (exit code, stderr, messages received)."""
    player = subprocess.Popen(
        BASE + ["play", "--backend", "jack", "--port", port, "--no-osc", "--bpm", "240", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        wait_for_port(port)
        with MidiReceiver(port) as rx:
            during(player, rx)
            player.send_signal(signal.SIGTERM)
            _, err = player.communicate(timeout=15)
            received = rx.stop(linger_s=0.2)
    finally:
        if player.poll() is None:
            player.kill()
            player.wait()
    return player.returncode, err, received


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_play_stops_on_a_signal_with_stop_and_every_note_released(jack_server, signum):
    osc_port = free_udp_port()
    port = f"lj-cli-{signum.name}"
    player = subprocess.Popen(
        BASE + ["play", "--backend", "jack", "--port", port, "--osc-port", str(osc_port),
                "--seed", "2", "--bpm", "240"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        wait_for_port(port)
        with MidiReceiver(port) as rx:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                wait_for_osc(client, osc_port)
                client.sendto(encode("/latentjam/tempo", (200.0,)), ("127.0.0.1", osc_port))
            rx.wait_for(200, timeout_s=15)  # pulses and notes flow
            player.send_signal(signum)
            _, err = player.communicate(timeout=15)
            received = [mido.Message.from_bytes(d) for _, d in rx.stop(linger_s=0.2)]
    finally:
        if player.poll() is None:
            player.kill()
            player.wait()
    assert player.returncode == 0, err
    assert "tempo 200.00 BPM" in err  # the OSC message was carried out
    assert "Traceback" not in err
    kinds = [m.type for m in received]
    assert "clock" in kinds and "note_on" in kinds
    # the default set: melody on channel 1, drums on channel 10 (mido counts from 0)
    assert {m.channel for m in received if m.type == "note_on"} == {0, 9}
    assert kinds.index("stop") > max(i for i, k in enumerate(kinds) if k == "clock")
    sounding = 0
    for message in received:
        if message.type == "note_on" and message.velocity > 0:
            sounding += 1
        elif message.type in ("note_on", "note_off"):
            sounding -= 1
    assert sounding <= 0
    assert any(m.type == "control_change" and m.control == 123 for m in received)


def test_ports_lists_what_jack_has(jack_server):
    result = subprocess.run(BASE + ["ports", "--backend", "jack"], capture_output=True,
                            text=True, env=os.environ, timeout=30)
    assert result.returncode == 0
    assert "MIDI system: mido.backends.rtmidi/UNIX_JACK" in result.stdout
    assert "outputs" in result.stdout and "inputs" in result.stdout


def test_a_bad_config_is_one_line_naming_the_key(tmp_path):
    config = tmp_path / "set.toml"
    config.write_text('[[tracks]]\nname = "lead"\ntemperature = 9\n')
    result = subprocess.run(BASE + ["play", "--config", str(config)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"latentjam play: error: {config}: tracks[0]: temperature must be a number in 0..2, "
        f"got 9"]


def test_play_with_a_trained_melody_model_jams_over_the_default_drums(jack_server, tmp_path):
    """`play --model runs/band/best.safetensors` replaces the melody track's model only; the
    default set is humanized (velocities vary) and the log names each track's model."""
    import shutil

    from latentjam.models.defaults import resolve_model

    run = tmp_path / "runs" / "band"
    run.mkdir(parents=True)
    shutil.copy(resolve_model("melody"), run / "best.safetensors")
    code, err, received = play_and_listen(
        "lj-cli-band", ["--seed", "4", "--model", str(run / "best.safetensors")],
        lambda player, rx: rx.wait_for(400, timeout_s=20))
    received = [mido.Message.from_bytes(d) for _, d in received]
    assert code == 0, err
    assert "plays track melody (melody)" in err
    assert f"melody ({run / 'best.safetensors'}), drums (drums)" in err
    ons = [m for m in received if m.type == "note_on" and m.velocity > 0]
    assert {m.channel for m in ons} == {0, 9}  # the user's melody and the default drums
    for channel in (0, 9):
        assert len({m.velocity for m in ons if m.channel == channel}) > 2  # humanized


def test_after_a_stall_the_backlog_is_skipped_not_sent_as_a_burst(jack_server):
    """SIGSTOP for 2 s, then SIGCONT: the notes and pulses that came due meanwhile are left
    out (not sent at once), and the clock goes on with Stop, Song Position and Continue."""
    def stall(player, rx):
        rx.wait_for(200, timeout_s=20)
        player.send_signal(signal.SIGSTOP)
        time.sleep(2.0)
        player.send_signal(signal.SIGCONT)
        time.sleep(1.5)

    code, err, received = play_and_listen("lj-cli-stall", ["--seed", "3"], stall)
    assert code == 0, err
    stamps = [stamp for stamp, _ in received]
    gap = max(range(1, len(stamps)), key=lambda i: stamps[i] - stamps[i - 1])
    assert stamps[gap] - stamps[gap - 1] > 1.5e9  # the stall
    after = [(stamp, mido.Message.from_bytes(data)) for stamp, data in received[gap:]]
    burst = [m for stamp, m in after if stamp - stamps[gap] < 100_000_000]
    # 2 s at 240 BPM: 192 pulses and a dozen notes came due. In the first 100 ms: what the
    # output thread held (100 ms of look-ahead), what is less than 50 ms late, and 100 ms of
    # pulses at their time: 30 at most, not the backlog
    assert sum(m.type == "clock" for m in burst) <= 30
    assert sum(m.type == "note_on" and m.velocity > 0 for m in burst) <= 12
    kinds = [m.type for _, m in after]
    resync = kinds.index("songpos")
    assert kinds[resync - 1:resync + 2] == ["stop", "songpos", "continue"]
    assert "clock" in kinds[resync + 2:] and "too late and were skipped" in err
    # the stalled engine's JACK clients missed the server's cycles: the xrun watch, a
    # process of its own, heard them, and the engine still shut down cleanly (code 0)
    assert "JACK reported an xrun" in err


def test_play_with_a_personalized_model_plays_it_on_the_melody_track(jack_server, tmp_path):
    """`personalize` then `play --model band.midime`: the melody track plays the band's model
    (its base found by the name it recorded), the default drums beside it."""
    from latentjam.models.midi_io import write_midi
    from latentjam.models.notesequence import Note, NoteSequence, Tempo

    band = tmp_path / "band"
    band.mkdir()
    for song in range(3):  # a riff per song: up and down a scale in eighths
        notes = [Note(60 + (song + k) % 8, 90, k * 0.25, k * 0.25 + 0.2) for k in range(64)]
        write_midi(NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=16.0),
                   band / f"song{song}.mid")
    out = tmp_path / "band.midime"
    made = subprocess.run(BASE + ["personalize", str(band), "--out", str(out), "--steps", "100"],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    code, err, received = play_and_listen(
        "lj-cli-midime", ["--seed", "4", "--model", str(out)],
        lambda player, rx: rx.wait_for(400, timeout_s=20))
    assert code == 0, err
    assert f"melody ({out}), drums (drums)" in err
    ons = [m for m in (mido.Message.from_bytes(d) for _, d in received)
           if m.type == "note_on" and m.velocity > 0]
    assert {m.channel for m in ons} == {0, 9}


@pytest.mark.parametrize("only", [False, True])
def test_the_built_in_synth_sounds_on_jack_audio(jack_server, tmp_path, only):
    import shutil

    import numpy as np
    import soundfile

    if shutil.which("jack_rec") is None or shutil.which("fluidsynth") is None:
        pytest.skip("needs jack_rec (jackd2) and FluidSynth (apt-get install fluidsynth)")
    port = f"lj-synth-{int(only)}"
    args = ["--synth-only"] if only else []
    player = subprocess.Popen(
        BASE + ["play", "--backend", "jack", "--port", port, "--no-osc", "--bpm", "240",
                "--bars", "8", "--seed", "1", "--synth", "jack", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ports = subprocess.run(["jack_lsp"], capture_output=True, text=True,
                                   env=os.environ).stdout.split()
            if "fluidsynth:left" in ports:
                break
            time.sleep(0.2)
        recorded = tmp_path / "heard.wav"
        subprocess.run(["jack_rec", "-f", str(recorded), "-d", "2", "fluidsynth:left",
                        "fluidsynth:right"], check=True, capture_output=True, env=os.environ)
        ports = subprocess.run(["jack_lsp"], capture_output=True, text=True,
                               env=os.environ).stdout.split()
        _, err = player.communicate(timeout=60)
    finally:
        if player.poll() is None:
            player.kill()
            player.wait()
    assert player.returncode == 0, err
    samples, _ = soundfile.read(recorded)
    assert np.abs(samples).max() > 0.01  # it sounded
    assert any(port in name for name in ports) != only  # the MIDI port only without --synth-only


def test_a_multi_instrument_model_plays_each_instrument_on_its_channel(jack_server, tmp_path,
                                                                        multiperf_fixture):
    fixture = multiperf_fixture
    osc_port, port = free_udp_port(), "lj-band"
    config = tmp_path / "band.toml"
    config.write_text(f'autostart = false\n[[tracks]]\nname = "band"\n'
                      f'model = "{fixture / "ckpt"}"\nconfig = "{fixture / "config.json"}"\n'
                      f'mode = "hold"\nseed = 4\n')
    player = subprocess.Popen(
        BASE + ["play", "--config", str(config), "--backend", "jack", "--port", port,
                "--osc-port", str(osc_port), "--bpm", "240", "--bars", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        wait_for_port(port)
        with MidiReceiver(port) as rx:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                wait_for_osc(client, osc_port)  # the listener is connected: now Play
                client.sendto(encode("/latentjam/play", ()), ("127.0.0.1", osc_port))
            _, err = player.communicate(timeout=60)
            received = [mido.Message.from_bytes(d) for _, d in rx.stop(linger_s=0.2)]
    finally:
        if player.poll() is None:
            player.kill()
            player.wait()
    assert player.returncode == 0, err
    programs = {m.channel for m in received if m.type == "program_change"}
    notes = {m.channel for m in received if m.type == "note_on" and m.velocity}
    assert len(programs) >= 2 and notes and notes <= programs | {9}
