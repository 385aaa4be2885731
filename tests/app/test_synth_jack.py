"""The built-in synth on JACK as a user meets it: ``play --synth jack`` reaches the speakers
(system:playback_*) with nobody patching, and ``radio --synth jack --synth-only`` sounds on
a JACK client of the test's own. A private dummy JACK server (tests/jack_server.py), whose
system:playback ports stand for the sound card."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

BASE = [sys.executable, "-m", "latentjam"]


@pytest.fixture
def fluidsynth_present():
    if shutil.which("fluidsynth") is None:
        pytest.skip("needs FluidSynth (apt-get install fluidsynth timgm6mb-soundfont)")
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError) as err:
        pytest.skip(f"needs FluidSynth's library: {err}")


def connections() -> dict[str, list[str]]:
    """Each JACK port and the ports it is connected to (``jack_lsp -c``)."""
    listing = subprocess.run(["jack_lsp", "-c"], capture_output=True, text=True,
                             env=os.environ, check=True).stdout
    ports: dict[str, list[str]] = {}
    current = ""
    for line in listing.splitlines():
        if line.startswith((" ", "\t")):
            ports[current].append(line.strip())
        elif line.strip():
            current = line.strip()
            ports[current] = []
    return ports


def wait_for_synth_ports(player: subprocess.Popen, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if "fluidsynth:left" in connections():
            return
        if player.poll() is not None:
            raise AssertionError(player.communicate()[1][-2000:])
        time.sleep(0.2)
    raise AssertionError("FluidSynth's JACK ports never appeared")


def test_play_synth_jack_is_connected_to_the_speakers_without_patching(jack_server,
                                                                        fluidsynth_present):
    player = subprocess.Popen(
        BASE + ["play", "--backend", "jack", "--port", "lj-autoconnect", "--no-osc", "--bpm",
                "240", "--bars", "64", "--seed", "1", "--synth", "jack", "--synth-only"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        wait_for_synth_ports(player)
        # FluidSynth connects right after it registers its ports: a moment, not a timing
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ports = connections()
            if ports.get("fluidsynth:left") and ports.get("fluidsynth:right"):
                break
            time.sleep(0.2)
    finally:
        player.terminate()
        _, err = player.communicate(timeout=30)
    assert ports["fluidsynth:left"] == ["system:playback_1"], (ports, err[-2000:])
    assert ports["fluidsynth:right"] == ["system:playback_2"], ports


def test_radio_synth_jack_sounds_on_a_jack_client(jack_server, fluidsynth_present):
    jack = pytest.importorskip("jack", reason="needs the JACK-Client module (dev extra)")
    import numpy as np

    player = subprocess.Popen(
        BASE + ["radio", "--backend", "jack", "--port", "lj-radio-synth", "--no-osc",
                "--no-status", "--seed", "3", "--bars", "24", "--synth", "jack",
                "--synth-only"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    peaks: list[float] = []
    client = jack.Client("lj-test-ears", no_start_server=True)
    inputs = [client.inports.register(f"in_{side}") for side in ("left", "right")]

    @client.set_process_callback
    def process(frames: int) -> None:  # JACK's thread: one number per cycle, nothing more
        peaks.append(max(float(np.abs(port.get_array()).max()) for port in inputs))

    try:
        with client:
            wait_for_synth_ports(player)
            client.connect("fluidsynth:left", inputs[0].name)
            client.connect("fluidsynth:right", inputs[1].name)
            midi_ports = [p for p in connections() if "lj-radio-synth" in p]
            _, err = player.communicate(timeout=120)  # the radio ends after --bars
    finally:
        if player.poll() is None:
            player.kill()
            player.communicate()
    assert player.returncode == 0, err[-2000:]
    assert "playing through FluidSynth (jack audio)" in err
    assert midi_ports == []  # --synth-only: no MIDI port
    assert max(peaks) > 0.01  # the radio sounded on JACK
