"""Quantizing and splitting pieces with note-seq's rules."""

from __future__ import annotations

import pytest
from latentjam.models.configs import get_config
from latentjam.models.encodings.converters import get_converter
from latentjam.models.encodings.quantize import (
    BadTimeSignatureError,
    MultipleTempoError,
    MultipleTimeSignatureError,
    NegativeTimeError,
    quantize,
    split_on_time_changes,
)
from latentjam.models.notesequence import Note, NoteSequence, Tempo, TimeSignature


def seq(*notes: tuple[float, float], tempos=(), time_signatures=()) -> NoteSequence:
    ns = NoteSequence(notes=[Note(60, 90, s, e) for s, e in notes], tempos=list(tempos),
                      time_signatures=list(time_signatures))
    ns.total_time = max((n.end_time for n in ns.notes), default=0.0)
    return ns


def test_times_round_to_the_nearest_step_and_no_note_is_empty():
    # 120 qpm, 4 steps per quarter: 8 steps per second.
    qs = quantize(seq((0.06, 0.07), (0.0626, 0.5), (1.0, 1.0)), 4)
    assert [(n.start_step, n.end_step) for n in qs.notes] == [(0, 1), (1, 4), (8, 9)]
    assert qs.total_steps == 9 and qs.qpm == 120.0 and qs.steps_per_bar == 16


def test_the_tempo_sets_the_grid():
    qs = quantize(seq((1.0, 2.0), tempos=[Tempo(0.0, 60.0)]), 4)
    assert (qs.notes[0].start_step, qs.notes[0].end_step) == (4, 8)


def test_changes_and_bad_signatures_are_refused():
    with pytest.raises(MultipleTempoError):
        quantize(seq((0, 1), tempos=[Tempo(0.0, 120.0), Tempo(1.0, 90.0)]), 4)
    with pytest.raises(MultipleTempoError):  # an implicit 120 qpm before the first tempo
        quantize(seq((0, 1), tempos=[Tempo(1.0, 90.0)]), 4)
    quantize(seq((0, 1), tempos=[Tempo(1.0, 120.0)]), 4)  # same as the implicit one: fine
    with pytest.raises(MultipleTimeSignatureError):
        quantize(seq((0, 1), time_signatures=[TimeSignature(0.5, 3, 4)]), 4)
    with pytest.raises(BadTimeSignatureError):
        quantize(seq((0, 1), time_signatures=[TimeSignature(0.0, 4, 3)]), 4)
    with pytest.raises(NegativeTimeError):
        quantize(seq((-1.0, 1.0)), 4)


def test_split_starts_each_part_at_zero_with_the_tempo_in_force():
    ns = seq((0.0, 1.0), (1.5, 2.5), (3.0, 4.0),
             tempos=[Tempo(0.0, 120.0), Tempo(1.0, 120.0), Tempo(2.0, 90.0)],
             time_signatures=[TimeSignature(0.0, 4, 4)])
    first, second = split_on_time_changes(ns)
    assert [(n.start_time, n.end_time) for n in first.notes] == [(0.0, 1.0), (1.5, 2.0)]
    assert first.total_time == 2.0 and [t.qpm for t in first.tempos] == [120.0, 120.0]
    assert [(n.start_time, n.end_time) for n in second.notes] == [(1.0, 2.0)]
    assert second.total_time == 2.0
    assert [(t.time, t.qpm) for t in second.tempos] == [(0.0, 90.0)]
    assert [(t.time, t.numerator) for t in second.time_signatures] == [(0.0, 4)]


def test_a_piece_with_no_notes_has_no_parts():
    assert split_on_time_changes(NoteSequence()) == []


def test_only_four_four_pieces_give_examples():
    notes = [(i * 0.5, i * 0.5 + 0.25) for i in range(16)]
    waltz = seq(*notes, time_signatures=[TimeSignature(0.0, 3, 4)])
    result = get_converter(get_config("cat-mel_2bar_small")).to_examples(waltz)
    assert result.examples == [] and result.skipped == {"not 4/4": 1}
    common = seq(*notes, time_signatures=[TimeSignature(0.0, 4, 4)])
    result = get_converter(get_config("cat-drums_2bar_small")).to_examples(common)
    assert result.skipped == {"no drums": 1}
