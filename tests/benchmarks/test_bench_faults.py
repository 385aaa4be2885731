"""The fault harness (benchmarks/bench_faults.py) in its quick form, where JACK is present:
its correctness figures must hold (its timing figures are for docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_faults.py"


def test_the_quick_fault_run_keeps_the_music_going(jack_server):
    done = subprocess.run([sys.executable, str(HARNESS), "--quick"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = dict(line.rsplit(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    # every pulse of the master forwarded, or left out in a stall and counted (the receivers
    # then put back with Song Position Pointer); never one gained
    assert figures["follow: pulses gained or lost"] == "0"
    master = int(figures["follow: master pulses"])
    assert int(figures["follow: pulses skipped in stalls"]) < master // 10
    # counted at each hop: what JACK delivered from the master reached the engine's input,
    # and the engine forwarded each (or counted it skipped); a held-up master is never
    # taken for a silent one and its input reopened, which lost every pulse meanwhile
    heard = int(figures["follow: pulses heard by the engine's clock input"])
    assert int(figures["follow: pulses heard by a listener on the master's port"]) == master
    assert heard == master
    assert int(figures["follow: pulses the engine forwarded (its count)"]) + \
        int(figures["follow: pulses skipped in stalls"]) == heard
    assert figures["follow: clock input opened anew while the master ran"] == "0"
    for check in ("follow: restarted master's Stop obeyed", "follow: followed again",
                  "faults: anchor refused or loaded, one line each",
                  "faults: stall resynced with Song Position",
                  "faults: engine alive after the kills"):
        assert figures[check] == "True", check
    # the clock never stopped for the anchor load, the OSC flood or the killed workers: no
    # gap near the seconds they took (timing itself is the benchmark's to report)
    for gap in ("faults: longest pulse gap during the anchor load and hostile OSC ms",
                "faults: longest pulse gap while they were killed ms"):
        assert float(figures[gap]) < 500, gap
    assert int(figures["faults: pulses in the 100 ms after a stall"]) < 100
