"""The multitrack corpus: a tune's melody as a lead over every track of MMA's arrangement,
built from a small melody corpus (skipped, saying why, where `mma` is missing; CI installs
it), and the drum split and instrument cap on a hand-made render."""

from collections import Counter

import numpy as np
import pytest
from latentjam.models.configs import load_config
from latentjam.models.corpus.mma_grooves import mma_missing_reason
from latentjam.models.corpus.multitrack import (
    LEAD_PROGRAMS,
    MultitrackBuildOptions,
    band_instruments,
    build_multitrack_corpus,
    lead_program,
)
from latentjam.models.encodings.converters import get_converter
from latentjam.models.errors import InputError
from latentjam.models.notesequence import Note, NoteSequence, Tempo, TimeSignature
from latentjam.models.notesequence_proto import parse_note_sequence, serialize_note_sequence
from latentjam.models.tfrecord import read_records, write_records


def tune(tune_id, bars, numerator=4, seed=0):
    rng = np.random.default_rng(seed)
    notes = [Note(int(rng.integers(60, 76)), 90, 0.5 * i, 0.5 * (i + 1))
             for i in range(bars * numerator)]
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)],
                        time_signatures=[TimeSignature(0.0, numerator, 4)],
                        total_time=0.5 * bars * numerator, id=tune_id,
                        filename=f"{tune_id}.abc", collection_name="test")


def test_drums_split_in_two_kinds_and_the_smallest_tracks_go_past_eight():
    kick_and_hats = [Note(36, 100, 0.0, 0.1, instrument=0, is_drum=True),
                     Note(38, 90, 0.5, 0.6, instrument=0, is_drum=True),
                     *(Note(42, 60, t, t + 0.1, instrument=0, is_drum=True)
                       for t in (0.0, 0.25, 0.5)),
                     Note(49, 70, 0.0, 0.1, instrument=0, is_drum=True)]
    pitched = [Note(50 + track, 80, 0.0, 1.0 + 0.1 * n, instrument=track, program=track)
               for track in range(1, 8) for n in range(track)]  # track k plays k notes
    late = [Note(50, 80, 9.0, 9.5, instrument=1, program=1)]  # past the end: left out
    band = NoteSequence(notes=kick_and_hats + pitched + late)
    instruments, dropped = band_instruments(band, end=8.0)
    assert len(instruments) == 7 and dropped == 3  # 3 drum kinds + 7 tracks, 7 fit
    pitches = [sorted(n.pitch for n in notes) for notes in instruments]
    assert [36, 38] in pitches and [42, 42, 42] in pitches  # the kit's body, the hats apart
    assert [49] not in pitches and [51] not in pitches and [52, 52] not in pitches  # fewest
    assert all(n.start_time < 8.0 for notes in instruments for n in notes)


def test_a_tune_keeps_its_lead_program_everywhere():
    assert lead_program("reel") == lead_program("reel") in LEAD_PROGRAMS
    assert len({lead_program(f"tune {i}") for i in range(50)}) > 3


@pytest.fixture(scope="module")
def mma():
    reason = mma_missing_reason()
    if reason:
        pytest.skip(f"multitrack corpus tests need MMA: {reason}")


def test_arrangements_keep_the_split_a_lead_and_a_program_per_instrument(mma, tmp_path):
    melodies = tmp_path / "mel"
    melodies.mkdir()
    write_records(melodies / "train.tfrecord", [serialize_note_sequence(t) for t in (
        tune("reel", 8, seed=1), tune("short", 2), tune("waltz", 8, numerator=3))])
    write_records(melodies / "eval.tfrecord", [serialize_note_sequence(tune("jig", 6, seed=2))])
    manifest = build_multitrack_corpus(MultitrackBuildOptions(
        tmp_path / "mt", melodies, libraries=("stdlib",), grooves_per_tune=2, jobs=1))
    pieces = manifest["pieces"]
    reasons = {p["piece_id"].split("+")[0]: p["error"] for p in pieces
               if p["status"] != "ok" and p["status"] != "parse failed"}
    assert reasons == {"short": "2 bars, under 4", "waltz": "not in 4/4, 2/2 or 2/4"}
    written = Counter(p["piece_id"].split("+")[0] for p in pieces if p["status"] == "ok")
    assert written == {"reel": 2, "jig": 2}
    assert all(p["licence"].startswith("melody: public domain; band: GPL-2+")
               for p in pieces)
    converter = get_converter(load_config("hier-multiperf_vel_1bar_med"))
    windows = 0
    for split, sources in (("train", ("reel",)), ("eval", ("jig",))):
        for record in read_records(tmp_path / "mt" / f"{split}.tfrecord"):
            piece = parse_note_sequence(record)
            source = piece.id.split("+")[0]
            assert source in sources
            lead = [n for n in piece.notes if n.instrument == 0]
            assert {n.program for n in lead} == {lead_program(source)}
            assert [n.pitch for n in lead] == [n.pitch for n in tune(
                source, 8 if source == "reel" else 6, seed=1 if source == "reel" else 2).notes]
            band = {n.instrument for n in piece.notes} - {0}
            assert 2 <= len(band) <= 7  # a band, within the converter's 8 with the lead
            for number in band:  # one program, or drums, per instrument
                notes = [n for n in piece.notes if n.instrument == number]
                assert len({(n.program, n.is_drum) for n in notes}) == 1 or all(
                    n.is_drum for n in notes)
            assert len({n.velocity for n in piece.notes if n.instrument != 0}) > 1
            windows += len(converter.to_examples(piece).examples)
    assert windows > 0  # some bars fit Magenta's 8 instruments of 64 events
    assert manifest["build"]["converter_config"] == "hier-multiperf_vel_1bar_med"


def test_a_missing_melody_corpus_says_how_to_make_it(mma, tmp_path):
    with pytest.raises(InputError, match="build the melody corpus first"):
        build_multitrack_corpus(MultitrackBuildOptions(tmp_path / "mt", tmp_path / "nothing"))
