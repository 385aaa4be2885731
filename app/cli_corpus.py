"""``latentjam corpus build KIND``: the training corpora of the default models.

Melody reads public-domain collections of music21's corpus (the ``corpus`` extra); drums
renders MMA's groove libraries (the ``mma`` program). Both write ``train.tfrecord``,
``eval.tfrecord`` and ``manifest.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from latentjam.models.corpus.mma_grooves import LIBRARIES as MMA_LIBRARY_NAMES
from latentjam.models.errors import InputError

CORPUS_KINDS = ("melody", "drums", "trio", "multitrack")


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    from latentjam.models.corpus.collections import COLLECTIONS, DEFAULT_COLLECTIONS, REFUSED
    from latentjam.models.corpus.mma_grooves import LIBRARIES as MMA_LIBRARIES
    from latentjam.models.corpus.mma_grooves import REFUSED as MMA_REFUSED

    corpus = subparsers.add_parser(
        "corpus", help="build training corpora (public-domain scores, MMA grooves)",
        description="Build training corpora: melodies from music21's public-domain "
                    "collections, drums from MMA's groove libraries.")
    actions = corpus.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    p = actions.add_parser(
        "build", help="write train/eval NoteSequence TFRecords and a manifest",
        description="Convert every piece of the chosen collections to a NoteSequence, split "
                    "by tune into train.tfrecord and eval.tfrecord, and record each piece's "
                    "origin, licence and kept windows in manifest.json.")
    p.add_argument("kind", choices=CORPUS_KINDS,
                   help="melody (music21 collections), drums (MMA grooves, needs `mma`) or "
                        "trio (the melody corpus's tunes with MMA bass and drums) or multitrack "
                        "(its tunes as a lead over MMA's full arrangements)")
    p.add_argument("--melody-corpus", type=Path,
                   help="trio, multitrack: the folder of a melody corpus (its tunes and their "
                        "split)")
    p.add_argument("--grooves-per-tune", type=int, default=2,
                   help="trio, multitrack: grooves rendered under each tune (default 2)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--collections", default=",".join(DEFAULT_COLLECTIONS),
        help=f"melody: comma-separated music21 collections (allowed: {', '.join(COLLECTIONS)}"
             f"; refused: {', '.join(REFUSED)}); default all allowed")
    p.add_argument("--libraries", default=None,
                   help=f"drums, trio: comma-separated MMA libraries (allowed: "
                        f"{', '.join(MMA_LIBRARIES)}; refused: {', '.join(MMA_REFUSED)}); "
                        f"default: all allowed for drums, stdlib and zoom for trio, stdlib, "
                        f"zoom and pflib for multitrack")
    p.add_argument("--limit", type=int, default=None,
                   help="take only the first N pieces (grooves) of each collection (library), "
                        "for a quick build")
    p.add_argument("--config", default=None,
                   help="config whose converter counts the windows (default "
                        "cat-mel_2bar_small, drums: cat-drums_2bar_small)")
    p.add_argument("--eval-percent", type=float, default=None,
                   help="share of tunes held out for evaluation (default 10)")
    p.add_argument("--no-expand-repeats", action="store_true",
                   help="keep repeats as written instead of writing them out")
    p.add_argument("--jobs", type=int, default=1,
                   help="worker processes reading scores (default 1)")
    p.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {args.jobs}")
    if args.kind == "drums":
        return _build_drums(args)
    if args.kind == "trio":
        return _build_trio(args)
    if args.kind == "multitrack":
        return _build_multitrack(args)
    try:
        from latentjam.models.corpus import build
    except ImportError as err:  # music21 missing: the optional ``corpus`` extra
        raise InputError(f"corpus building needs music21 (pip install 'latentjam[corpus]'): "
                         f"{err}") from None
    names = tuple(n.strip() for n in args.collections.split(",") if n.strip())
    if not names:
        raise InputError("--collections names no collection")
    options = build.BuildOptions(
        out_dir=args.out, collections=names, limit=args.limit,
        config=args.config or build.DEFAULT_CONFIG,
        eval_percent=(build.DEFAULT_EVAL_PERCENT if args.eval_percent is None
                      else args.eval_percent),
        expand=not args.no_expand_repeats, jobs=args.jobs)
    command = "latentjam " + shlex.join(sys.argv[1:]) if sys.argv[1:] else ""
    manifest = build.build_corpus(options, command=command)
    totals = manifest["totals"]
    print(f"{totals['pieces_listed']} pieces listed; written train "
          f"{totals['pieces_written']['train']}, eval {totals['pieces_written']['eval']}; "
          f"windows kept train {totals['windows_kept']['train']}, "
          f"eval {totals['windows_kept']['eval']}; "
          f"{len(totals['parse_failures'])} failed to parse -> {args.out}")
    return 0


def _build_drums(args: argparse.Namespace) -> int:
    from latentjam.models.corpus import drums

    options = drums.DrumBuildOptions(
        out_dir=args.out, libraries=_libraries(args) or tuple(MMA_LIBRARY_NAMES),
        limit=args.limit,
        config=args.config or drums.DEFAULT_CONFIG,
        eval_percent=10.0 if args.eval_percent is None else args.eval_percent, jobs=args.jobs)
    command = "latentjam " + shlex.join(sys.argv[1:]) if sys.argv[1:] else ""
    totals = drums.build_drum_corpus(options, command=command)["totals"]
    print(f"{totals['pieces_listed']} grooves listed; written train "
          f"{totals['pieces_written']['train']}, eval {totals['pieces_written']['eval']}; "
          f"distinct windows train {totals['windows_kept']['train']}, "
          f"eval {totals['windows_kept']['eval']}; "
          f"{len(totals['parse_failures'])} failed to render -> {args.out}")
    return 0


def _build_trio(args: argparse.Namespace) -> int:
    from latentjam.models.corpus import trio

    if args.melody_corpus is None:
        raise InputError("trio needs --melody-corpus DIR (from `latentjam corpus build melody`)")
    if args.grooves_per_tune < 1:
        raise InputError(f"--grooves-per-tune must be at least 1, got {args.grooves_per_tune}")
    options = trio.TrioBuildOptions(
        out_dir=args.out, melody_corpus=args.melody_corpus,
        libraries=_libraries(args) or trio.LIBRARIES, grooves_per_tune=args.grooves_per_tune,
        limit=args.limit,
        config=args.config or trio.DEFAULT_CONFIG, jobs=args.jobs)
    command = "latentjam " + shlex.join(sys.argv[1:]) if sys.argv[1:] else ""
    totals = trio.build_trio_corpus(options, command=command)["totals"]
    print(f"{totals['pieces_listed']} trios listed; written train "
          f"{totals['pieces_written']['train']}, eval {totals['pieces_written']['eval']}; "
          f"windows train {totals['windows_kept']['train']}, eval "
          f"{totals['windows_kept']['eval']}; {len(totals['parse_failures'])} failed -> "
          f"{args.out}")
    return 0


def _build_multitrack(args: argparse.Namespace) -> int:
    from latentjam.models.corpus import multitrack

    if args.melody_corpus is None:
        raise InputError("multitrack needs --melody-corpus DIR (from `latentjam corpus build "
                         "melody`)")
    if args.grooves_per_tune < 1:
        raise InputError(f"--grooves-per-tune must be at least 1, got {args.grooves_per_tune}")
    options = multitrack.MultitrackBuildOptions(
        out_dir=args.out, melody_corpus=args.melody_corpus,
        libraries=_libraries(args) or multitrack.LIBRARIES,
        grooves_per_tune=args.grooves_per_tune, limit=args.limit,
        config=args.config or multitrack.DEFAULT_CONFIG, jobs=args.jobs)
    command = "latentjam " + shlex.join(sys.argv[1:]) if sys.argv[1:] else ""
    totals = multitrack.build_multitrack_corpus(options, command=command)["totals"]
    print(f"{totals['pieces_listed']} arrangements listed; written train "
          f"{totals['pieces_written']['train']}, eval {totals['pieces_written']['eval']}; "
          f"windows train {totals['windows_kept']['train']}, eval "
          f"{totals['windows_kept']['eval']}; {len(totals['parse_failures'])} failed -> "
          f"{args.out}")
    return 0


def _libraries(args: argparse.Namespace) -> tuple[str, ...] | None:
    if args.libraries is None:
        return None
    libraries = tuple(n.strip() for n in args.libraries.split(",") if n.strip())
    if not libraries:
        raise InputError("--libraries names no library")
    return libraries
