"""Where a personalized melody's pitch span and intervals come from: the band against samples.

    python benchmarks/band_diagnose.py [--band DIR] [--kind melody|drums] [--samples N]

Personalizes ``--kind`` on every file of the band (MidiMe alone, then with the decoder head)
and prints, for the band's windows and for each source of windows below, the distance to
the band per statistic and, for melodies, the pitch span (mean, and the share of windows per
span bin of ``likeness.RANGE_EDGES``), the mean leap and the share of repeated notes:

- the base model's prior samples;
- MidiMe's samples at temperatures 0 to 1 (the base decoder as shipped);
- the band's own windows decoded from their base μ (greedy and at 0.5): the best any latent
  vector can do through the frozen decoder, whatever MidiMe learns;
- MidiMe + decoder head samples.

This is the measurement behind docs/band.md's "why": if the band's own latents decode as
narrow and repetitive as MidiMe's samples, the decoder, not the latent, sets the span.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import numpy as np
from latentjam.models.evaluation import likeness
from latentjam.models.midi_io import read_midi
from latentjam.models.personalize.head import HeadConfig, headed_vae
from latentjam.models.personalize.midime import MidiMeConfig
from latentjam.models.personalize.personalize import (
    PersonalizedVAE,
    collect_windows,
    encode_windows,
    personalize,
)
from latentjam.models.trained_model import TrainedModel

DEFAULT_BAND = Path("~/.cache/latentjam/band-eval").expanduser()


def describe(name: str, base: TrainedModel, band: likeness.StyleProfile, windows: list
             ) -> str:
    profile = likeness.model_profile(base, windows)
    distances = {key.split("/", 1)[1]: value
                 for key, value in likeness.distance(band, profile).items()
                 if not key.endswith("windows")}
    cells = " ".join(f"{key[:8]} {value:.3f}" for key, value in distances.items())
    line = f"{name:30s} {cells}"
    part = next(iter(profile.parts.values()))
    if likeness.PITCH_RANGE in part.histograms:
        spans = part.histograms[likeness.PITCH_RANGE]
        leaps = part.histograms[likeness.INTERVAL]
        sizes = np.abs(np.arange(-likeness.INTERVAL_LIMIT, likeness.INTERVAL_LIMIT + 1))
        line += (f"\n{'':30s} span mean {part.mean_pitch_range:4.1f} st, bins "
                 f"{' '.join(f'{s:.2f}' for s in spans)}; mean leap "
                 f"{(leaps * sizes).sum():.1f} st, repeats {leaps[likeness.INTERVAL_LIMIT]:.0%}")
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--band", type=Path, default=DEFAULT_BAND)
    parser.add_argument("--kind", choices=("melody", "drums"), default="melody")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    base = TrainedModel.load(args.kind)
    reader = functools.cache(read_midi)
    folder = args.band.expanduser()
    windows, _ = likeness.band_windows(base, folder, reader)
    band = likeness.model_profile(base, windows)
    files = likeness.band_files(folder)
    sequences, names = [reader(p) for p in files], [str(p) for p in files]
    n = args.samples

    def draw(model: TrainedModel, temperature: float = 0.5) -> list:
        return model.sample(n, temperature, np.random.default_rng(0))

    print(f"span bins start at {likeness.RANGE_EDGES} semitones")
    print(describe("band", base, band, windows))
    print(describe("base samples T0.5", base, band, draw(base)))
    alone, _ = personalize(base, sequences, names, MidiMeConfig(), head=None)
    plain = TrainedModel(base.config, PersonalizedVAE(base.vae, alone), base.converter, "alone")
    for temperature in (0.0, 0.5, 1.0):
        print(describe(f"MidiMe samples T{temperature:g}", base, band,
                       draw(plain, temperature)))
    classes, _ = collect_windows(base, sequences, names)
    latents = encode_windows(base, classes)
    picked = np.random.default_rng(1).choice(len(latents), min(n, len(latents)), replace=False)
    for temperature in (0.0, 0.5):
        decoded = base.decode(latents[picked], temperature, np.random.default_rng(0))
        print(describe(f"band's own μ decoded T{temperature:g}", base, band, decoded))
    headed, _ = personalize(base, sequences, names, MidiMeConfig(), head=HeadConfig())
    model = TrainedModel(base.config, PersonalizedVAE(headed_vae(base, headed.head), headed),
                         base.converter, "headed")
    print(describe("MidiMe + head samples T0.5", base, band, draw(model)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
