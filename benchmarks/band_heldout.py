"""Personalize on some of a band's songs, measure against the others: held-out likeness.

    python benchmarks/band_heldout.py [--band DIR] [--match GLOB] [--kind melody|drums]
                                      [--samples N] [--markdown FILE]

The band's MIDI files (default: ``benchmarks/band_set.py``'s) sorted by name are split in
two, every other file: fold A learns from the even-numbered ones and is measured against the
odd-numbered, fold B the other way round (``--match``: only the files whose name matches,
e.g. one soundtrack of ``benchmarks/unseen_set.py``'s melodies). Per fold and statistic it
prints the distance to the held-out songs (``evaluate --like``'s total variation, the same
seed for every model, temperature 0.5) of the base model, of MidiMe alone
(``--head-steps 0``), of MidiMe with the decoder head (the default), and of **the training
songs themselves**: the distance a model that reproduced its training songs perfectly would
have. Where that last one is no closer than the base, no learner of those songs can move the
statistic toward the held-out ones: the split, not the model, decides it.
"""

from __future__ import annotations

import argparse
import fnmatch
import functools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from latentjam.models.evaluation import likeness
from latentjam.models.midi_io import read_midi
from latentjam.models.personalize.head import HeadConfig
from latentjam.models.personalize.personalize import (
    load_personalized,
    personalize,
    save_personalized,
)
from latentjam.models.trained_model import TrainedModel

DEFAULT_BAND = Path("~/.cache/latentjam/band-eval").expanduser()
TEMPERATURE = 0.5


def _distances(band: likeness.StyleProfile, model: TrainedModel, windows: list
               ) -> dict[str, float]:
    profile = likeness.model_profile(model, windows)
    return {key: value for key, value in likeness.distance(band, profile).items()
            if not key.endswith("windows")}


def fold(base: TrainedModel, train: list[Path], test: list[Path], samples: int,
         reader) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """The distances of each model to ``test``'s windows, and personalize's seconds."""
    test_windows, _ = likeness.band_windows(base, test, reader)
    train_windows, _ = likeness.band_windows(base, train, reader)
    band = likeness.model_profile(base, test_windows)
    rows = {"base": _distances(band, base, base.sample(
        samples, TEMPERATURE, np.random.default_rng(0)))}
    seconds = {}
    sequences = [reader(p) for p in train]
    with tempfile.TemporaryDirectory() as folder:
        for label, head in (("MidiMe alone", None), ("MidiMe + head", HeadConfig())):
            started = time.perf_counter()
            midime, report = personalize(base, sequences, [str(p) for p in train], head=head)
            seconds[label] = time.perf_counter() - started
            path = save_personalized(Path(folder) / "band.midime", base, midime, base.source,
                                     report)
            model = load_personalized(path, base)
            rows[label] = _distances(band, base, model.sample(
                samples, TEMPERATURE, np.random.default_rng(0)))
    rows["training songs"] = _distances(band, base, train_windows)
    return rows, seconds


def table(name: str, rows: dict[str, dict[str, float]]) -> str:
    keys = list(rows["base"])
    several_parts = len({key.split("/")[0] for key in keys}) > 1  # a trio: name the part
    labels = list(rows)
    out = [f"**{name}**", "", "| statistic | " + " | ".join(labels) + " |",
           "|" + " --- |" * (len(labels) + 1)]
    for key in keys:
        base = rows["base"][key]
        cells = [f"{base:.3f}"]
        for label in labels[1:]:
            value = rows[label][key]
            change = f" ({(value - base) / base * 100:+.0f} %)" if base else ""
            cells.append(f"{value:.3f}{change}")
        label = key if several_parts else key.split("/", 1)[1]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    means = {label: float(np.mean(list(rows[label].values()))) for label in labels}
    out.append("| mean of the rows | " + " | ".join(
        f"{means[label]:.3f}" + (f" ({(means[label] - means['base']) / means['base'] * 100:+.0f}"
                                 f" %)" if i else "")
        for i, label in enumerate(labels)) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--band", type=Path, default=DEFAULT_BAND)
    parser.add_argument("--match", default="*", help="only files whose name matches")
    parser.add_argument("--kind", choices=("melody", "drums", "trio"), default="melody")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    files = [p for p in likeness.band_files(args.band.expanduser())
             if fnmatch.fnmatch(p.name, args.match)]
    if len(files) < 2:
        parser.error(f"{args.band}: {len(files)} file(s) match {args.match!r}; a split needs 2")
    even, odd = files[0::2], files[1::2]
    base = TrainedModel.load(args.kind)
    reader = functools.cache(read_midi)
    tables = []
    for name, train, test in (("A: learn from the even-numbered files", even, odd),
                              ("B: learn from the odd-numbered files", odd, even)):
        rows, seconds = fold(base, train, test, args.samples, reader)
        timing = ", ".join(f"{label} {s:.1f} s" for label, s in seconds.items())
        tables.append(table(f"{args.kind}, fold {name} (personalize: {timing})", rows))
        print(tables[-1], flush=True)
    if args.markdown is not None:
        args.markdown.write_text("\n".join(tables), encoding="utf-8")
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
