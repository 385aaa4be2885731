"""What the built-in synth costs live: `latentjam play` on a private JACK server for
--seconds, without and then with `--synth jack`; the CPU share and RSS of its processes.

    python benchmarks/bench_synth_cpu.py --seconds 40
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_radio_live import tree, usage  # noqa: E402
from jack_server import running_jack_server, wait_for_port  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before")
    with running_jack_server(f"latentjam-synth-bench-{os.getpid()}", period=256):
        for synth in ([], ["--synth", "jack"]):
            player = subprocess.Popen(
                [sys.executable, "-m", "latentjam", "play", "--backend", "jack", "--port",
                 "lj-synth-bench", "--no-osc", "--seed", "1", *synth],
                stderr=subprocess.DEVNULL, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
            try:
                wait_for_port("lj-synth-bench")
                time.sleep(3)
                _, cpu0 = usage(tree(player.pid))
                began = time.monotonic()
                time.sleep(args.seconds)
                rss, cpu = usage(tree(player.pid))
                share = (cpu - cpu0) / (time.monotonic() - began)
                print(f"{' '.join(synth) or 'MIDI only'}: CPU {share:.1%} of one core, RSS "
                      f"{rss:.0f} MB, load {os.getloadavg()[0]:.2f}", flush=True)
            finally:
                player.terminate()
                player.wait(15)


if __name__ == "__main__":
    main()
