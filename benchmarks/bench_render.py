"""How fast `latentjam render` turns loops into audio: a 2-bar melody and a 16-bar trio from
the shipped models, each rendered --runs times in this process (FluidSynth is a process of
its own each time); median and p99 wall time and the real-time factor, with the load.

    python benchmarks/bench_render.py --runs 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import numpy as np
from latentjam.app.audio.render import RenderOptions, render_midi
from latentjam.models.midi_io import write_midi
from latentjam.models.trained_model import TrainedModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before")
    with tempfile.TemporaryDirectory() as scratch:
        for model in ("melody", "trio"):
            loaded = TrainedModel.load(model)
            (sequence,) = loaded.sample(1, temperature=0.5, rng=np.random.default_rng(1))
            midi = Path(scratch) / f"{model}.mid"
            write_midi(sequence, midi)
            times, seconds = [], 0.0
            for run in range(args.runs):
                out = render_midi(midi, Path(scratch) / f"{model}-{run}.wav", RenderOptions())
                times.append(out.render_s)
                seconds = out.seconds
            times.sort()
            p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
            median = statistics.median(times)
            print(f"{model}: {seconds:.1f} s of audio, render median {median:.3f} s, p99 "
                  f"{p99:.3f} s ({seconds / median:.0f}x real time), load "
                  f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
