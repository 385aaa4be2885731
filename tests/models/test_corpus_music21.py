"""music21 score -> NoteSequence: pitches, seconds, ties, rests, grace notes, pickups, repeats."""

from __future__ import annotations

import pytest

pytest.importorskip("music21")

from latentjam.models.corpus.music21_melodies import (  # noqa: E402
    REPEATS_EXPANDED,
    REPEATS_NONE,
    TempoMap,
    expand_repeats,
    score_to_notesequence,
)
from music21 import bar, chord, harmony, meter, note, stream, tempo, tie  # noqa: E402


def _measure(number: int, *elements, pickup: bool = False) -> stream.Measure:
    m = stream.Measure(number=number)
    for element in elements:
        m.append(element)
    if pickup:
        m.padAsAnacrusis()
    return m


def _tied(pitch: str, quarters: float, kind: str) -> note.Note:
    n = note.Note(pitch, quarterLength=quarters)
    n.tie = tie.Tie(kind)
    return n


def _melody_score(qpm: float | None) -> stream.Score:
    """4/4 with a one-beat pickup; a rest, a note tied over the bar line, a grace note."""
    head = [meter.TimeSignature("4/4")]
    if qpm is not None:
        head.append(tempo.MetronomeMark(number=qpm))
    part = stream.Part([
        _measure(0, *head, note.Note("G4", quarterLength=1), pickup=True),
        _measure(1, note.Rest(quarterLength=1), note.Note("C5", quarterLength=1),
                 _tied("D5", 2, "start")),
        _measure(2, _tied("D5", 1, "stop"), note.Note("F5").getGrace(),
                 note.Note("E5", quarterLength=3)),
    ])
    return stream.Score([part])


def _triples(ns) -> list[tuple[int, float, float]]:
    return [(n.pitch, round(n.start_time, 6), round(n.end_time, 6)) for n in ns.notes]


@pytest.mark.parametrize("qpm", [None, 60.0, 90.0])
def test_melody_times_follow_the_bar_grid_and_tempo(qpm):
    ns = score_to_notesequence(_melody_score(qpm), piece_id="t", collection="c")
    q = 60.0 / (qpm or 120.0)  # seconds per quarter
    # The pickup is the last beat of bar 0, so bar 1 starts at 4 quarters.
    assert _triples(ns) == [
        (67, round(3 * q, 6), round(4 * q, 6)),  # G4 pickup
        (72, round(5 * q, 6), round(6 * q, 6)),  # C5 after a one-beat rest
        (74, round(6 * q, 6), round(9 * q, 6)),  # D5 tied across the bar line: one note
        (76, round(9 * q, 6), round(12 * q, 6)),  # E5; the grace note F5 is gone
    ]
    assert [(t.time, t.qpm) for t in ns.tempos] == [(0.0, qpm or 120.0)]
    assert [(ts.time, ts.numerator, ts.denominator) for ts in ns.time_signatures] == [(0.0, 4, 4)]
    assert ns.total_time == pytest.approx(12 * q)
    assert (ns.id, ns.collection_name) == ("t", "c")


def test_parts_become_instruments_and_chords_give_every_pitch():
    upper = stream.Part([_measure(1, meter.TimeSignature("3/4"),
                                  chord.Chord(["E4", "G4"], quarterLength=3))])
    lower = stream.Part([_measure(1, meter.TimeSignature("3/4"),
                                  note.Note("C3", quarterLength=2), note.Rest(quarterLength=1))])
    ns = score_to_notesequence(stream.Score([upper, lower]))
    by_instrument = sorted((n.instrument, n.pitch, n.end_time) for n in ns.notes)
    assert by_instrument == [(0, 64, 1.5), (0, 67, 1.5), (1, 48, 1.0)]
    assert [(ts.numerator, ts.denominator) for ts in ns.time_signatures] == [(3, 4)]


def test_chord_symbols_are_not_notes():
    m = _measure(1, meter.TimeSignature("4/4"), note.Note("A4", quarterLength=4))
    m.insert(0, harmony.ChordSymbol("C"))
    ns = score_to_notesequence(stream.Score([stream.Part([m])]))
    assert [n.pitch for n in ns.notes] == [69]


def test_metre_change_is_recorded_where_it_stands():
    part = stream.Part([
        _measure(1, meter.TimeSignature("4/4"), note.Note("C4", quarterLength=4)),
        _measure(2, meter.TimeSignature("3/4"), note.Note("D4", quarterLength=3)),
        _measure(3, meter.TimeSignature("3/4"), note.Note("E4", quarterLength=3)),
    ])
    ns = score_to_notesequence(stream.Score([part]))
    assert [(ts.time, ts.numerator) for ts in ns.time_signatures] == [(0.0, 4), (2.0, 3)]


def test_tempo_change_maps_later_notes_at_the_new_rate():
    tempo_map = TempoMap.from_marks([(0.0, 60.0), (4.0, 120.0)])
    assert tempo_map.to_seconds(4.0) == pytest.approx(4.0)
    assert tempo_map.to_seconds(6.0) == pytest.approx(5.0)
    assert [(t.time, t.qpm) for t in tempo_map.tempos()] == [(0.0, 60.0), (4.0, 120.0)]


def test_repeats_are_written_out():
    first = _measure(1, meter.TimeSignature("4/4"), note.Note("C4", quarterLength=4))
    first.leftBarline = bar.Repeat(direction="start")
    second = _measure(2, note.Note("D4", quarterLength=4))
    second.rightBarline = bar.Repeat(direction="end")
    third = _measure(3, note.Note("E4", quarterLength=4))
    score, status = expand_repeats(stream.Score([stream.Part([first, second, third])]))
    assert status == REPEATS_EXPANDED
    ns = score_to_notesequence(score)
    assert [(n.pitch, n.start_time) for n in ns.notes] == [
        (60, 0.0), (62, 2.0), (60, 4.0), (62, 6.0), (64, 8.0)]


def test_score_without_repeats_is_left_alone():
    score = _melody_score(None)
    same, status = expand_repeats(score)
    assert status == REPEATS_NONE and same is score
