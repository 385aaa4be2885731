"""Build the trio corpus: melodies of the melody corpus with a bass line and drums that an MMA
groove plays under chords estimated from them, as melody + bass + drums pieces.

The melodies come from a melody corpus folder (``latentjam corpus build melody``), so the
split by tune is the same: a tune's trios go where the tune went. Each tune in 4/4, 2/2 or
2/4 (the last two put on a 4/4 bar grid: a reel in cut time has 4/4's bar, two bars of a
2/4 polka make one; the model sees only 16th-note steps) and at least ``MIN_BARS`` 4/4 bars
long gets ``GROOVES_PER_TUNE`` grooves, picked by a hash of the tune from
the allowed libraries' 4/4 grooves (rock and pop from ``stdlib``, dance and techno from
``zoom``…); a chord per bar is estimated from all the tune's notes (a chorale's four voices
give its harmony), MMA renders the groove over those chords at the tune's tempo, and the
render's bass (its Bass and Walk tracks, or General MIDI programs 32-39) and drums join the
tune's top voice. A groove that plays no bass or no drums is reported and the next one in
the tune's order stands in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
import tempfile
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
from latentjam.models.corpus.mma_grooves import (
    LICENCE as MMA_LICENCE,
)
from latentjam.models.corpus.mma_grooves import (
    Groove,
    list_grooves,
    render,
    require_mma,
)
from latentjam.models.encodings.converters import get_converter
from latentjam.models.encodings.trio import BASS_INSTRUMENT, BASS_PROGRAMS, ELECTRIC_BASS_PROGRAM
from latentjam.models.errors import InputError
from latentjam.models.midi_io import read_midi
from latentjam.models.notesequence import Note, NoteSequence, TimeSignature
from latentjam.models.notesequence_proto import parse_note_sequence, serialize_note_sequence
from latentjam.models.tfrecord import read_records, write_records
from tqdm import tqdm

DEFAULT_CONFIG = "hierdec-trio_16bar"
LIBRARIES = ("stdlib", "zoom")
GROOVES_PER_TUNE = 3
MIN_BARS = 16
MAX_BARS = 64  # longer tunes are cut: enough windows, and MMA renders fast
STATUS_SKIPPED = "not a trio source"
# bars of 4 or 2 quarter notes fit the 4/4 grid of 16 steps a bar
ON_FOUR_FOUR_GRID = {(4, 4), (2, 2), (2, 4)}
_FOUR_FOUR = re.compile(r"^\s*Time\s+4\b", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class TrioBuildOptions:
    out_dir: Path
    melody_corpus: Path  # a folder from `latentjam corpus build melody`
    libraries: tuple[str, ...] = LIBRARIES
    grooves_per_tune: int = GROOVES_PER_TUNE
    limit: int | None = None  # tunes per split
    config: str = DEFAULT_CONFIG
    jobs: int = 1


def four_four_grooves(libraries: tuple[str, ...]) -> list[Groove]:
    """The grooves of library files written in 4/4 (a 3/4 groove cannot sit under a 4/4
    tune), without intros and endings (they play once, not as a groove)."""
    grooves = []
    for library in libraries:
        for groove in list_grooves(library):
            text = groove.path.read_text(encoding="utf-8", errors="replace")
            name = groove.name.lower()
            if _FOUR_FOUR.search(text) and "intro" not in name and "end" not in name:
                grooves.append(groove)
    return grooves


def grooves_for(tune_id: str, grooves: list[Groove], count: int) -> list[Groove]:
    """``count`` different grooves for a tune, the same on every machine."""
    picked: list[Groove] = []
    salt = 0
    while len(picked) < min(count, len(grooves)):
        digest = hashlib.sha256(f"{tune_id}/{salt}".encode()).digest()
        groove = grooves[int.from_bytes(digest[:4], "big") % len(grooves)]
        if groove not in picked:
            picked.append(groove)
        salt += 1
    return picked


def _bars(tune: NoteSequence) -> tuple[float, int]:
    bar_seconds = 4 * 60.0 / tune.qpm
    return bar_seconds, int(tune.total_time // bar_seconds + 1e-9)


def _bass_tracks(midi: Path) -> set[int]:
    """Positions of the render's bass lines: MMA names a track after its kind, and a Dixie
    tuba or a lullaby's walking cello is as much the bass as an electric bass is."""
    import pretty_midi

    return {index for index, instrument in enumerate(pretty_midi.PrettyMIDI(str(midi)).instruments)
            if not instrument.is_drum and instrument.name.split("-")[0] in ("Bass", "Walk")}


def trio_piece(tune: NoteSequence, groove: Groove, bars: int, render_dir: Path
               ) -> NoteSequence:
    """The tune's top voice with the groove's bass and drums under its estimated chords."""
    bar_seconds = 4 * 60.0 / tune.qpm
    chords = chords_per_bar(tune.notes, bar_seconds, bars)
    midi = render_dir / "trio.mid"
    render(groove.name, chords, tune.qpm, midi)
    band = read_midi(midi)
    end = bars * bar_seconds
    top = min(n.instrument for n in tune.notes)  # a chorale's soprano, a tune's only voice
    melody = [dataclasses.replace(n, instrument=0, program=0) for n in tune.notes
              if n.instrument == top and n.start_time < end]
    bass_tracks = _bass_tracks(midi)
    bass = [dataclasses.replace(n, instrument=BASS_INSTRUMENT,
                                program=ELECTRIC_BASS_PROGRAM)
            for n in band.notes if not n.is_drum and n.start_time < end
            and (n.instrument in bass_tracks or n.program in BASS_PROGRAMS)]
    drums = [dataclasses.replace(n, instrument=9) for n in band.notes
             if n.is_drum and n.start_time < end]
    if not bass or not drums:
        raise InputError(f"groove {groove.name} played no {'bass' if not bass else 'drums'}")
    notes: list[Note] = sorted(melody + bass + drums, key=lambda n: (n.start_time, n.pitch))
    return dataclasses.replace(tune, notes=notes, total_time=end,
                               time_signatures=[TimeSignature(0.0, 4, 4)],
                               id=f"{tune.id}+{groove.name}",
                               collection_name=f"trio/{tune.collection_name}")


def process_tune(data: bytes, split: str, grooves: list[Groove], wanted: int, config_name: str
                 ) -> list[tuple[PieceRecord, bytes | None]]:
    """Trios of one tune with the first ``wanted`` of ``grooves`` (in the tune's order) that
    play both bass and drums."""
    tune = parse_note_sequence(data)
    converter = get_converter(load_config(config_name))
    results = []
    meters = {(ts.numerator, ts.denominator) for ts in tune.time_signatures}
    four_four = len(meters) <= 1 and meters <= ON_FOUR_FOUR_GRID
    bar_seconds, bars = _bars(tune)
    made = 0
    for groove in grooves:
        if made == wanted:
            break
        record = PieceRecord(
            collection=f"trio:{tune.collection_name}", piece_id=f"{tune.id}+{groove.name}",
            title=tune.id, licence=f"melody: public domain; bass and drums: {MMA_LICENCE}",
            source_file=f"{tune.filename} + {groove.library}/{groove.path.name}", split=split)
        if not four_four or bars < MIN_BARS or len(tune.tempos) > 1:
            record.status = STATUS_SKIPPED
            record.error = ("not in 4/4, 2/2 or 2/4" if not four_four else "tempo changes"
                            if len(tune.tempos) > 1 else f"{bars} bars, under {MIN_BARS}")
            results.append((record, None))
            break  # the same for every groove
        try:
            with tempfile.TemporaryDirectory(prefix="latentjam-trio-") as work:
                piece = trio_piece(tune, groove, min(bars, MAX_BARS), Path(work))
        except Exception as err:  # MMA's complaint, or a groove without bass or drums
            record.status, record.error = STATUS_PARSE_FAILED, describe_error(err)
            results.append((record, None))
            continue
        extraction = converter.to_examples(piece)
        record.notes = len(piece.notes)
        record.windows_kept = len(extraction.examples)
        record.skipped = dict(extraction.skipped)
        results.append((record, serialize_note_sequence(piece)))
        made += 1
    return results


def _process_star(args: tuple) -> list[tuple[PieceRecord, bytes | None]]:
    return process_tune(*args)


def build_trio_corpus(options: TrioBuildOptions, command: str = "") -> dict:
    require_mma(list(options.libraries), "trio")
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
            # twice as many candidates: stand-ins for grooves without bass or drums
            candidates = grooves_for(tune_id, grooves, 2 * options.grooves_per_tune)
            jobs.append((data, split, candidates, options.grooves_per_tune, options.config))
    records, payloads = [], {"train": [], "eval": []}
    with tqdm(total=len(jobs), unit="tune", desc="trio", file=sys.stderr) as bar:
        pool = Pool(options.jobs) if options.jobs > 1 else None
        results = pool.imap(_process_star, jobs, chunksize=2) if pool else map(_process_star,
                                                                                 jobs)
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
    build = {
        "command": command,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "melody_corpus": str(options.melody_corpus),
        "grooves": f"{len(grooves)} 4/4 grooves of {', '.join(options.libraries)} (no intros "
                   f"or endings), {options.grooves_per_tune} per tune by a hash of the tune "
                   f"(the next in the tune's order stands in for one without bass or drums)",
        "meters": "4/4, 2/2 and 2/4 tunes, all on a 4/4 bar grid",
        "chords": "a triad per bar, estimated from all the tune's notes (corpus/chords.py)",
        "rendering": "mma at the tune's tempo; its bass (Bass and Walk tracks, programs "
                     "32-39) and drums kept; the "
                     "tune's top voice is the melody",
        "split_rule": "the melody corpus's (by tune)",
        "converter_config": options.config,
        "min_bars": MIN_BARS, "max_bars": MAX_BARS,
        "files": {"train": "train.tfrecord", "eval": "eval.tfrecord"},
        "record_format": "note-seq NoteSequence protobuf per trio, TFRecord (uncompressed)",
    }
    return write_manifest(options.out_dir / "manifest.json", records, build)
