"""How much `evaluate --like`'s change column moves with the dice: one row per seed.

    python benchmarks/band_likeness_seeds.py --kind melody --model band.midime [--model ...]
                                             [--band DIR] [--samples N] [--seeds K]

For seeds 0..K-1, the base model (``--kind``) and each ``--model`` draw ``--samples`` samples
with the same seed at temperature 0.5; per model and statistic it prints the change of the
distance to the band against the base for each seed, and the worst (the largest) of them:
whether "at least 30 % closer" holds for every draw or only for the one in the docs.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import numpy as np
from latentjam.models.evaluation import likeness
from latentjam.models.midi_io import read_midi
from latentjam.models.trained_model import TrainedModel, model_name

DEFAULT_BAND = Path("~/.cache/latentjam/band-eval").expanduser()
TEMPERATURE = 0.5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("melody", "drums"), default="melody")
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--band", type=Path, default=DEFAULT_BAND)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    base = TrainedModel.load(args.kind)
    models = {model_name(name): TrainedModel.load(name) for name in args.model}
    windows, _ = likeness.band_windows(base, args.band.expanduser(), functools.cache(read_midi))
    band = likeness.model_profile(base, windows)

    def distances(model: TrainedModel, seed: int) -> dict[str, float]:
        drawn = model.sample(args.samples, TEMPERATURE, np.random.default_rng(seed))
        found = likeness.distance(band, likeness.model_profile(base, drawn))
        return {key.split("/", 1)[1]: value for key, value in found.items()
                if not key.endswith("windows")}

    changes: dict[tuple[str, str], list[float]] = {}
    for seed in range(args.seeds):
        reference = distances(base, seed)
        for name, model in models.items():
            for key, value in distances(model, seed).items():
                changes.setdefault((name, key), []).append(
                    (value - reference[key]) / reference[key] * 100)
    print(f"{args.kind}: change against the base, seeds 0..{args.seeds - 1}, "
          f"{args.samples} samples")
    for (name, key), values in changes.items():
        print(f"{name:20s} {key:15s} " + " ".join(f"{v:+4.0f}" for v in values)
              + f"   worst {max(values):+.0f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
