"""The ``latentjam`` command: one entry point, a subcommand per job.

Each command module exposes ``add_parsers(subparsers)``, which registers its subcommands
with a ``func(args) -> int`` default. A user mistake (a ``ModelError`` or an
``EngineError``) is printed as one line naming the file or value at fault, never as a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# Batch-1 decodes are small matrix products: OpenBLAS's threads cost more than they give,
# and on a 2-core machine they collapse when anything else runs (decode 5 ms -> 20-88 ms).
# Must be set before NumPy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from latentjam import __version__
from latentjam.engine.errors import EngineError
from latentjam.models.errors import ModelError

# a live set's log is read against the music: when each line happened, to the millisecond
LOG_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s"
LOG_DATE_FORMAT = "%H:%M:%S"

COMMAND_MODULES = (
    "latentjam.app.cli_generate",  # sample, interpolate, encode, decode
    "latentjam.app.cli_train",  # convert, train
    "latentjam.app.cli_personalize",  # personalize
    "latentjam.app.cli_corpus",  # corpus build
    "latentjam.app.cli_evaluate",  # evaluate
    "latentjam.app.cli_play",  # play, ports
    "latentjam.app.cli_render",  # render
    "latentjam.app.cli_radio",  # radio
    "latentjam.app.cli_groove",  # groove extract, groove apply
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="latentjam",
        description="Real-time MIDI performance engine driven by MusicVAE.",
    )
    parser.add_argument("--version", action="version", version=f"latentjam {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format=LOG_FORMAT, datefmt=LOG_DATE_FORMAT,
    )
    try:
        return int(args.func(args) or 0)
    except (ModelError, EngineError) as err:
        print(f"latentjam {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"latentjam {args.command}: interrupted", file=sys.stderr)
        return 130
