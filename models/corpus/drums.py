"""Build the drum corpus: every groove of MMA's allowed libraries, rendered, its drum track
kept, split by groove family, written as NoteSequence TFRecords with a manifest.

Each groove plays ``BARS`` bars at 120 BPM over a fixed progression. One tempo is enough: the
model sees 16th-note steps, and MMA's patterns are written in beats, so another tempo gives
the same steps (MMA's small random shifts of time and velocity vanish on the grid, and the
drum classes ignore velocity). Many variations of a groove share its drums (``...Sus`` adds
strings): a groove whose drum windows all appeared already in its split is recorded as a
repeat and not written, so no pattern weighs double.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from latentjam.models.configs import load_config
from latentjam.models.corpus.manifest import (
    STATUS_EMPTY,
    STATUS_PARSE_FAILED,
    PieceRecord,
    describe_error,
    write_manifest,
)
from latentjam.models.corpus.mma_grooves import (
    LIBRARIES,
    LICENCE,
    Groove,
    list_grooves,
    render,
    require_mma,
)
from latentjam.models.encodings.converters import get_converter
from latentjam.models.errors import InputError
from latentjam.models.midi_io import read_midi
from latentjam.models.notesequence_proto import serialize_note_sequence
from latentjam.models.tfrecord import write_records
from tqdm import tqdm

DEFAULT_CONFIG = "cat-drums_2bar_small"
CHORDS = ["C", "Am", "F", "G", "C", "Am", "F", "G"]
BARS = len(CHORDS)
TEMPO = 120.0
STATUS_REPEAT = "drums repeat earlier grooves"


@dataclass(frozen=True)
class DrumBuildOptions:
    out_dir: Path
    libraries: tuple[str, ...] = tuple(LIBRARIES)
    limit: int | None = None  # grooves per library (the first in listing order)
    config: str = DEFAULT_CONFIG
    eval_percent: float = 10.0
    jobs: int = 1


def split_of(groove: Groove, eval_percent: float) -> str:
    """"eval" for about ``eval_percent`` % of groove families, stable across machines."""
    key = f"{groove.library}/{groove.family}".lower().encode("utf-8")
    bucket = int.from_bytes(hashlib.sha256(key).digest()[:4], "big") % 10_000
    return "eval" if bucket < eval_percent * 100 else "train"


def process_groove(groove: Groove, config_name: str, eval_percent: float
                   ) -> tuple[PieceRecord, bytes | None, list[str]]:
    """Render, read and convert one groove: its record, serialized drum sequence and the
    hashes of its distinct windows."""
    record = PieceRecord(collection=groove.library, piece_id=f"{groove.library}/{groove.name}",
                         title=groove.name, licence=LICENCE,
                         source_file=f"{groove.library}/{groove.path.name}",
                         split=split_of(groove, eval_percent), repeats="none")
    try:
        with tempfile.TemporaryDirectory(prefix="latentjam-groove-") as work:
            midi = Path(work) / "groove.mid"
            render(groove.name, CHORDS, TEMPO, midi)
            sequence = read_midi(midi)
    except Exception as err:  # MMA's or the reader's complaint is reported, not raised
        record.status, record.error = STATUS_PARSE_FAILED, describe_error(err)
        return record, None, []
    drums = dataclasses.replace(sequence, notes=[n for n in sequence.notes if n.is_drum],
                                id=record.piece_id, filename=record.source_file,
                                collection_name=f"mma-{groove.library}")
    record.notes = len(drums.notes)
    record.time_signatures = [f"{ts.numerator}/{ts.denominator}@{ts.time:.2f}s"
                              for ts in drums.time_signatures]
    if not drums.notes:
        record.status = STATUS_EMPTY
        return record, None, []
    extraction = get_converter(load_config(config_name)).to_examples(drums)
    record.skipped = dict(extraction.skipped)
    hashes = [hashlib.sha1(np.ascontiguousarray(w).tobytes()).hexdigest()
              for w in extraction.examples]
    return record, serialize_note_sequence(drums), hashes


def _process_star(args: tuple) -> tuple[PieceRecord, bytes | None, list[str]]:
    return process_groove(*args)


def build_drum_corpus(options: DrumBuildOptions, command: str = "") -> dict:
    """Build the drum corpus ``options`` describe; returns the manifest written."""
    require_mma(list(options.libraries), "drum")
    if options.limit is not None and options.limit < 1:
        raise InputError(f"--limit must be at least 1, got {options.limit}")
    config = load_config(options.config)
    if config.converter.kind != "drums":
        raise InputError(f"config {config.name!r} is not a drums config")
    grooves = [g for library in options.libraries for g in list_grooves(library)[:options.limit]]
    jobs = [(groove, config.name, options.eval_percent) for groove in grooves]

    records: list[PieceRecord] = []
    payloads: dict[str, list[bytes]] = {"train": [], "eval": []}
    seen: dict[str, set[str]] = {"train": set(), "eval": set()}
    with tqdm(total=len(jobs), unit="groove", desc="drums", file=sys.stderr) as bar:
        for record, payload, hashes in _run(jobs, options.jobs):
            if payload is not None:
                new = set(hashes) - seen[record.split]
                record.windows_kept = len(new)
                if hashes and not new:
                    record.status, payload = STATUS_REPEAT, None
                seen[record.split] |= new
            elif record.status == STATUS_PARSE_FAILED:
                bar.write(f"skipped {record.piece_id}: {record.error}", file=sys.stderr)
            if payload is not None:
                payloads[record.split].append(payload)
            records.append(record)
            bar.update()
    options.out_dir.mkdir(parents=True, exist_ok=True)
    for split, data in payloads.items():
        write_records(options.out_dir / f"{split}.tfrecord", data)
    build = {
        "command": command,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": "MMA groove libraries (Debian package mma), rendered by mma",
        "libraries": {name: LIBRARIES[name] for name in options.libraries},
        "licence": LICENCE,
        "rendering": f"{BARS} bars at {TEMPO:g} BPM over {' '.join(CHORDS)}; drum track kept",
        "limit_per_library": options.limit,
        "converter_config": config.name,
        "eval_percent": options.eval_percent,
        "split_rule": "sha256 of library/family (the groove's library file)",
        "dedupe": "a groove whose distinct drum windows all appeared earlier in its split is "
                  "not written (status: drums repeat earlier grooves)",
        "files": {"train": "train.tfrecord", "eval": "eval.tfrecord"},
        "record_format": "note-seq NoteSequence protobuf per groove, TFRecord (uncompressed)",
    }
    return write_manifest(options.out_dir / "manifest.json", records, build)


def _run(jobs: list[tuple], processes: int) -> Iterator[tuple]:
    if processes <= 1 or len(jobs) <= 1:
        yield from map(_process_star, jobs)
        return
    with Pool(processes) as pool:
        yield from pool.imap(_process_star, jobs, chunksize=4)
