"""``latentjam evaluate``: measure the shipped models on their held-out splits and write the
report (docs/models.md) with its pictures."""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

from latentjam.models.errors import InputError


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate", help="evaluate the shipped models (or yours) and write docs/models.md",
        description="Measure each shipped model on its held-out split (reconstruction "
                    "accuracy, KL, statistics of samples at temperatures 0.1/0.5/1.0 against "
                    "the training data, interpolation smoothness, decode time) and write the "
                    "Markdown report with piano-roll pictures. Needs matplotlib (the `report` "
                    "extra).")
    p.add_argument("--data", action="append", default=[], metavar="MODEL=DIR",
                   help="a model's corpus folder (from `latentjam corpus build`, holding "
                        "eval.tfrecord and train.tfrecord); repeat per model")
    p.add_argument("--models", help="comma-separated shipped models or checkpoint paths "
                                    "(default: those given --data)")
    p.add_argument("--out", type=Path, default=Path("docs/models.md"),
                   help="the report (default docs/models.md)")
    p.add_argument("--images", type=Path, default=Path("docs/img"),
                   help="folder of the pictures (default docs/img)")
    p.add_argument("--samples", type=int, default=1000,
                   help="prior samples per temperature (default 1000)")
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

    if args.samples < 8:
        raise InputError(f"--samples must be at least 8, got {args.samples}")
    data = _data_dirs(args.data)
    names = [n.strip() for n in args.models.split(",")] if args.models else list(data)
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
            name, eval_path, folder / "train.tfrecord", args.images, args.out.parent,
            samples=args.samples, seed=args.seed,
            progress=lambda text: print(f"evaluate: {text}", file=sys.stderr, flush=True)))
    command = "latentjam " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "latentjam evaluate"
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render_report(results, command, skipped, date), encoding="utf-8")
    print(f"wrote {args.out} ({len(results)} models, pictures in {args.images})")
    return 0
