"""``latentjam personalize``: teach a shipped model a band's sound in seconds (MidiMe).

Reads the user's MIDI files (files or folders), encodes every usable window with the frozen
base model, trains a MidiMe on those latent vectors, refits the base decoder's output layers
to the windows (the decoder head) and writes a ``.midime`` file that
``sample``, ``interpolate``, ``play`` and the set files take as a model.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from latentjam.models.configs import any_program
from latentjam.models.defaults import DEFAULT_MODELS
from latentjam.models.encodings.converters import get_converter
from latentjam.models.errors import InputError, ModelError
from latentjam.models.midi_io import find_midi_files, read_midi
from latentjam.models.notesequence import NoteSequence
from latentjam.models.personalize.head import HeadConfig
from latentjam.models.personalize.midime import MidiMeConfig
from latentjam.models.personalize.midime_file import SUFFIX
from latentjam.models.personalize.personalize import personalize, save_personalized
from latentjam.models.trained_model import TrainedModel

MAX_FILES = 2000  # a band's songs, not a corpus: `corpus build` is for those
PROGRESS_LINES = 4  # lines of training progress: it takes seconds


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    defaults = MidiMeConfig()
    p = subparsers.add_parser(
        "personalize", help="teach a model your band's sound in seconds (MidiMe)",
        description="Train a small VAE (MidiMe) in the latent space of a frozen base model on "
                    "every usable window of your MIDI files. The .midime file it writes works "
                    "wherever a model does: `latentjam sample --model band.midime`, "
                    "`latentjam play --model band.midime`, or `model = \"band.midime\"` in a "
                    "set file. It names its base model, which must stay where it was.")
    p.add_argument("inputs", type=Path, nargs="+",
                   help="MIDI files, or folders searched for .mid/.midi files")
    p.add_argument("--model", default="melody",
                   help=f"the base model: a kind ({', '.join(DEFAULT_MODELS)}), a shipped "
                        f"model or a checkpoint path (default melody)")
    p.add_argument("--out", type=Path, required=True, help=f"the {SUFFIX} file to write")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--steps", type=int, default=defaults.steps,
                   help=f"training steps (default {defaults.steps}: a few seconds)")
    p.add_argument("--beta", type=float, default=defaults.beta,
                   help=f"weight of the KL term: lower keeps samples closer to your windows, "
                        f"higher spreads them (default {defaults.beta:g})")
    p.add_argument("--head-steps", type=int, default=HeadConfig().steps,
                   help=f"steps refitting the base decoder's output layers to your windows, "
                        f"so that it can play their leaps and runs (default "
                        f"{HeadConfig().steps}, ~5-20 s); 0: MidiMe alone, the base decoder "
                        f"as it is")
    p.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default 0)")
    p.add_argument("--any-program", action="store_true",
                   help="melody models: learn from notes of every instrument program (synth "
                        "leads, strings, brass...), not only Magenta's melody programs 0-31 "
                        "(piano, organ, guitar...) the base model was trained on")
    p.set_defaults(func=run_personalize)


def _any_program(base: TrainedModel) -> TrainedModel:
    """``base`` reading melodies from every program (its weights and output unchanged)."""
    config = any_program(base.config)
    return dataclasses.replace(base, config=config, converter=get_converter(config))


def midi_files(inputs: list[Path]) -> list[Path]:
    """The MIDI files named or found (recursively, sorted) in the folders named."""
    found: list[Path] = []
    for item in inputs:
        if item.is_dir():
            inside = find_midi_files(item)
            if not inside:
                raise InputError(f"{item}: no .mid or .midi files in this folder")
            found.extend(inside)
        elif item.is_file():
            found.append(item)
        else:
            raise InputError(f"{item}: no such file or folder")
    if len(found) > MAX_FILES:
        raise InputError(f"{len(found)} MIDI files: personalize takes at most {MAX_FILES}; "
                         f"for a corpus use `latentjam corpus build` and `latentjam train`")
    return found


def _read_all(paths: list[Path]) -> tuple[list[NoteSequence], list[str], list[str]]:
    sequences, names, unreadable = [], [], []
    for path in paths:
        try:
            sequences.append(read_midi(path))
            names.append(str(path))
        except ModelError as err:
            unreadable.append(f"{path}: {err}")
    return sequences, names, unreadable


def _progress(started: float, what: str = ""):
    marks: set[int] = set()

    def show(step: int, total: int, loss: float) -> None:
        mark = step * PROGRESS_LINES // total
        if mark not in marks and (mark > 0 or step == 1):
            marks.add(mark)
            print(f"personalize: {what}step {step}/{total}, loss {loss:.2f}, "
                  f"{time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return show


def run_personalize(args: argparse.Namespace) -> int:
    if args.out.suffix != SUFFIX:
        raise InputError(f"--out {args.out}: a personalized model's file ends in {SUFFIX}")
    if args.out.exists() and not args.force:
        raise InputError(f"{args.out} exists; pass --force to overwrite it")
    config = MidiMeConfig(steps=args.steps, beta=args.beta, seed=args.seed)
    if args.head_steps < 0:
        raise InputError(f"--head-steps must be 0 (no head) or more, got {args.head_steps}")
    head = HeadConfig(steps=args.head_steps) if args.head_steps else None
    started = time.perf_counter()
    paths = midi_files(args.inputs)
    base = TrainedModel.load(args.model)
    reader = _any_program(base) if args.any_program else base
    print(f"personalize: {len(paths)} MIDI file(s), base model {base.name} "
          f"({base.config.name}, {base.config.converter.slice_bars}-bar windows)",
          file=sys.stderr, flush=True)
    sequences, names, unreadable = _read_all(paths)
    for line in unreadable:
        print(f"personalize: skipped {line}", file=sys.stderr)
    if not sequences:
        raise InputError(f"none of the {len(paths)} MIDI file(s) could be read; first: "
                         f"{unreadable[0]}")
    midime, report = personalize(reader, sequences, names, config, _progress(started),
                                 head=head, head_progress=_progress(started, "decoder head "))
    for file in report.files:
        line = f"{file.windows} window(s)" if file.windows else f"skipped: {file.reason}"
        print(f"  {file.name}: {line}")
    if not args.any_program and any("melody program" in f.reason for f in report.skipped):
        print("personalize: --any-program takes the songs whose melodies are on other "
              "instruments", file=sys.stderr)
    if report.no_head:
        print(f"personalize: no decoder head: {report.no_head}", file=sys.stderr)
    saved = save_personalized(args.out, base, midime, args.model, report)
    training = report.training
    found = sum(f.windows for f in report.files)
    taken = f"{report.vectors} windows" if report.vectors == found else \
        f"{report.vectors} of {found} windows (evenly spread)"
    print(f"wrote {saved}: {taken} from {len(report.files) - len(report.skipped)}"
          f" of {len(paths)} file(s), {training.steps} steps, loss {training.first_loss:.2f} -> "
          f"{training.final_loss:.2f}" + (
              f"; decoder head on {report.head.windows} windows, cross-entropy "
              f"{report.head.first_loss:.2f} -> {report.head.final_loss:.2f}"
              if report.head else "") + f", {time.perf_counter() - started:.1f} s in all")
    print(f"play it: latentjam play --model {saved}   "
          f"or: latentjam sample --model {saved}")
    folders = " ".join(str(p) for p in args.inputs)
    print(f"compare with the base: latentjam evaluate --like {folders} --model {args.model} "
          f"--model {saved}")
    return 0
