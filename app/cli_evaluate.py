"""``latentjam evaluate``: measure the shipped models on their held-out splits and write the
report (docs/models.md) with its pictures; with ``--like DIR``, a table of how close each named
model's samples come to the MIDI files in DIR (a band's style, ``evaluation.likeness``); with
``--unseen DIR``, how well they reconstruct music from other sources, beside the
always-"no event" baseline (``evaluation.reconstruction``; a section of the report when
``--data`` is given too)."""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from latentjam.models.errors import InputError

if TYPE_CHECKING:
    from latentjam.models.notesequence import NoteSequence
    from latentjam.models.trained_model import TrainedModel

REPORT, REPORT_IMAGES = Path("docs/models.md"), Path("docs/img")
REPORT_SAMPLES = 1000  # per temperature: the report's statistics settle to 2 digits
# A band's table needs the shape of the samples, not the third digit: 100 melody samples
# take about a second, and a trio's 16-bar ones about 20 ms each.
LIKE_SAMPLES = 100
LIKE_TEMPERATURE = 0.5
MIN_SAMPLES = 8
UNSEEN_DEFAULT_MODELS = ("melody", "drums", "trio")


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate", help="evaluate the shipped models (or yours) and write docs/models.md; "
                         "--like DIR: how close models come to a folder of MIDI files",
        description="Measure each shipped model on its held-out split (reconstruction "
                    "accuracy, KL, statistics of samples at temperatures 0.1/0.5/1.0 against "
                    "the training data, interpolation smoothness, decode time) and write the "
                    "Markdown report with piano-roll pictures. Needs matplotlib (the `report` "
                    "extra). With --like DIR instead: sample each --model and print, per "
                    "statistic (notes per bar, pitch range, pitch classes, onsets, intervals, "
                    "note lengths, drum classes and steps, empty and one-note windows), its "
                    "distance to the MIDI files in DIR, and how much closer or farther than "
                    "the first model each other one is. With --unseen DIR: per model and "
                    "part, the reconstruction accuracy of the windows of the MIDI files in "
                    "DIR beside the share of their steps where nothing starts.")
    p.add_argument("--like", type=Path, metavar="DIR",
                   help="a folder of MIDI files (a band's songs): compare the models' samples "
                        "with them instead of writing the report")
    p.add_argument("--unseen", type=Path, metavar="DIR",
                   help="a folder of MIDI files from other sources than the models' data: "
                        "how well each model reconstructs their windows, per part, beside "
                        "always answering \"no event\"; with --data it is a section of the "
                        "report, alone a table of the --model(s) (default: melody, drums, "
                        "trio)")
    p.add_argument("--model", action="append", default=[], metavar="MODEL",
                   help="a model to compare with --like DIR: a kind (melody, drums, trio), a "
                        "shipped model, a checkpoint or a .midime file; repeat for more, the "
                        "first is the base the others are compared with (default: melody)")
    p.add_argument("--data", action="append", default=[], metavar="MODEL=DIR",
                   help="a model's corpus folder (from `latentjam corpus build`, holding "
                        "eval.tfrecord and train.tfrecord); repeat per model")
    p.add_argument("--models", help="comma-separated shipped models or checkpoint paths "
                                    "(default: those given --data)")
    p.add_argument("--out", type=Path,
                   help=f"the report (default {REPORT})")
    p.add_argument("--images", type=Path,
                   help=f"folder of the pictures (default {REPORT_IMAGES}; with --like, piano "
                        f"rolls of band windows and samples only when given)")
    p.add_argument("--samples", type=int,
                   help=f"prior samples per temperature (default {REPORT_SAMPLES}); with "
                        f"--like, samples per model (default {LIKE_SAMPLES})")
    p.add_argument("--temperature", type=float, default=LIKE_TEMPERATURE,
                   help=f"with --like: the sampling temperature (default {LIKE_TEMPERATURE})")
    p.add_argument("--markdown", type=Path, metavar="FILE",
                   help="with --like: also write the tables as Markdown to FILE")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_evaluate)


def _data_dirs(items: list[str]) -> dict[str, Path]:
    dirs = {}
    for item in items:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            raise InputError(f"--data takes MODEL=DIR, got {item!r}")
        dirs[name] = Path(folder)
    return dirs


def run_evaluate(args: argparse.Namespace) -> int:
    from latentjam.models.defaults import shipped_models

    if args.like is not None:
        if args.unseen is not None:
            raise InputError("--unseen and --like are two different measures; give one")
        return run_likeness(args)
    if args.unseen is not None and not args.data:
        return run_unseen(args)
    samples = REPORT_SAMPLES if args.samples is None else args.samples
    if samples < MIN_SAMPLES:
        raise InputError(f"--samples must be at least {MIN_SAMPLES}, got {samples}")
    if args.markdown is not None:
        raise InputError("--markdown goes with --like DIR or --unseen DIR alone; the report "
                         "is written to --out")
    out = args.out or REPORT
    images = args.images or REPORT_IMAGES
    data = _data_dirs(args.data)
    names = _names(args) or list(data)
    if not names:
        raise InputError("name the models' corpora with --data MODEL=DIR "
                         f"(shipped: {', '.join(shipped_models())})")
    for name in names:
        if name not in shipped_models() and not Path(name).exists():
            raise InputError(f"{name!r} is neither a shipped model ({', '.join(shipped_models())}"
                             f") nor a checkpoint path")
    try:
        from latentjam.models.evaluation.markdown import render_report
        from latentjam.models.evaluation.report import evaluate_model
    except ImportError as err:
        raise InputError(f"the report needs matplotlib (pip install 'latentjam[report]'): "
                         f"{err}") from None
    results, skipped = [], {}
    for name in names:
        folder = data.get(name)
        eval_path = folder / "eval.tfrecord" if folder else None
        if eval_path is None or not eval_path.is_file():
            skipped[name] = (f"its held-out split was not given (`--data {name}=DIR`, a "
                             f"folder made by `latentjam corpus build`)")
            print(f"evaluate: skipping {name}: {skipped[name]}", file=sys.stderr)
            continue
        results.append(evaluate_model(
            name, eval_path, folder / "train.tfrecord", images, out.parent,
            samples=samples, seed=args.seed, progress=_progress, unseen=args.unseen))
    command = "latentjam " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "latentjam evaluate"
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(results, command, skipped, date), encoding="utf-8")
    print(f"wrote {out} ({len(results)} models, pictures in {images})")
    return 0


def _names(args: argparse.Namespace) -> list[str]:
    """The models named by --model (repeated) and --models (comma-separated), in order."""
    names = [n.strip() for n in args.model]
    if args.models:
        names += [n.strip() for n in args.models.split(",")]
    return [n for n in names if n]


def _progress(text: str) -> None:
    print(f"evaluate: {text}", file=sys.stderr, flush=True)


def run_unseen(args: argparse.Namespace) -> int:
    """``evaluate --unseen DIR``: each named model's reconstruction of the windows of the
    MIDI files in DIR, per part, beside the always-"no event" baseline."""
    from latentjam.models.evaluation import reconstruction
    from latentjam.models.midi_io import read_midi
    from latentjam.models.trained_model import TrainedModel

    if args.out is not None:
        raise InputError("--out is the report's file; with --unseen alone write the table "
                         "with --markdown FILE")
    from latentjam.models.evaluation.likeness import band_files

    band_files(args.unseen.expanduser())  # a missing or empty folder said before any model loads
    names = _names(args) or list(UNSEEN_DEFAULT_MODELS)
    labels = _labels(names)
    models = {label: TrainedModel.load(name) for label, name in zip(labels, names, strict=True)}
    reader = functools.cache(read_midi)  # one folder, read once for models of several kinds
    rows = []
    for label, model in models.items():
        _progress(f"{label}: reading {args.unseen}")
        found = reconstruction.files_windows(model, args.unseen, reader)
        for reason in found.skipped:
            _progress(f"{label}: skipping {reason}")
        _progress(f"{label}: {len(found.classes)} distinct windows from {found.used} of "
                  f"{found.files} files")
        rows.append((label, reconstruction.score(model, found.classes, _progress)))
    print(reconstruction.render_table(rows), end="")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(reconstruction.render_table(rows, markdown=True),
                                 encoding="utf-8")
        _progress(f"wrote {args.markdown}")
    return 0


def run_likeness(args: argparse.Namespace) -> int:
    """``evaluate --like DIR``: per encoding of the named models, one table of each model's
    distance to the band in DIR, printed and (``--markdown``) written."""
    import numpy as np
    from latentjam.models.evaluation import likeness
    from latentjam.models.midi_io import read_midi
    from latentjam.models.trained_model import TrainedModel, model_config

    if args.data:
        raise InputError("--data is the report's; --like DIR compares samples with the MIDI "
                         "files in DIR")
    if args.out is not None:
        raise InputError("--out is the report's file; with --like write the tables with "
                         "--markdown FILE")
    samples = LIKE_SAMPLES if args.samples is None else args.samples
    if samples < MIN_SAMPLES:
        raise InputError(f"--samples must be at least {MIN_SAMPLES}, got {samples}")
    folder = args.like.expanduser()
    likeness.band_files(folder)  # a missing or empty folder said before any model loads
    names = _names(args) or ["melody"]
    labels = _labels(names)
    # Every name resolved before anything is sampled: a typo in the third model fails now.
    configs = {label: model_config(name)
               for label, name in zip(labels, names, strict=True)}
    pictures = _pictures_wanted(args.images)
    groups: dict[str, list[str]] = {}  # one table per encoding: only like windows compare
    for label, config in configs.items():
        converter = config.converter
        key = likeness.encoding(converter.kind, converter.slice_bars,
                                converter.steps_per_quarter)
        groups.setdefault(key, []).append(label)
    reader = functools.cache(read_midi)  # a folder read once for models of several kinds
    tables = []
    for encoding, members in groups.items():
        first = TrainedModel.load(names[labels.index(members[0])])
        _progress(f"reading {folder} as {encoding} (the windows of {first.config.name})")
        windows, files = likeness.band_windows(first, folder, reader)
        for file in files:
            if not file.windows:
                _progress(f"skipping {file.reason}")
        used = sum(1 for f in files if f.windows)
        _progress(f"band: {len(windows)} windows from {used} of {len(files)} files")
        band = likeness.model_profile(first, windows)
        profiles = {}
        for label in members:
            model = first if label == members[0] else \
                TrainedModel.load(names[labels.index(label)])
            _progress(f"{label}: {samples} samples at temperature {args.temperature:g}")
            # the same seed for every model: the change column measures the models, not
            # the dice (a model compared with itself changes by 0%)
            drawn = model.sample(samples, temperature=args.temperature,
                                 rng=np.random.default_rng(args.seed))
            profiles[label] = likeness.model_profile(model, drawn)
            if pictures:
                _save_rolls(pictures, f"{label}-samples", drawn, model,
                            f"{label}: samples at temperature {args.temperature:g}")
        if pictures:
            converter = first.config.converter
            _save_rolls(pictures, f"band-{converter.kind}-{converter.slice_bars}bar",
                        _spread(windows), first, f"{folder.name}: band windows ({encoding})")
        tables.append(likeness.compare(band, profiles))
    print("\n".join(table.render() for table in tables), end="")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text("\n".join(table.render(markdown=True) for table in tables),
                                 encoding="utf-8")
        _progress(f"wrote {args.markdown}")
    return 0


def _labels(names: list[str]) -> list[str]:
    """What each model's column is called: the name as typed for a kind or shipped model, a
    short name for a path; a name given twice gets a number."""
    from latentjam.models.trained_model import model_name

    labels: list[str] = []
    for name in names:
        label = model_name(name) if "/" in name or Path(name).suffix else name
        base, k = label, 2
        while label in labels:
            label, k = f"{base}-{k}", k + 1
        labels.append(label)
    return labels


SHOWN = 8  # windows per picture


def _spread(windows: list[NoteSequence]) -> list[NoteSequence]:
    """``SHOWN`` windows spread through the band set, so that more than one song shows."""
    picked = sorted({round(i * (len(windows) - 1) / max(SHOWN - 1, 1)) for i in range(SHOWN)})
    return [windows[i] for i in picked if i < len(windows)]


def _pictures_wanted(images: Path | None) -> Path | None:
    if images is None:
        return None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        _progress("no pictures: matplotlib is not installed (pip install 'latentjam[report]')")
        return None
    return images


def _save_rolls(folder: Path, stem: str, windows: list[NoteSequence], model: TrainedModel,
                title: str) -> None:
    from latentjam.models.evaluation.piano_roll import save_rolls

    converter = model.config.converter
    qpm = windows[0].qpm if windows else 120.0
    path = folder / f"{stem}.png"
    save_rolls(path, [w.notes for w in windows[:SHOWN]], converter.window_steps,
               60.0 / qpm / converter.steps_per_quarter, title)
    _progress(f"wrote {path}")
