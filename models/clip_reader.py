"""A user's MIDI clip read into one window of classes, in a process of its own and bounded.

The engine's door for files it is asked to read while it plays (an OSC ``anchor/load``):
reading, parsing and converting a large file takes seconds of pure Python, and a special
file (``/dev/zero``) or a hostile one would take forever or all the memory, so none of it
may run beside the clock. ``python -m latentjam.models.clip_reader`` reads one file and
prints one JSON line, ``{"classes": [...], "kept": {...}}`` or ``{"error": "..."}``; the
caller kills it at its deadline. Inside, the process limits its own memory and CPU time, reads
only regular files of at most ``MAX_CLIP_BYTES`` that lie (symbolic links resolved) inside
the folders it was given, and takes the clip as it is (``to_examples(training=False)``, a
melody on any program: ``configs.any_program``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from latentjam.models.configs import ModelConfig, any_program, config_from_dict
from latentjam.models.encodings.converters import get_converter
from latentjam.models.errors import ModelError, NoExamplesError
from latentjam.models.midi_io import read_midi

MAX_CLIP_BYTES = 1 << 20  # 1 MiB: a whole song's MIDI file is rarely a tenth of it
MEMORY_LIMIT_BYTES = 2 << 30  # address space of the reading process
CPU_LIMIT_S = 60  # CPU time of the reading process (the caller's deadline is shorter)


def inside(path: Path, folders: list[Path]) -> bool:
    """Whether ``path`` (resolved) lies inside one of ``folders`` (resolved)."""
    real = path.resolve()
    return any(real.is_relative_to(folder.resolve()) for folder in folders)


def read_clip(path: Path, config: ModelConfig, within: list[Path] | None = None,
              max_bytes: int = MAX_CLIP_BYTES) -> tuple[np.ndarray, dict[str, int]]:
    """The first window of the clip at ``path`` as ``config``'s classes, and what training
    would have skipped in it; a ModelError says why not."""
    if within is not None and not inside(path, within):
        raise ModelError(f"{path}: outside the anchor folders "
                         f"({', '.join(str(f) for f in within)})")
    sequence = read_midi(path, max_bytes=max_bytes)
    extraction = get_converter(any_program(config)).to_examples(sequence, training=False)
    if not extraction.examples:
        raise NoExamplesError(f"{path}: no {config.converter.slice_bars}-bar "
                              f"{config.converter.kind} window in it (too short, or nothing "
                              f"the model can play)")
    return np.asarray(extraction.examples[0]), extraction.kept


def _limit_self() -> None:
    try:
        import resource
    except ImportError:  # not on this platform: the caller's deadline still holds
        return
    for limit, value in ((resource.RLIMIT_AS, MEMORY_LIMIT_BYTES),
                         (resource.RLIMIT_CPU, CPU_LIMIT_S)):
        _, hard = resource.getrlimit(limit)
        soft = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(limit, (soft, hard))
        except (ValueError, OSError):
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentjam.models.clip_reader",
                                     description="Read one MIDI clip into model classes.")
    parser.add_argument("--config", required=True, help="the model config, as JSON")
    parser.add_argument("--within", action="append", type=Path,
                        help="a folder the file must lie in (repeatable; none: anywhere)")
    parser.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    _limit_self()
    try:
        config = config_from_dict(json.loads(args.config), source="--config")
        classes, kept = read_clip(args.path, config, args.within)
        reply = {"classes": classes.tolist(), "kept": kept}
    except ModelError as err:
        reply = {"error": str(err)}
    except MemoryError:
        reply = {"error": f"{args.path}: reading it needed more than "
                          f"{MEMORY_LIMIT_BYTES >> 20} MB"}
    except RecursionError:
        reply = {"error": f"{args.path}: corrupt MIDI file: nested too deeply"}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
