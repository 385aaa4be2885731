"""Drum tracks: extraction from a quantized piece, the 9 drum classes, the drums converter.

Follows note-seq's ``DrumTrack.from_quantized_sequence`` / ``extract_drum_tracks`` and
Magenta's ``DrumsConverter(roll_input=True)`` (cat-drums configs):

* only drum notes whose pitch is in one of the 9 classes count; every drum instrument of
  the piece merges into one track (a hit is a set of classes per step, no duration);
* a track starts at the bar holding its first hit and ends once ``gap_bars`` bars pass with
  no hit; it is padded to whole bars, dropped below one bar, cut to ``max_bars`` bars;
* windows of ``slice_bars`` bars start on every bar line; repeated windows are kept once.

Classes: a step's class is ``sum(2**c)`` over its drum classes c (512 classes). The encoder
reads a 10-wide roll: one bit per drum class and a last bit set on steps with no hit.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
from latentjam.models.configs import DRUM_CLASSES, DRUM_OUTPUT_CLASSES, ConverterConfig
from latentjam.models.encodings.converters import (
    OUTPUT_VELOCITY,
    Extraction,
    distinct_for_training,
    extract,
    one_hot,
    quantized_4_4,
    sliding_windows,
    steps_to_seconds,
    whole_bars,
)
from latentjam.models.encodings.quantize import (
    QuantizedNote,
    QuantizedSequence,
)
from latentjam.models.notesequence import DEFAULT_TICKS_PER_QUARTER, Note, NoteSequence, Tempo

# note-seq's DEFAULT_DRUM_TYPE_PITCHES: the first pitch of each class is the one decoded.
DRUM_CLASS_PITCHES: tuple[tuple[int, ...], ...] = (
    (36, 35),  # kick
    (38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85),  # snare
    (42, 44, 54, 68, 69, 70, 71, 73, 78, 80, 22),  # closed hi-hat
    (46, 67, 72, 74, 79, 81, 26),  # open hi-hat
    (45, 29, 41, 43, 61, 64, 84),  # low tom
    (48, 47, 60, 63, 77, 86, 87),  # mid tom
    (50, 30, 62, 76, 83),  # high tom
    (49, 52, 55, 57, 58),  # crash
    (51, 53, 59, 82),  # ride
)
PITCH_TO_CLASS = {p: c for c, pitches in enumerate(DRUM_CLASS_PITCHES) for p in pitches}
DRUM_INSTRUMENT = 9  # instrument of decoded drum notes (note-seq's DrumTrack default)
ROLL_DEPTH = DRUM_CLASSES + 1  # the drum bits and the "no hit" bit

DrumEvent = frozenset  # the drum classes hit on one step


def drum_track_from_notes(notes: list[QuantizedNote], search_start_step: int, gap_bars: float,
                          steps_per_bar: int, pad_end: bool) -> tuple[list[DrumEvent], int]:
    """The first drum track from ``search_start_step`` on: (events, start step); maybe empty.

    ``notes`` carry drum classes in ``pitch`` already.
    """
    by_step: dict[int, list[int]] = defaultdict(list)
    for note in notes:
        if note.is_drum and note.velocity and note.start_step >= search_start_step:
            by_step[note.start_step].append(note.pitch)
    if not by_step:
        return [], 0
    steps = sorted(by_step)
    track_start = steps[0] - (steps[0] - search_start_step) % steps_per_bar
    events: list[DrumEvent] = []
    gap_start = 0
    for step in steps:
        index = step - track_start
        if events and index - gap_start >= gap_bars * steps_per_bar:
            break
        events.extend([frozenset()] * (index + 1 - len(events)))
        events[index] = frozenset(by_step[step])
        gap_start = index + 1
    if pad_end:
        events.extend([frozenset()] * (-len(events) % steps_per_bar))
    return events, track_start


def extract_drum_tracks(qs: QuantizedSequence, *, gap_bars: float,
                        max_steps_truncate: int | None, pad_end: bool = True,
                        min_bars: int = 1) -> tuple[list[tuple[list[DrumEvent], int]], Counter]:
    """All drum tracks of the piece as (events, start step), and why others were dropped."""
    steps_per_bar = int(qs.steps_per_bar)
    notes = list(qs.notes)
    tracks = []
    skipped: Counter = Counter()
    search_start = 0
    while True:
        events, start = drum_track_from_notes(notes, search_start, gap_bars, steps_per_bar,
                                              pad_end)
        end = start + len(events)
        search_start = end + (-end) % steps_per_bar
        if not events:
            break
        if len(events) < steps_per_bar * min_bars:
            skipped["too short"] += 1
            continue
        if max_steps_truncate is not None and len(events) > max_steps_truncate:
            length = max_steps_truncate
            if pad_end:
                length -= max_steps_truncate % steps_per_bar
            del events[length:]
        tracks.append((events, start))
    return tracks, skipped


def to_drum_classes(qs: QuantizedSequence) -> QuantizedSequence:
    """Only the drum notes of known pitch, their pitch replaced by their drum class."""
    notes = tuple(
        QuantizedNote(PITCH_TO_CLASS[n.pitch], n.velocity, n.start_step, n.end_step,
                      n.instrument, n.program, n.is_drum)
        for n in qs.notes if n.is_drum and n.pitch in PITCH_TO_CLASS
    )
    return QuantizedSequence(notes, qs.total_steps, qs.steps_per_quarter, qs.qpm,
                             qs.numerator, qs.denominator)


def encode_events(events) -> np.ndarray:
    """Drum events -> class indices ``sum(2**c)`` (int64)."""
    return np.array([sum(1 << c for c in event) for event in events], dtype=np.int64)


def drum_roll(classes: np.ndarray) -> np.ndarray:
    """Classes ``[..., T]`` -> float32 ``[..., T, 10]``: drum bits, then the no-hit bit."""
    classes = np.asarray(classes, dtype=np.int64)
    if classes.size and (classes.min() < 0 or classes.max() >= DRUM_OUTPUT_CLASSES):
        raise ValueError(f"drum classes must lie in 0..{DRUM_OUTPUT_CLASSES - 1}")
    bits = (classes[..., None] >> np.arange(DRUM_CLASSES)) & 1
    return np.concatenate([bits, (classes == 0)[..., None]], axis=-1).astype(np.float32)


def drum_notes(classes: np.ndarray, steps_per_quarter: int, qpm: float,
               instrument: int = DRUM_INSTRUMENT, velocity: int = OUTPUT_VELOCITY) -> list[Note]:
    """One step-long note per hit, at the first pitch of its drum class."""
    seconds_per_step = 60.0 / qpm / steps_per_quarter
    notes = []
    for step, value in enumerate(np.asarray(classes).reshape(-1).tolist()):
        for drum in range(DRUM_CLASSES):
            if value >> drum & 1:
                notes.append(Note(DRUM_CLASS_PITCHES[drum][0], velocity, step * seconds_per_step,
                                  (step + 1) * seconds_per_step, instrument, 0, True))
    return notes


class DrumsConverter:
    """Magenta's ``DrumsConverter(roll_input=True)``: 10-wide roll in, 512 classes out."""

    gap_bars = 1.0  # Magenta's default: a bar with no hit ends a track

    def __init__(self, config: ConverterConfig):
        self.config = config

    def to_examples(self, ns: NoteSequence, training: bool = True) -> Extraction:
        """Every distinct window of ``slice_bars`` bars of every drum track in ``ns``; with
        ``training`` off, a user's clip as it is: a bar without hits does not end the track,
        windows start at the clip's first step, a clip shorter than a window ends in rests,
        repeats stay."""
        return extract(ns, training, self._part_examples)

    def _part_examples(self, part: NoteSequence, training: bool):
        windows, skipped = self._part_windows(part, training)
        return [encode_events(w) for w in windows], skipped, Counter()

    def _part_windows(self, part: NoteSequence, training: bool) -> tuple[list[tuple], Counter]:
        cfg = self.config
        qs, why_not = quantized_4_4(part, cfg)
        if qs is None:
            return [], why_not
        max_steps = cfg.steps_per_bar * cfg.max_bars if cfg.max_bars else None
        tracks, skipped = extract_drum_tracks(
            to_drum_classes(qs), gap_bars=self.gap_bars if training else math.inf,
            max_steps_truncate=max_steps)
        if not tracks and not skipped:
            skipped["no drums"] += 1
        windows = []
        for events, start in tracks:
            if not training:
                events = [frozenset()] * start + events
                length = whole_bars(max(len(events), qs.total_steps, cfg.window_steps),
                                    cfg.steps_per_bar)
                events = events + [frozenset()] * (length - len(events))
            sliced = sliding_windows(events, cfg.window_steps, cfg.steps_per_bar)
            if not sliced:
                skipped["shorter than a window"] += 1
            windows.extend(tuple(w) for w in sliced)
        return distinct_for_training(windows, skipped, training), skipped

    def to_sequence(self, classes: np.ndarray, qpm: float = 120.0) -> NoteSequence:
        """Decoded classes ``[T]`` -> drum notes (velocity 80, instrument 9, channel 10)."""
        notes = drum_notes(classes, self.config.steps_per_quarter, qpm)
        total = steps_to_seconds(len(classes), self.config.steps_per_quarter, qpm)
        return NoteSequence(notes=notes, tempos=[Tempo(0.0, qpm)], total_time=total,
                            ticks_per_quarter=DEFAULT_TICKS_PER_QUARTER)

    def encoder_inputs(self, classes: np.ndarray) -> np.ndarray:
        return drum_roll(classes)

    def decoder_targets(self, classes: np.ndarray) -> np.ndarray:
        return one_hot(classes, DRUM_OUTPUT_CLASSES)
