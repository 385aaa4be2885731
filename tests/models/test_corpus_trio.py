"""The trio corpus: chords estimated per bar (by hand), and whole trios built from a small
melody corpus with MMA (skipped, saying why, where `mma` is missing; CI installs it)."""

from collections import Counter

import numpy as np
import pytest
from latentjam.models.corpus.chords import best_triad, chords_per_bar
from latentjam.models.corpus.mma_grooves import mma_missing_reason
from latentjam.models.corpus.trio import (
    STATUS_SKIPPED,
    TrioBuildOptions,
    build_trio_corpus,
    four_four_grooves,
    grooves_for,
)
from latentjam.models.errors import InputError
from latentjam.models.notesequence import Note, NoteSequence, Tempo, TimeSignature
from latentjam.models.notesequence_proto import parse_note_sequence, serialize_note_sequence
from latentjam.models.tfrecord import read_records, write_records


def test_the_triad_that_covers_the_bar_wins_and_ties_keep_the_last():
    weights = np.zeros(12)
    weights[[9, 0, 4]] = 1.0  # A C E
    assert best_triad(weights) == (9, "m")
    lone_g = np.zeros(12)
    lone_g[7] = 1.0  # G alone fits G and Gm equally: the previous chord, if it is one
    assert best_triad(lone_g, previous=(7, "m")) == (7, "m")
    assert best_triad(np.zeros(12)) is None
    notes = [Note(60, 80, 0, 2), Note(64, 80, 0, 2), Note(67, 80, 0, 2),  # C major, bar 1
             Note(62, 80, 2, 4), Note(65, 80, 2, 4), Note(69, 80, 2, 4)]  # D minor, bar 2
    assert chords_per_bar(notes, 2.0, 3) == ["C", "Dm", "Dm"]  # a silent bar keeps the last


def tune(tune_id, bars, numerator=4, seed=0):
    rng = np.random.default_rng(seed)
    notes = [Note(int(rng.integers(60, 76)), 80, 0.5 * i, 0.5 * (i + 1)) for i in range(bars * 4)]
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)],
                        time_signatures=[TimeSignature(0.0, numerator, 4)],
                        total_time=2.0 * bars, id=tune_id, filename=f"{tune_id}.abc",
                        collection_name="test")


@pytest.fixture(scope="module")
def mma():
    reason = mma_missing_reason()
    if reason:
        pytest.skip(f"trio corpus tests need MMA: {reason}")


def test_trios_keep_the_split_and_hold_all_three_parts(mma, tmp_path):
    melodies = tmp_path / "mel"
    melodies.mkdir()
    write_records(melodies / "train.tfrecord", [serialize_note_sequence(t) for t in (
        tune("reel", 24, seed=1), tune("short", 8), tune("waltz", 24, numerator=3),
        tune("polka", 16, numerator=2, seed=3))])  # 32 bars of 2/4: 16 of 4/4
    write_records(melodies / "eval.tfrecord", [serialize_note_sequence(tune("jig", 16, seed=2))])
    manifest = build_trio_corpus(TrioBuildOptions(tmp_path / "trio", melodies, jobs=1))
    pieces = manifest["pieces"]
    reasons = {p["piece_id"].split("+")[0]: p["error"] for p in pieces
               if p["status"] == STATUS_SKIPPED}
    assert reasons == {"short": "8 bars, under 16", "waltz": "not in 4/4, 2/2 or 2/4"}
    written = Counter(p["piece_id"].split("+")[0] for p in pieces if p["status"] == "ok")
    assert written == {"reel": 3, "polka": 3, "jig": 3}  # stand-ins for grooves without bass
    assert all("played no" in p["error"] for p in pieces if p["status"] == "parse failed")
    for split, sources in (("train", ("reel", "polka")), ("eval", ("jig",))):
        for record in read_records(tmp_path / "trio" / f"{split}.tfrecord"):
            piece = parse_note_sequence(record)
            assert piece.id.split("+")[0] in sources
            assert [(t.numerator, t.denominator) for t in piece.time_signatures] == [(4, 4)]
            parts = {(n.is_drum, n.instrument) for n in piece.notes}
            assert {(False, 0), (False, 1), (True, 9)} <= parts


def test_grooves_are_4_4_and_picked_the_same_way_every_time(mma):
    grooves = four_four_grooves(("zoom",))
    assert grooves and not any("intro" in g.name.lower() for g in grooves)
    assert grooves_for("reel", grooves, 2) == grooves_for("reel", grooves, 2)
    assert len(set(grooves_for("reel", grooves, 3))) == 3


def test_a_missing_melody_corpus_says_how_to_make_it(mma, tmp_path):
    with pytest.raises(InputError, match="build the melody corpus first"):
        build_trio_corpus(TrioBuildOptions(tmp_path / "trio", tmp_path / "nothing"))
