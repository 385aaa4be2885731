"""The synth latency benchmark (benchmarks/bench_synth_latency.py) in its quick form, where
JACK, FluidSynth, a soundfont and the JACK-Client module are present: every note it plays
must be heard, as audio and as MIDI, and each figure printed (the figures themselves are for
docs/benchmarks.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_synth_latency.py"
NUMBER = r"-?\d+\.\d+ ms"


def missing_reason() -> str | None:
    """Why the benchmark cannot run here, or None when it can."""
    sys.path.insert(0, str(ROOT / "tests"))
    from jack_server import jack_missing_reason

    reason = jack_missing_reason()
    if reason:
        return reason
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError) as err:
        return f"FluidSynth's library (Debian: apt-get install fluidsynth): {err}"
    try:
        import jack  # noqa: F401
    except (ImportError, OSError) as err:
        return f"the JACK-Client module (the dev extra) or libjack: {err}"
    from latentjam.app.audio.soundfont import find_soundfont
    from latentjam.engine.errors import SettingError

    try:
        find_soundfont()
    except SettingError as err:
        return str(err)
    return None


def test_the_quick_latency_run_hears_every_note_and_prints_the_figures():
    reason = missing_reason()
    if reason:
        pytest.skip(f"the synth latency benchmark needs {reason}")
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    counts = dict(re.findall(r"([A-Za-z][\w ]*): (\d+)", "notes: " + figures["notes"]))
    assert counts == {"notes": "12", "heard": "12", "not heard": "0",
                      "sounds no note asked for": "0", "MIDI heard": "12"}, figures["notes"]
    for line in ("audio onset minus deadline", "MIDI message minus deadline"):
        assert re.fullmatch(f"median {NUMBER}, p99 {NUMBER}, max {NUMBER}, min {NUMBER}",
                            figures[line]), figures[line]
    assert re.fullmatch(r"256 frames at 48000 Hz \(5\.33 ms\)", figures["JACK period"])
    assert re.fullmatch(r"\d+ frames \(\d+\.\d+ ms\)", figures["system:playback latency"])
    assert figures["xruns"].isdigit() and "load average" in done.stdout
