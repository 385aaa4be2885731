"""Build the multitrack corpus: the melody corpus's tunes as a lead over MMA's FULL
arrangement of a groove (drums, bass, walking bass, chords, arpeggios, plectrum, solo…: every
track the groove plays, with its programs and velocities) under chords estimated from the tune.

The data of the ``hier-multiperf_vel_1bar`` family (``encodings/multiperf.py``: at most 8
instruments a bar, each with its program, drums a kind of their own, velocities in bins).
As the trio corpus (``trio.py``) it reads a melody corpus folder, so the split by tune is the
melody corpus's; tunes in 4/4, 2/2 or 2/4 at least ``MIN_BARS`` bars long get
``GROOVES_PER_TUNE`` grooves of the allowed libraries by a hash of the tune, and MMA renders
each over a chord per bar at the tune's tempo. What differs: every rendered track is kept as
an instrument of its own (MMA writes one MIDI track per groove track, all drums in one), and
the tune's top voice is the lead, on a program picked by a hash of the tune from
``LEAD_PROGRAMS`` (the tunes carry none: a fiddle tune on a flute is as plausible as on a
fiddle). The rendered drums are split into two drum instruments by pitch, ``DRUM_KIT_PITCHES``
(kicks, snares, toms) and the rest (hi-hats, cymbals, hand percussion): in one bar of 16th
hi-hats over a kick and snare, one drum instrument runs past the converter's 64 events and
the whole bar is lost. A groove with more instruments than the converter takes (8, the lead
included) loses its tracks with the fewest notes, as ``MultiperfConverter`` would drop them
at inference; the number dropped is in each piece's record.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import Pool
from pathlib import Path

from latentjam.models.configs import load_config
from latentjam.models.corpus.chords import chords_per_bar
from latentjam.models.corpus.manifest import (
    STATUS_PARSE_FAILED,
    PieceRecord,
    describe_error,
    write_manifest,
)
from latentjam.models.corpus.mma_grooves import LICENCE as MMA_LICENCE
from latentjam.models.corpus.mma_grooves import Groove, render, require_mma
from latentjam.models.corpus.trio import (
    ON_FOUR_FOUR_GRID,
    STATUS_SKIPPED,
    four_four_grooves,
    grooves_for,
)
from latentjam.models.encodings.converters import get_converter
from latentjam.models.errors import InputError
from latentjam.models.midi_io import read_midi
from latentjam.models.notesequence import Note, NoteSequence, TimeSignature
from latentjam.models.notesequence_proto import parse_note_sequence, serialize_note_sequence
from latentjam.models.tfrecord import read_records, write_records
from tqdm import tqdm

DEFAULT_CONFIG = "hier-multiperf_vel_1bar_med"
LIBRARIES = ("stdlib", "zoom", "pflib")
GROOVES_PER_TUNE = 2
MIN_BARS = 4  # a 1-bar model needs no long tune
MAX_BARS = 32  # more tunes and grooves beat longer tunes
MAX_INSTRUMENTS = 8  # the converter's; the lead is one of them
MIN_BAND_TRACKS = 2  # a groove of drums alone is no band
# General MIDI: flute, piccolo, recorder, violin, clarinet, alto sax, trumpet, oboe,
# square and sawtooth lead, acoustic guitar (nylon), accordion
LEAD_PROGRAMS = (73, 72, 74, 40, 71, 65, 56, 68, 80, 81, 24, 21)
# GM drum pitches of the kit's body: kicks, side stick, snares, claps, toms; the rest (hats,
# cymbals, cowbell, congas, shakers…) is the second drum instrument
DRUM_KIT_PITCHES = frozenset({35, 36, 37, 38, 39, 40, 41, 43, 45, 47, 48, 50})
HI_HAT_PITCHES = frozenset({42, 44, 46})
LEAD_INSTRUMENT = 0


def _drum_part(pitch: int) -> int:
    return 1 if pitch in DRUM_KIT_PITCHES else 2 if pitch in HI_HAT_PITCHES else 3


@dataclass(frozen=True)
class MultitrackBuildOptions:
    out_dir: Path
    melody_corpus: Path  # a folder from `latentjam corpus build melody`
    libraries: tuple[str, ...] = LIBRARIES
    grooves_per_tune: int = GROOVES_PER_TUNE
    limit: int | None = None  # tunes per split
    config: str = DEFAULT_CONFIG
    jobs: int = 1


def lead_program(tune_id: str) -> int:
    """The lead's General MIDI program for a tune, the same on every machine."""
    digest = hashlib.sha256(f"lead/{tune_id}".encode()).digest()
    return LEAD_PROGRAMS[int.from_bytes(digest[:4], "big") % len(LEAD_PROGRAMS)]


def band_instruments(band: NoteSequence, end: float) -> tuple[list[list[Note]], int]:
    """The render's tracks up to ``end`` as instruments (lists of notes), the drum track cut
    in two by ``DRUM_KIT_PITCHES``; at most ``MAX_INSTRUMENTS - 1`` (those with the most
    notes, in track order), and how many were dropped."""
    tracks: dict[tuple[int, int], list[Note]] = {}
    for note in band.notes:
        if note.start_time >= end:
            continue
        part = _drum_part(note.pitch) if note.is_drum else 0
        tracks.setdefault((note.instrument, part), []).append(note)
    keys = sorted(tracks)
    kept = sorted(sorted(keys, key=lambda k: -len(tracks[k]))[:MAX_INSTRUMENTS - 1])
    return [tracks[key] for key in kept], len(keys) - len(kept)


def multitrack_piece(tune: NoteSequence, groove: Groove, bars: int, render_dir: Path
                     ) -> tuple[NoteSequence, int]:
    """The tune's top voice as a lead over every track the groove plays under the tune's
    estimated chords; and how many tracks did not fit."""
    bar_seconds = 4 * 60.0 / tune.qpm
    chords = chords_per_bar(tune.notes, bar_seconds, bars)
    midi = render_dir / "band.mid"
    render(groove.name, chords, tune.qpm, midi)
    band = read_midi(midi)
    end = bars * bar_seconds
    top = min(n.instrument for n in tune.notes)  # a chorale's soprano, a tune's only voice
    program = lead_program(tune.id)
    notes = [dataclasses.replace(n, instrument=LEAD_INSTRUMENT, program=program, is_drum=False)
             for n in tune.notes if n.instrument == top and n.start_time < end]
    instruments, dropped = band_instruments(band, end)
    if len(instruments) < MIN_BAND_TRACKS:
        raise InputError(f"groove {groove.name} played {len(instruments)} track(s)")
    for number, track in enumerate(instruments, start=LEAD_INSTRUMENT + 1):
        notes += [dataclasses.replace(n, instrument=number, end_time=min(n.end_time, end))
                  for n in track]
    notes.sort(key=lambda n: (n.start_time, n.instrument, n.pitch))
    piece = dataclasses.replace(tune, notes=notes, total_time=end,
                                time_signatures=[TimeSignature(0.0, 4, 4)],
                                id=f"{tune.id}+{groove.name}",
                                collection_name=f"multitrack/{tune.collection_name}")
    return piece, dropped


def process_tune(data: bytes, split: str, grooves: list[Groove], wanted: int, config_name: str
                 ) -> list[tuple[PieceRecord, bytes | None]]:
    """Arrangements of one tune with the first ``wanted`` of ``grooves`` (in the tune's
    order) that MMA renders with at least ``MIN_BAND_TRACKS`` tracks."""
    tune = parse_note_sequence(data)
    converter = get_converter(load_config(config_name))
    results = []
    meters = {(ts.numerator, ts.denominator) for ts in tune.time_signatures}
    four_four = len(meters) <= 1 and meters <= ON_FOUR_FOUR_GRID
    bar_seconds = 4 * 60.0 / tune.qpm
    bars = int(tune.total_time // bar_seconds + 1e-9)
    made = 0
    for groove in grooves:
        if made == wanted:
            break
        record = PieceRecord(
            collection=f"multitrack:{tune.collection_name}",
            piece_id=f"{tune.id}+{groove.name}", title=tune.id,
            licence=f"melody: public domain; band: {MMA_LICENCE}",
            source_file=f"{tune.filename} + {groove.library}/{groove.path.name}", split=split)
        if not four_four or bars < MIN_BARS or len(tune.tempos) > 1:
            record.status = STATUS_SKIPPED.replace("trio", "multitrack")
            record.error = ("not in 4/4, 2/2 or 2/4" if not four_four else "tempo changes"
                            if len(tune.tempos) > 1 else f"{bars} bars, under {MIN_BARS}")
            results.append((record, None))
            break  # the same for every groove
        try:
            with tempfile.TemporaryDirectory(prefix="latentjam-multitrack-") as work:
                piece, dropped = multitrack_piece(tune, groove, min(bars, MAX_BARS), Path(work))
        except Exception as err:  # MMA's complaint, or a groove of one track
            record.status, record.error = STATUS_PARSE_FAILED, describe_error(err)
            results.append((record, None))
            continue
        extraction = converter.to_examples(piece)
        record.notes = len(piece.notes)
        record.windows_kept = len(extraction.examples)
        record.skipped = dict(extraction.skipped)
        if dropped:
            record.skipped["tracks over 8 instruments (dropped from the piece)"] = dropped
        results.append((record, serialize_note_sequence(piece)))
        made += 1
    return results


def _process_star(args: tuple) -> list[tuple[PieceRecord, bytes | None]]:
    return process_tune(*args)


def build_multitrack_corpus(options: MultitrackBuildOptions, command: str = "") -> dict:
    """Build the corpus ``options`` describe; returns the manifest written."""
    require_mma(list(options.libraries), "multitrack")
    config = load_config(options.config)
    if config.converter.kind != "multiperf":
        raise InputError(f"config {config.name!r} is not a multi-instrument config "
                         f"(its converter is {config.converter.kind!r})")
    sources = {split: options.melody_corpus / f"{split}.tfrecord" for split in ("train", "eval")}
    for path in sources.values():
        if not path.is_file():
            raise InputError(f"{path} is missing: build the melody corpus first "
                             f"(latentjam corpus build melody --out {options.melody_corpus})")
    grooves = four_four_grooves(options.libraries)
    jobs = []
    for split, path in sources.items():
        for index, data in enumerate(read_records(path)):
            if options.limit is not None and index >= options.limit:
                break
            tune_id = parse_note_sequence(data).id
            # twice as many candidates: stand-ins for grooves MMA cannot render
            candidates = grooves_for(tune_id, grooves, 2 * options.grooves_per_tune)
            jobs.append((data, split, candidates, options.grooves_per_tune, options.config))
    records, payloads = [], {"train": [], "eval": []}
    with tqdm(total=len(jobs), unit="tune", desc="multitrack", file=sys.stderr) as bar:
        pool = Pool(options.jobs) if options.jobs > 1 else None
        results = (pool.imap(_process_star, jobs, chunksize=2) if pool
                   else map(_process_star, jobs))
        try:
            for batch in results:
                for record, payload in batch:
                    records.append(record)
                    if payload is not None:
                        payloads[record.split].append(payload)
                    elif record.status == STATUS_PARSE_FAILED:
                        bar.write(f"skipped {record.piece_id}: {record.error}", file=sys.stderr)
                bar.update()
        finally:
            if pool:
                pool.close()
                pool.join()
    options.out_dir.mkdir(parents=True, exist_ok=True)
    for split, data in payloads.items():
        write_records(options.out_dir / f"{split}.tfrecord", data)
    leads = Counter(lead_program(parse_note_sequence(p).id.split("+")[0])
                    for split in payloads.values() for p in split)
    build = {
        "command": command,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "melody_corpus": str(options.melody_corpus),
        "grooves": f"{len(grooves)} 4/4 grooves of {', '.join(options.libraries)} (no intros "
                   f"or endings), {options.grooves_per_tune} per tune by a hash of the tune "
                   f"(the next in the tune's order stands in for one MMA cannot render)",
        "meters": "4/4, 2/2 and 2/4 tunes, all on a 4/4 bar grid",
        "chords": "a triad per bar, estimated from all the tune's notes (corpus/chords.py)",
        "rendering": "mma at the tune's tempo; every track of the groove kept as an instrument "
                     "with its program and velocities, the drums split in two (kicks, snares "
                     "and toms; hats, cymbals and percussion); at most 7 band instruments (the "
                     "fewest notes dropped); the tune's top voice is the lead",
        "lead_programs": {str(k): v for k, v in sorted(leads.items())},
        "split_rule": "the melody corpus's (by tune)",
        "converter_config": options.config,
        "min_bars": MIN_BARS, "max_bars": MAX_BARS,
        "files": {"train": "train.tfrecord", "eval": "eval.tfrecord"},
        "record_format": "note-seq NoteSequence protobuf per arrangement, TFRecord "
                         "(uncompressed)",
    }
    return write_manifest(options.out_dir / "manifest.json", records, build)


__all__ = ["DEFAULT_CONFIG", "LEAD_PROGRAMS", "MultitrackBuildOptions", "band_instruments",
           "build_multitrack_corpus", "lead_program", "multitrack_piece", "process_tune"]
