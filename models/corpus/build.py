"""Build a melody corpus: list pieces, read and convert each, split by tune, write TFRecords.

Output in ``out_dir``: ``train.tfrecord`` and ``eval.tfrecord`` (note-seq NoteSequence
records, Magenta's format: one record per piece that parsed and has notes) and
``manifest.json`` (``manifest.py``). The split hashes each piece's tune (``split_key``), so
the harmonisations of one chorale melody, or one tune printed in two books, never sit on
both sides. Pieces of one file are read together (an ABC file is tokenised once) in worker
processes when ``jobs > 1``; results come back in listing order, so a build is reproducible.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from multiprocessing import Pool
from pathlib import Path

from latentjam.models.configs import ModelConfig, load_config
from latentjam.models.corpus.collections import (
    COLLECTIONS,
    PieceSource,
    check_collections,
    corpus_root,
    list_pieces,
    split_key,
)
from latentjam.models.corpus.manifest import (
    STATUS_EMPTY,
    STATUS_PARSE_FAILED,
    PieceRecord,
    describe_error,
    write_manifest,
)
from latentjam.models.corpus.music21_melodies import expand_repeats, score_to_notesequence
from latentjam.models.encodings.converters import get_converter
from latentjam.models.errors import InputError
from latentjam.models.notesequence_proto import serialize_note_sequence
from latentjam.models.tfrecord import write_records
from tqdm import tqdm

DEFAULT_CONFIG = "cat-mel_2bar_small"
DEFAULT_EVAL_PERCENT = 10.0


@dataclass(frozen=True)
class BuildOptions:
    out_dir: Path
    collections: tuple[str, ...]
    limit: int | None = None  # pieces per collection (the first in listing order)
    config: str = DEFAULT_CONFIG  # whose converter counts the windows
    eval_percent: float = DEFAULT_EVAL_PERCENT
    expand: bool = True  # write repeats out where music21 can
    jobs: int = 1


def split_of(piece: PieceSource, eval_percent: float) -> str:
    """"eval" for about ``eval_percent`` % of tunes, stable across runs and machines."""
    digest = hashlib.sha256(split_key(piece).encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:4], "big") % 10_000
    return "eval" if bucket < eval_percent * 100 else "train"


def _read_scores(pieces: list[PieceSource]) -> Iterator[tuple[PieceSource, object]]:
    """(piece, music21 Score or the exception that stopped it), for pieces of one file."""
    from music21 import converter
    from music21.abcFormat import ABCFile, translate

    if pieces[0].abc_number is None:
        for piece in pieces:
            try:
                yield piece, converter.parse(piece.path, forceSource=True)
            except Exception as err:  # any reader failure is reported
                yield piece, err
        return
    try:
        abc = ABCFile()
        abc.open(pieces[0].path)
        try:
            tunes = abc.read().splitByReferenceNumber()
        finally:
            abc.close()
    except Exception as err:
        for piece in pieces:
            yield piece, err
        return
    for piece in pieces:
        handler = tunes.get(piece.abc_number)
        if handler is None:
            yield piece, LookupError(f"music21 finds no tune X:{piece.abc_number} in the file")
            continue
        try:
            yield piece, translate.abcToStreamScore(handler)
        except Exception as err:
            yield piece, err


def process_file(pieces: list[PieceSource], config: ModelConfig, eval_percent: float,
                 expand: bool, root: Path) -> list[tuple[PieceRecord, bytes | None]]:
    """Read, convert and count every piece of one file; bytes are the serialized sequence."""
    converter = get_converter(config)
    results = []
    for piece, score in _read_scores(pieces):
        record = PieceRecord(
            collection=piece.collection, piece_id=piece.piece_id, title=piece.title,
            licence=COLLECTIONS[piece.collection].licence,
            source_file=piece.path.relative_to(root).as_posix(),
            split=split_of(piece, eval_percent))
        if isinstance(score, Exception):
            record.status, record.error = STATUS_PARSE_FAILED, describe_error(score)
            results.append((record, None))
            continue
        try:
            score, record.repeats = expand_repeats(score) if expand else (score, "as written")
            ns = score_to_notesequence(score, piece.piece_id, piece.collection,
                                       record.source_file)
        except Exception as err:  # a score music21 read but we cannot use
            record.status, record.error = STATUS_PARSE_FAILED, describe_error(err)
            results.append((record, None))
            continue
        record.notes = len(ns.notes)
        record.time_signatures = [f"{ts.numerator}/{ts.denominator}@{ts.time:.2f}s"
                                  for ts in ns.time_signatures]
        if not ns.notes:
            record.status = STATUS_EMPTY
            results.append((record, None))
            continue
        extraction = converter.to_examples(ns)
        record.windows_kept = len(extraction.examples)
        record.skipped = dict(extraction.skipped)
        results.append((record, serialize_note_sequence(ns)))
    return results


def _file_groups(pieces: list[PieceSource]) -> list[list[PieceSource]]:
    return [list(group) for _, group in groupby(pieces, key=lambda p: p.path)]


def _process_star(args: tuple) -> list[tuple[PieceRecord, bytes | None]]:
    return process_file(*args)


def build_corpus(options: BuildOptions, command: str = "") -> dict:
    """Build the corpus ``options`` describe; returns the manifest written."""
    check_collections(list(options.collections))
    if options.limit is not None and options.limit < 1:
        raise InputError(f"--limit must be at least 1, got {options.limit}")
    if not 0 <= options.eval_percent < 100:
        raise InputError(f"--eval-percent must lie in [0, 100), got {options.eval_percent}")
    config = load_config(options.config)
    if config.converter.kind != "melody":
        raise InputError(f"config {config.name!r} is not a melody config "
                         f"(its converter is {config.converter.kind!r})")
    root = corpus_root()
    pieces = [piece for name in options.collections
              for piece in list_pieces(name, root)[:options.limit]]
    jobs = [(group, config, options.eval_percent, options.expand, root)
            for group in _file_groups(pieces)]

    records: list[PieceRecord] = []
    payloads: dict[str, list[bytes]] = {"train": [], "eval": []}
    with tqdm(total=len(pieces), unit="piece", desc="corpus", file=sys.stderr) as bar:
        for results in _run(jobs, options.jobs):
            for record, payload in results:
                records.append(record)
                if payload is not None:
                    payloads[record.split].append(payload)
                elif record.status == STATUS_PARSE_FAILED:
                    bar.write(f"skipped {record.piece_id} ({record.title}): {record.error}",
                              file=sys.stderr)
            bar.update(len(results))

    options.out_dir.mkdir(parents=True, exist_ok=True)
    for split, data in payloads.items():
        write_records(options.out_dir / f"{split}.tfrecord", data)
    return write_manifest(options.out_dir / "manifest.json", records,
                          _build_info(options, config, command))


def _run(jobs: list[tuple], processes: int) -> Iterator[list]:
    if processes <= 1 or len(jobs) <= 1:
        yield from map(_process_star, jobs)
        return
    with Pool(processes) as pool:
        yield from pool.imap(_process_star, jobs)


def _build_info(options: BuildOptions, config: ModelConfig, command: str) -> dict:
    import music21

    return {
        "command": command,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "music21_version": music21.__version__,
        "collections": {name: {"title": COLLECTIONS[name].title,
                               "licence": COLLECTIONS[name].licence}
                        for name in options.collections},
        "limit_per_collection": options.limit,
        "converter_config": config.name,
        "eval_percent": options.eval_percent,
        "split_rule": "sha256 of the normalised tune title (collections.split_key)",
        "repeats": "expanded where music21 can" if options.expand else "as written",
        "files": {"train": "train.tfrecord", "eval": "eval.tfrecord"},
        "record_format": "note-seq NoteSequence protobuf per piece, TFRecord (uncompressed)",
    }


__all__ = ["BuildOptions", "DEFAULT_CONFIG", "build_corpus", "process_file", "split_of"]
