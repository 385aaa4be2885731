"""Training examples: TFRecords of NoteSequences through a config's converter, in batches.

The files are Magenta's format (``convert_dir_to_note_sequences``, our ``latentjam
convert``, our corpus builder). Pieces, not windows, are split between training and
evaluation: a piece's side is a stable hash of its NoteSequence id (else its filename), so
near-copies of a training window never score the model.

Transposition (training windows only, never held-out ones): each epoch every window moves
by its own random number of semitones in the range asked for (by default the config's
``transpose_range``), its pitched parts only (melody; a trio's melody and bass; a multiperf
bar's pitched instruments; drums never).
It works on the class indices of the windows, not on the notes before extraction as
Magenta's ``NoteSequenceAugmenter`` does, so a window is never re-extracted and a window
that would leave the model's pitch range is skipped (and counted) instead of losing notes.

An epoch's examples are a pure function of (seed, epoch), so the stream of batches resumes
exactly from its position, two integers kept with each checkpoint. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from latentjam.models.configs import ModelConfig
from latentjam.models.encodings.converters import get_converter
from latentjam.models.errors import InputError, NoExamplesError
from latentjam.models.notesequence import NoteSequence
from latentjam.models.notesequence_proto import parse_note_sequence
from latentjam.models.tfrecord import read_records
from latentjam.models.training.data_report import why_nothing

MIN_PITCH, MAX_PITCH = 0, 127  # note-seq's bounds for transposed notes


@dataclass(frozen=True)
class Piece:
    key: str  # what the split hashes: the NoteSequence id, else its filename
    label: str  # how messages name the piece
    sequence: NoteSequence


def read_pieces(paths: Sequence[str | Path]) -> list[Piece]:
    """Every NoteSequence in the TFRecord files ``paths``, in file order."""
    pieces = []
    for path in map(Path, paths):
        if not path.is_file():
            raise InputError(f"{path}: no such examples file")
        for index, record in enumerate(read_records(path)):
            ns = parse_note_sequence(record, source=f"{path}: record {index}")
            fallback = f"{path.name}#{index}"
            pieces.append(Piece(ns.id or ns.filename or fallback,
                                ns.filename or ns.id or fallback, ns))
    return pieces


def eval_share(key: str) -> float:
    """A stable number in [0, 1) for a piece; the evaluation split takes the lowest."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") / 2.0**64


def split_pieces(pieces: Sequence[Piece],
                 eval_fraction: float) -> tuple[list[Piece], list[Piece]]:
    """(training, evaluation) pieces: those whose ``eval_share`` is below the fraction are
    held out, so a piece keeps its side as the corpus grows. With a fraction above 0 and
    at least two pieces, each side gets at least one piece."""
    if not 0.0 <= eval_fraction < 1.0:
        raise InputError(f"eval fraction must be in [0, 1), got {eval_fraction}")
    if eval_fraction == 0.0:
        return list(pieces), []
    held = {p.key for p in pieces if eval_share(p.key) < eval_fraction}
    keys = sorted({p.key for p in pieces}, key=eval_share)
    if len(keys) >= 2:
        if not held:
            held = {keys[0]}
        if len(held) == len(keys):
            held.discard(keys[-1])
    return ([p for p in pieces if p.key not in held], [p for p in pieces if p.key in held])


def transpose(ns: NoteSequence, amount: int) -> NoteSequence:
    """note-seq's ``transpose_note_sequence``: pitched notes move by ``amount`` semitones,
    notes pushed out of 0..127 are deleted, drums stay; total_time ends with the last note.
    Training no longer uses it (it moves windows' classes, ``transpose_windows``); it stays
    for preparing NoteSequences as Magenta's augmenter would."""
    if amount == 0:
        return ns
    notes = []
    for note in ns.notes:
        if note.is_drum:
            notes.append(note)
        elif MIN_PITCH <= note.pitch + amount <= MAX_PITCH:
            notes.append(dataclasses.replace(note, pitch=note.pitch + amount))
    total = max((n.end_time for n in notes), default=0.0)
    return dataclasses.replace(ns, notes=notes, total_time=total)


SHOWN_EMPTY_PIECES = 5  # pieces without examples named one by one; the rest are counted
FIRST_PITCH_CLASS = 2  # melody and bass classes: 0 hold, 1 note off, 2.. pitches
PERFORMANCE_PITCHES = 128  # multiperf tokens: 0..127 note-on, 128..255 note-off of a pitch


@dataclass(frozen=True)
class PieceReport:
    """What one piece gave: its windows, what was dropped and why, and a hint when it gave
    nothing."""

    label: str
    examples: int
    skipped: dict[str, int]
    hint: str = ""

    def line(self) -> str:
        dropped = ", ".join(f"{r} {c}" for r, c in sorted(self.skipped.items()))
        text = f"{self.label}: {self.examples} windows"
        if dropped:
            text += f" (dropped: {dropped})"
        return text + (f" -- {self.hint}" if self.hint else "")


@dataclass
class ExtractionReport:
    """What the converter made of the pieces (untransposed)."""

    pieces: int = 0
    examples: int = 0
    skipped: Counter = field(default_factory=Counter)
    empty: list[tuple[str, dict[str, int]]] = field(default_factory=list)  # (label, reasons)
    per_piece: list[PieceReport] = field(default_factory=list)

    def file_lines(self) -> list[str]:
        """The totals, then one line per piece: windows, drops with reasons, and for a piece
        that gave nothing a hint at why (for small corpora, where every file counts)."""
        out = [f"{self.examples} examples from {self.pieces} pieces"]
        out += [f"  {piece.line()}" for piece in self.per_piece]
        return out

    def lines(self) -> list[str]:
        out = [f"{self.examples} examples from {self.pieces} pieces"]
        if self.skipped:
            out.append("skipped: " + ", ".join(f"{reason} {count}"
                                               for reason, count in sorted(self.skipped.items())))
        for label, reasons in self.empty[:SHOWN_EMPTY_PIECES]:
            why = ", ".join(f"{r} {c}" for r, c in sorted(reasons.items())) or "nothing found"
            out.append(f"no examples extracted from {label}: {why}")
        if len(self.empty) > SHOWN_EMPTY_PIECES:
            out.append(f"... and {len(self.empty) - SHOWN_EMPTY_PIECES} more pieces without "
                       f"examples (the reasons are summed above)")
        return out


def pitched_parts(config: ModelConfig) -> tuple[int, ...]:
    """The parts of a config's windows that transposition moves: melody, a trio's melody and
    bass; never drums."""
    kind = config.converter.kind
    if kind in ("melody", "multiperf"):  # multiperf: its pitched instruments
        return (0,)
    if kind == "trio":
        return (0, 1)
    return ()


def transpose_windows(classes: np.ndarray, amounts: np.ndarray, parts: Sequence[int],
                      pitch_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``[n, T, P]`` with the pitch classes of ``parts`` moved by ``amounts`` ``[n]``
    semitones; holds, note-offs and every other part stay. Returns (the windows that stay
    within the ``pitch_classes`` pitches, the mask of those kept)."""
    moved = classes.astype(np.int32)
    keep = np.ones(len(classes), bool)
    for part in parts:
        column = moved[:, :, part]
        pitched = column >= FIRST_PITCH_CLASS
        shifted = np.where(pitched, column + amounts[:, None], column)
        inside = (shifted >= FIRST_PITCH_CLASS) & (shifted < FIRST_PITCH_CLASS + pitch_classes)
        keep &= np.all(inside | ~pitched, axis=1)
        moved[:, :, part] = shifted
    return moved[keep].astype(classes.dtype), keep


def transpose_performance(classes: np.ndarray, amounts: np.ndarray, instruments: int,
                          drum_token: int) -> tuple[np.ndarray, np.ndarray]:
    """Multiperf windows ``[n, instruments * events, 1]`` with the note-on and note-off
    tokens of every pitched instrument (its first token is not ``drum_token``) moved by
    ``amounts [n]`` semitones; time shifts, velocities, programs, drums and ``PAD`` stay.
    As Magenta's transposition of the notes before extraction would give (the events of a
    bar keep their order when every pitch moves alike). Returns (the windows whose notes
    stay within MIDI 0..127, the mask of those kept)."""
    n, steps, _ = classes.shape
    rows = classes.astype(np.int32).reshape(n, instruments, steps // instruments)
    pitched = rows[:, :, :1] != drum_token  # [n, instruments, 1]
    note = pitched & (rows >= 0) & (rows < 2 * PERFORMANCE_PITCHES)
    pitch = rows % PERFORMANCE_PITCHES + amounts[:, None, None]
    inside = (pitch >= MIN_PITCH) & (pitch <= MAX_PITCH)
    keep = np.all(inside | ~note, axis=(1, 2))
    moved = np.where(note, rows + amounts[:, None, None], rows).reshape(n, steps, 1)
    return moved[keep].astype(classes.dtype), keep


class ExampleSet:
    """The examples of some pieces under one config, as class indices ``[n, T, parts]``
    padded to ``max_seq_len`` with their lengths: ``[n]``, or ``[n, segments]`` for a
    hierarchical encoder (multiperf: each instrument's tokens up to its end token; its
    classes keep ``PAD`` (-1) after the end token, which the model reads as a zero row and
    never scores).

    With ``augment`` each epoch moves every window by its own random amount in
    ``transpose`` (semitones, both ends included; default: the config's
    ``transpose_range``, None or (0, 0): no transposition), its pitched parts only; windows
    that would leave the pitch range are skipped that epoch and counted in
    ``out_of_range``. ``max_windows`` keeps at most that many windows of a piece per epoch,
    drawn at random (Magenta keeps 5; by default every window counts).
    """

    def __init__(self, pieces: Sequence[Piece], config: ModelConfig, *, augment: bool = False,
                 max_windows: int | None = None, seed: int = 0,
                 transpose: tuple[int, int] | None | str = "config"):
        self.pieces = list(pieces)
        self.config = config
        self.converter = get_converter(config)
        self.steps = config.hparams.max_seq_len
        self.parts = len(config.output_depths) if config.is_hierarchical else 1
        # a GrooVAE's examples are rows of floats (hits, velocities, offsets), 27 wide
        self.dtype = np.float32 if config.is_groove else np.int16
        if config.is_groove:
            self.parts = config.output_depth
        wanted = config.transpose_range if isinstance(transpose, str) else transpose
        self.pitched = pitched_parts(config)
        self.transpose_range = wanted if augment and self.pitched and wanted != (0, 0) \
            else None
        if self.transpose_range is not None and self.transpose_range[0] > \
                self.transpose_range[1]:
            raise InputError(f"transposition range {self.transpose_range}: the lowest shift "
                             f"comes first")
        self.pitch_classes = config.converter.max_pitch - config.converter.min_pitch + 1
        # multiperf: lengths per lowest-level segment of the hierarchical encoder
        self.segments = config.hparams.max_seq_len // config.encoder_level_lengths[0] \
            if config.encoder_level_lengths else None
        self.max_windows = max_windows
        self.seed = seed
        self.out_of_range: dict[int, int] = {}  # epoch -> windows skipped by transposition
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.report = ExtractionReport(pieces=len(self.pieces))
        for index, piece in enumerate(self.pieces):
            classes, _, skipped = self._extract(index)
            self.report.examples += len(classes)
            self.report.skipped.update(skipped)
            if not len(classes):
                self.report.empty.append((piece.label, skipped))
            self.report.per_piece.append(PieceReport(
                piece.label, len(classes), dict(skipped),
                "" if len(classes) else why_nothing(piece.sequence, config, skipped)))

    def _extract(self, index: int) -> tuple[np.ndarray, np.ndarray, dict]:
        skipped: dict[str, int] = {}
        if index not in self._cache:
            extraction = self.converter.to_examples(self.pieces[index].sequence)
            skipped = dict(extraction.skipped)
            self._cache[index] = self._pad(extraction.examples)
        classes, lengths = self._cache[index]
        return classes, lengths, skipped

    def _pad(self, examples: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if self.segments is not None:
            return self._pad_segments(examples)
        classes = np.zeros((len(examples), self.steps, self.parts), self.dtype)
        lengths = np.zeros(len(examples), np.int32)
        for row, example in enumerate(examples):
            example = np.asarray(example).reshape(len(example), -1)[:self.steps]
            classes[row, :len(example)] = example
            lengths[row] = len(example)
        return classes, lengths

    def _pad_segments(self, examples: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Multiperf: every example is already ``max_seq_len`` tokens, ``PAD`` after each
        instrument's end token; its lengths are the instruments' (``instrument_lengths``)."""
        classes = np.full((len(examples), self.steps, self.parts), -1, np.int16)
        lengths = np.zeros((len(examples), self.segments), np.int32)
        for row, example in enumerate(examples):
            example = np.asarray(example).reshape(-1)
            if example.shape != (self.steps,):
                raise InputError(f"a {self.config.name} example must be {self.steps} tokens, "
                                 f"got {example.shape[0]}")
            classes[row, :, 0] = example
            lengths[row] = self.converter.instrument_lengths(example)
        return classes, lengths

    def _empty(self) -> tuple[np.ndarray, np.ndarray]:
        shape = (0,) if self.segments is None else (0, self.segments)
        return np.zeros((0, self.steps, self.parts), self.dtype), np.zeros(shape, np.int32)

    def untransposed(self) -> np.ndarray:
        """Every window once, as extracted, in piece order: classes ``[n, T, parts]``."""
        chunks = [self._extract(piece)[0] for piece in range(len(self.pieces))]
        if not chunks:
            return np.zeros((0, self.steps, self.parts), self.dtype)
        return np.concatenate(chunks)

    def epoch(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Epoch ``index``'s examples in piece order: (classes, lengths)."""
        rng = np.random.default_rng([self.seed, index])
        chunks = []
        for piece in range(len(self.pieces)):
            classes, lengths, _ = self._extract(piece)
            if self.max_windows is not None and len(classes) > self.max_windows:
                keep = np.sort(rng.choice(len(classes), self.max_windows, replace=False))
                classes, lengths = classes[keep], lengths[keep]
            chunks.append((classes, lengths))
        if not chunks:
            return self._empty()
        classes = np.concatenate([c for c, _ in chunks])
        lengths = np.concatenate([n for _, n in chunks])
        if self.transpose_range is not None:
            low, high = self.transpose_range
            # a shift per window, not per piece: a few pieces give few windows, and one shift
            # for all of a piece's windows would move the whole epoch's key a few ways only
            amounts = rng.integers(low, high + 1, size=len(classes))
            if self.segments is not None:
                classes, keep = transpose_performance(classes, amounts, self.segments,
                                                      self.converter.drum_token)
            else:
                classes, keep = transpose_windows(classes, amounts, self.pitched,
                                                  self.pitch_classes)
            lengths = lengths[keep]
            self.out_of_range[index] = int(np.count_nonzero(~keep))
        return classes, lengths

    def check_not_empty(self, what: str) -> None:
        if self.report.examples == 0:
            raise NoExamplesError(
                f"no {what} examples for config {self.config.name}: " +
                "; ".join(self.report.lines()[1:] or ["no pieces"]))


@dataclass(frozen=True)
class Batch:
    inputs: np.ndarray | None  # float32 [B, T, input_depth]; None where it is the targets'
    # one-hot (melody, trio, multiperf: the model looks rows up instead)
    targets: np.ndarray  # int32 [B, T, parts]: class indices (multiperf: PAD -1 after ends)
    lengths: np.ndarray  # int32 [B], or [B, segments] (multiperf: per instrument)


class Batches:
    """Endless shuffled batches of an ExampleSet; ``position`` = (epoch, offset) resumes it."""

    def __init__(self, examples: ExampleSet, batch_size: int, seed: int = 0,
                 position: tuple[int, int] = (0, 0)):
        self.examples = examples
        self.batch_size = batch_size
        self.seed = seed
        self.epoch_index, self.offset = position
        self._order: tuple[np.ndarray, np.ndarray] | None = None
        self._empty_epochs = 0

    @property
    def position(self) -> tuple[int, int]:
        return self.epoch_index, self.offset

    def _shuffled(self) -> tuple[np.ndarray, np.ndarray]:
        if self._order is None:
            classes, lengths = self.examples.epoch(self.epoch_index)
            order = np.random.default_rng([self.seed, self.epoch_index, 1]).permutation(
                len(classes))
            self._order = classes[order], lengths[order]
        return self._order

    def __iter__(self) -> Iterator[Batch]:
        return self

    def __next__(self) -> Batch:
        rows, lengths = [], []
        need = self.batch_size
        while need:
            classes, lens = self._shuffled()
            if self.offset >= len(classes):
                self._empty_epochs = self._empty_epochs + 1 if not len(classes) else 0
                if self._empty_epochs > 3:
                    raise NoExamplesError("the training pieces gave no examples in "
                                          "several epochs running")
                self.epoch_index, self.offset, self._order = self.epoch_index + 1, 0, None
                continue
            take = min(need, len(classes) - self.offset)
            rows.append(classes[self.offset:self.offset + take])
            lengths.append(lens[self.offset:self.offset + take])
            self.offset += take
            need -= take
        return make_batch(self.examples, np.concatenate(rows), np.concatenate(lengths))


# converters whose encoder inputs are the targets' one-hot (multiperf's PAD: a zero row)
ONE_HOT_INPUTS = ("melody", "trio", "multiperf")


def make_batch(examples: ExampleSet, classes: np.ndarray, lengths: np.ndarray,
               with_inputs: bool = False) -> Batch:
    """A batch from padded class indices: the targets, and the converter's encoder inputs
    unless they are the targets' one-hot (or ``with_inputs``)."""
    # class indices; a GrooVAE's: its rows of floats
    targets = classes.astype(np.float32 if examples.config.is_groove else np.int32)
    inputs = None
    if with_inputs or examples.config.converter.kind not in ONE_HOT_INPUTS:
        view = targets if examples.parts > 1 else targets[..., 0]
        inputs = examples.converter.encoder_inputs(view).astype(np.float32)
    return Batch(inputs, targets, lengths.astype(np.int32))


def eval_batches(examples: ExampleSet, batch_size: int,
                 limit: int | None = None) -> Iterator[Batch]:
    """The untransposed examples once, in order, in batches of at most ``batch_size``.

    With ``limit``, at most that many, spread evenly over the whole split: the first ones
    would all come from the first few pieces and read far better or worse than the split.
    The same ones each time, so successive evaluations compare."""
    classes, lengths = examples.epoch(0)
    if limit is not None and len(classes) > limit:
        spread = np.unique(np.linspace(0, len(classes) - 1, limit).round().astype(np.int64))
        classes, lengths = classes[spread], lengths[spread]
    for start in range(0, len(classes), batch_size):
        yield make_batch(examples, classes[start:start + batch_size],
                         lengths[start:start + batch_size])
