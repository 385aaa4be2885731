"""Training data: reading TFRecords, the split by piece, transposition, batches that resume."""

from __future__ import annotations

import numpy as np
import pytest
from latentjam.models.configs import get_config
from latentjam.models.errors import NoExamplesError
from latentjam.models.notesequence import Note, NoteSequence, Tempo
from latentjam.models.notesequence_proto import serialize_note_sequence
from latentjam.models.tfrecord import write_records
from latentjam.models.training.dataset import (
    Batches,
    ExampleSet,
    Piece,
    eval_batches,
    make_batch,
    read_pieces,
    split_pieces,
    transpose,
)

MEL = get_config("cat-mel_2bar_small")


def melody(seed: int, bars: int = 4, low: int = 60) -> NoteSequence:
    """A monophonic tune on the 16th grid at 120 qpm (a bar is 2 s)."""
    rng = np.random.default_rng(seed)
    notes, t = [], 0.0
    while t < bars * 2.0 - 1e-9:
        length = 0.125 * int(rng.choice([1, 2, 4]))
        notes.append(Note(int(rng.integers(low, low + 12)), 90, t, t + length))
        t += length
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=t,
                        id=f"/id/midi/test/{seed}", filename=f"tune_{seed}.mid")


def pieces(count: int, **kwargs) -> list[Piece]:
    return [Piece(f"/id/midi/test/{i}", f"tune_{i}.mid", melody(i, **kwargs))
            for i in range(count)]


def test_read_pieces_keys_on_id_then_filename(tmp_path):
    path = tmp_path / "x.tfrecord"
    unnamed = melody(1)
    unnamed.id = unnamed.filename = ""
    write_records(path, [serialize_note_sequence(melody(0)), serialize_note_sequence(unnamed)])
    read = read_pieces([path])
    assert [p.key for p in read] == ["/id/midi/test/0", "x.tfrecord#1"]
    assert read[0].label == "tune_0.mid"
    assert len(read[0].sequence.notes) == len(melody(0).notes)


def test_split_is_by_piece_and_stable():
    many = pieces(40)
    train, held = split_pieces(many, 0.25)
    assert len(train) + len(held) == 40 and 3 <= len(held) <= 20
    assert not {p.key for p in train} & {p.key for p in held}
    # a piece keeps its side when the corpus grows, and copies of a piece stay together
    train2, held2 = split_pieces(many + pieces(60)[40:] + many[:5], 0.25)
    assert {p.key for p in held} <= {p.key for p in held2}
    assert not {p.key for p in train2} & {p.key for p in held2}
    # tiny corpora still get one held-out piece, and keep one for training
    train3, held3 = split_pieces(pieces(2), 0.01)
    assert len(train3) == len(held3) == 1
    assert split_pieces(many, 0.0) == (many, [])


def test_transpose_as_note_seq_does():
    ns = NoteSequence(notes=[Note(60, 90, 0.0, 1.0), Note(125, 90, 0.0, 3.0),
                             Note(36, 90, 0.0, 4.0, is_drum=True)], total_time=4.0)
    up = transpose(ns, 4)
    assert [(n.pitch, n.is_drum) for n in up.notes] == [(64, False), (36, True)]
    assert up.total_time == 4.0
    down = transpose(NoteSequence(notes=[Note(2, 90, 0.0, 1.0), Note(40, 90, 0.0, 2.0)],
                                  total_time=2.0), -3)
    assert [n.pitch for n in down.notes] == [37] and down.total_time == 2.0


def test_augmented_epochs_transpose_whole_pieces():
    examples = ExampleSet(pieces(4), MEL, augment=True, seed=3)
    plain = ExampleSet(pieces(4), MEL)
    a, _ = examples.epoch(1)
    b, _ = examples.epoch(1)
    np.testing.assert_array_equal(a, b)  # an epoch is a function of (seed, epoch)
    base, lengths = plain.epoch(7)
    assert examples.report.examples == len(base) == plain.epoch(0)[0].shape[0]
    assert np.all(lengths == 32) and base.shape[1:] == (32, 1)
    shifts = set()
    for epoch in range(4):
        moved, _ = examples.epoch(epoch)
        pitched = (moved > 1) & (base > 1)  # note-on classes move with the piece
        shifts |= set(np.unique(moved[pitched].astype(int) - base[pitched]).tolist())
    assert shifts - {0} and all(-5 <= s <= 5 for s in shifts)


def test_pieces_without_examples_are_reported():
    too_short = Piece("short", "short.mid", NoteSequence(
        notes=[Note(60, 90, 0.0, 0.25)], tempos=[Tempo(0.0, 120.0)], total_time=0.25))
    empty = Piece("empty", "empty.mid", NoteSequence(total_time=4.0))
    examples = ExampleSet([too_short, empty] + pieces(1), MEL)
    lines = "\n".join(examples.report.lines())
    assert "no examples extracted from short.mid: shorter than a window 1" in lines
    assert "no examples extracted from empty.mid" in lines
    with pytest.raises(NoExamplesError, match="short.mid"):
        ExampleSet([too_short], MEL).check_not_empty("training")


def test_batches_resume_from_their_position():
    examples = ExampleSet(pieces(3), MEL, augment=True, seed=1)
    stream = Batches(examples, batch_size=5, seed=2)
    first = [next(stream) for _ in range(4)]
    position = stream.position
    rest = [next(stream) for _ in range(5)]
    resumed = Batches(examples, batch_size=5, seed=2, position=position)
    for want in rest:
        got = next(resumed)
        np.testing.assert_array_equal(got.targets, want.targets)
    batch = first[0]
    assert batch.inputs is None and batch.targets.dtype == np.int32  # the model looks rows up
    full = make_batch(examples, batch.targets, batch.lengths, with_inputs=True)
    assert full.inputs.shape == (5, 32, 90)
    np.testing.assert_array_equal(full.inputs.argmax(-1), batch.targets[..., 0])
    assert position[0] >= 1  # 20 examples from 9 windows crossed an epoch boundary


def test_eval_batches_cover_every_example_once():
    examples = ExampleSet(pieces(3), MEL)
    sizes = [len(b.lengths) for b in eval_batches(examples, 4)]
    assert sum(sizes) == examples.report.examples and max(sizes) <= 4


def test_eval_batches_limit_spreads_over_the_whole_split():
    examples = ExampleSet(pieces(6), MEL)
    every = np.concatenate([b.targets for b in eval_batches(examples, 64)])
    picked = np.concatenate([b.targets for b in eval_batches(examples, 4, limit=5)])
    assert len(picked) == 5 < len(every)
    assert (picked[0] == every[0]).all() and (picked[-1] == every[-1]).all()  # not the first 5


def test_many_pieces_without_examples_are_counted_not_listed():
    silent = [Piece(f"p{i}", f"p{i}.mid", NoteSequence(total_time=4.0)) for i in range(12)]
    lines = ExampleSet(silent + pieces(1), MEL).report.lines()
    assert sum(line.startswith("no examples extracted from") for line in lines) == 5
    assert lines[-1] == "... and 7 more pieces without examples (the reasons are summed above)"
