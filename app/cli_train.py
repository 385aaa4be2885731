"""``latentjam convert | train``: MIDI folders to NoteSequence TFRecords, and training.

``convert`` is Magenta's ``convert_dir_to_note_sequences``; ``train`` is its
``music_vae_train`` (TensorFlow, the optional ``train`` extra). TensorFlow is imported only
inside the train command, so ``latentjam`` itself starts without it. A fine-tune
(``--init-from``, or resuming a run that was one) takes the small-data defaults of
``training.small_data.FINE_TUNE`` for every setting its flags leave out, and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentjam.models.configs import load_config
from latentjam.models.defaults import resolve_model
from latentjam.models.errors import ConfigError, ModelError
from latentjam.models.training.small_data import (
    FINE_TUNE,
    parse_programs,
    parse_transpose,
)

if TYPE_CHECKING:  # the module imports TensorFlow: only inside the train command
    from latentjam.models.training.train import TrainOptions

INSTALL_HINT = "pip install 'latentjam[train]'"


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert", help="a folder of MIDI files to a NoteSequence TFRecord",
        description="Convert MIDI files to one TFRecord of NoteSequences (the format of "
                    "Magenta's convert_dir_to_note_sequences), for `latentjam train`. "
                    "Unreadable files are named and skipped.")
    p.add_argument("input_dir", type=Path, help="folder of .mid/.midi files")
    p.add_argument("output", type=Path, help="TFRecord file to write (replaced if it exists)")
    p.add_argument("--recursive", action="store_true", help="also convert subfolders")
    p.set_defaults(func=run_convert)

    p = subparsers.add_parser(
        "train", help="train a MusicVAE (needs the 'train' extra: TensorFlow)",
        description="Train or fine-tune a MusicVAE on NoteSequence TFRecords. The run folder "
                    "keeps Magenta-compatible checkpoints (model.ckpt-N), model.safetensors "
                    "for `latentjam sample --model RUN_DIR` and, with held-out examples, "
                    "best.safetensors (the best evaluation so far); running the same command again "
                    "resumes from the last checkpoint. Ctrl-C saves a checkpoint and stops.")
    p.add_argument("--config", default=None,
                   help="config name (e.g. cat-mel_2bar_small) or a JSON/TOML hyper-parameter "
                        "file; not needed to resume, or with --init-from a latentjam model")
    p.add_argument("--examples", required=True,
                   help="TFRecord file(s) of NoteSequences, comma-separated")
    p.add_argument("--eval-examples", default=None,
                   help="held-out TFRecord file(s), comma-separated (default: a share of "
                        "--examples, chosen by piece)")
    p.add_argument("--run-dir", type=Path, required=True, help="folder of the run")
    p.add_argument("--num-steps", type=int, default=None,
                   help="training steps of this run in all; a resumed run continues to the "
                        "same end (default 10000; a fine-tune: at most "
                        f"{FINE_TUNE.max_steps}, early stopping ends it sooner)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="examples per step (a new run's default is 64; Magenta's configs say "
                        "512, sized for GPUs)")
    p.add_argument("--learning-rate", type=float, default=None,
                   help="initial learning rate (config default 0.001, decaying to 1e-5; a "
                        f"fine-tune: {FINE_TUNE.learning_rate:g}, constant)")
    p.add_argument("--keep-checkpoints", type=int, default=5,
                   help="checkpoints kept, the latest ones (default 5)")
    p.add_argument("--checkpoint-every", type=int, default=None,
                   help="steps between checkpoints and evaluations (default 500; a "
                        f"fine-tune: {FINE_TUNE.checkpoint_every})")
    p.add_argument("--patience", type=int, default=None,
                   help="stop after this many held-out evaluations without a better score "
                        f"(default: never; a fine-tune: {FINE_TUNE.patience}; 0: never)")
    p.add_argument("--eval-windows", type=int, default=512,
                   help="held-out windows scored at each checkpoint, spread over the split "
                        "(default 512; fewer for long windows: a 16-bar trio's take minutes)")
    p.add_argument("--eval-fraction", type=float, default=0.1,
                   help="share of pieces held out for evaluation (default 0.1; 0: none)")
    p.add_argument("--init-from", default=None,
                   help="fine-tune from a checkpoint: Magenta TF, magenta.js or latentjam; "
                        "small-data defaults apply to what the other flags leave out")
    low, high = FINE_TUNE.transpose
    p.add_argument("--transpose", default=None, metavar="LOW:HIGH",
                   help="move each training window by a random shift in LOW..HIGH semitones "
                        "each epoch, melody and bass only (never drums, never held-out "
                        "windows); windows leaving the pitch range are skipped and counted; "
                        "'off' for none (default: the config's range, e.g. -5:5 for melodies;"
                        f" a fine-tune: {low}:{high})")
    p.add_argument("--melody-programs", default=None,
                   help="programs melodies are read from: 'magenta' (0-31: piano, chromatic "
                        "percussion, organ, guitar), 'leads' (every program but the basses "
                        "32-39), 'all' or a list like 0-31,40-95 (default: magenta; a "
                        "fine-tune: leads)")
    p.add_argument("--any-program", action="store_true",
                   help="the same as --melody-programs all (as `latentjam personalize "
                        "--any-program`)")
    p.add_argument("--force-fine-tune", action="store_true",
                   help=f"fine-tune even on fewer than {FINE_TUNE.min_windows} training "
                        "windows (otherwise the run stops and suggests `latentjam personalize`)")
    p.add_argument("--no-sample-check", action="store_true",
                   help="a fine-tune's best.safetensors: the best held-out score, even where "
                        "its samples at temperature 0.3 are thinner than the base model's "
                        "(fewer notes or pitches, more empty or one-note loops)")
    p.add_argument("--hparams", default="",
                   help="hyper-parameter overrides, e.g. 'max_beta=0.5,dec_rnn_size=[256,256]'")
    p.add_argument("--max-windows-per-piece", type=int, default=None,
                   help="train on at most this many windows of a piece per epoch, drawn anew "
                        "each epoch (Magenta: 5; default: all)")
    p.add_argument("--seed", type=int, default=None, help="random seed of a new run")
    p.add_argument("--no-xla", action="store_true",
                   help="do not compile the training step with XLA (slower, starts sooner)")
    p.set_defaults(func=run_train)


def run_convert(args: argparse.Namespace) -> int:
    from latentjam.models.training.convert import convert_directory
    from tqdm import tqdm

    def progress(names, total):
        return tqdm(names, total=total, unit="file", desc="convert", disable=None)

    report = convert_directory(args.input_dir, args.output, args.recursive, progress)
    for line in report.lines():
        print(line, file=sys.stderr)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def parse_hparams(text: str) -> dict[str, Any]:
    """``key=value,...``; values are JSON (numbers, true/false, [lists]) or plain words."""
    out: dict[str, Any] = {}
    for item in _split_top_level(text):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--hparams: expected key=value, got {item!r}")
        value = value.strip()
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def _split_top_level(text: str) -> list[str]:
    items, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [item.strip() for item in items if item.strip()]


def _paths(text: str | None) -> tuple[Path, ...]:
    return tuple(Path(p.strip()) for p in (text or "").split(",") if p.strip())


def run_train(args: argparse.Namespace) -> int:
    # TensorFlow's C++ log prints CUDA and XLA set-up lines, an error among them on a machine
    # without a GPU; they are not the user's business. Python-side errors still raise.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow  # noqa: F401
    except ImportError as err:
        raise ModelError(f"training needs TensorFlow ({err}): {INSTALL_HINT}") from None
    from latentjam.models.training.run_dir import BEST_FILE, BEST_MEASURE, RunDir
    from latentjam.models.training.train import train

    options = train_options(args)
    if is_fine_tune(args):
        print(FINE_TUNE.describe(), file=sys.stderr)
    result = train(options)
    evaluation = ", ".join(f"{k} {v:.4g}" for k, v in result.evaluation.items())
    print(f"{result.run_dir}: step {result.global_step}"
          + (f"; eval {evaluation}" if evaluation else ""), file=sys.stderr)
    best = RunDir(result.run_dir).best_score()
    if best is not None:
        print(f"best held-out {BEST_MEASURE} so far {best:.4g}: "
              f"{result.run_dir / BEST_FILE}", file=sys.stderr)
    return 130 if result.interrupted else 0


def is_fine_tune(args: argparse.Namespace) -> bool:
    """``--init-from``, or the same run again without it (its run.json names its base)."""
    if args.init_from:
        return True
    run_file = Path(args.run_dir) / "run.json"
    try:
        return json.loads(run_file.read_text()).get("init_from") is not None
    except (OSError, ValueError, AttributeError):
        return False


def train_options(args: argparse.Namespace) -> TrainOptions:
    """``TrainOptions`` from the command line; a fine-tune's left-out settings come from
    ``FINE_TUNE`` (the same ones each time, so the same command resumes the run)."""
    from latentjam.models.training.train import TrainOptions

    fine_tune = is_fine_tune(args)
    # A run resumes with its own hyper-parameters (run.json); the defaults shape new runs
    # only, so a fine-tune begun under other defaults still resumes.
    new_run = not (Path(args.run_dir) / "run.json").is_file()
    hparams = dict(FINE_TUNE.hparams()) if fine_tune and new_run else {}
    hparams.update(parse_hparams(args.hparams))
    if args.batch_size is not None:
        hparams["batch_size"] = args.batch_size
    if args.learning_rate is not None:
        hparams["learning_rate"] = args.learning_rate
    if args.transpose is not None:
        transpose: tuple[int, int] | None | str = parse_transpose(args.transpose)
    else:
        transpose = FINE_TUNE.transpose if fine_tune else "config"
    if args.any_program and args.melody_programs is not None:
        raise ConfigError("--any-program and --melody-programs: give one of them")
    if args.melody_programs is not None or args.any_program:
        programs = parse_programs(args.melody_programs or "all")
    else:
        programs = FINE_TUNE.melody_programs if fine_tune else None
    patience = args.patience if args.patience is not None else (
        FINE_TUNE.patience if fine_tune else None)
    return TrainOptions(
        run_dir=args.run_dir, examples=_paths(args.examples),
        num_steps=_pick(args.num_steps, FINE_TUNE.max_steps, 10000, fine_tune),
        config=load_config(args.config) if args.config else None, hparams=hparams,
        eval_examples=_paths(args.eval_examples), eval_fraction=args.eval_fraction,
        keep_checkpoints=args.keep_checkpoints,
        checkpoint_every=_pick(args.checkpoint_every, FINE_TUNE.checkpoint_every, 500,
                               fine_tune),
        init_from=resolve_model(args.init_from) if args.init_from else None, seed=args.seed,
        max_windows=args.max_windows_per_piece, jit_compile=not args.no_xla,
        max_eval_examples=args.eval_windows, transpose=transpose, melody_programs=programs,
        patience=patience or None, min_windows=FINE_TUNE.min_windows if fine_tune else None,
        force=args.force_fine_tune, sample_check=not args.no_sample_check)


def _pick(given: int | None, fine_tune_default: int, default: int, fine_tune: bool) -> int:
    if given is not None:
        return given
    return fine_tune_default if fine_tune else default
