"""Drums as played: Magenta's ``GrooveConverter`` (the GrooVAE configs).

A piece becomes rows on the 16th grid, one per step, each ``[hits 9, velocities 9, offsets
9]`` over the 9 drum classes (float32, 27 wide):

* hit 1 where a note of the class starts on the step (its onset rounded to the nearest
  step, note-seq's quantizing); of several, the loudest counts (the first listed of equals);
* velocity ``velocity / 127``;
* offset ``2 * (step time - onset) / step length``, in -1..1: negative when played late;
* no hit: 0, 0, 0.

The rows run from step 0 to the end of the bar holding the last onset, then are cut into
windows of ``slice_bars`` bars, one after another (no overlap, no repeats removed). A piece
with a tempo or metre change, or not in 4/4, gives nothing. Every note counts, drum channel
or not, as in Magenta. Pitches map to classes by Magenta's two tables: training data by the
Roland V-Drums map (``TRAIN_PITCH_CLASSES``), a user's clip by note-seq's drum map (that of
the cat-drums models, ``drums.DRUM_CLASS_PITCHES``); a decoded class plays the first pitch
of the latter.

The encoder reads the same rows altered by the config (``encoder_rows``): humanize zeroes
velocities and offsets (quantized drums in, the groove out); tap puts each step's loudest
hit, with its offset, on the open hi-hat class and clears the rest; fixed velocities zero
the velocities.

Differences, on purpose: a pitch outside the map is left out and counted (Magenta raises a
KeyError); a decoded velocity below 1 plays at 1 (Magenta writes 0, a note-off in MIDI); a
decoded loop lasts its bars and takes the tempo it is given (Magenta's: 120 qpm, ending at
the last note), and a hit played early on its first step starts at 0 in ``to_sequence``
(``groove_notes`` keeps Magenta's time before 0).
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
from latentjam.models.configs import DRUM_CLASSES, GROOVE_DEPTH, ConverterConfig
from latentjam.models.encodings.converters import (
    Extraction,
    quantized_4_4,
    steps_to_seconds,
)
from latentjam.models.encodings.drums import DRUM_CLASS_PITCHES, DRUM_INSTRUMENT
from latentjam.models.encodings.quantize import QuantizedSequence, steps_per_second
from latentjam.models.notesequence import DEFAULT_TICKS_PER_QUARTER, Note, NoteSequence, Tempo

TAP_CLASS = 3  # the open hi-hat: where a tapped rhythm is put
# Magenta's ROLAND_DRUM_PITCH_CLASSES: the Groove MIDI Dataset's kit, what training reads.
TRAIN_PITCH_CLASSES: tuple[tuple[int, ...], ...] = (
    (36,),  # kick
    (38, 37, 40),  # snare, rim, electric snare
    (42, 22, 44),  # closed hi-hat (edge, pedal)
    (46, 26),  # open hi-hat
    (43, 58),  # low tom
    (47, 45),  # mid tom
    (50, 48),  # high tom
    (49, 52, 55, 57),  # crash, china, splash
    (51, 53, 59),  # ride (bell, edge)
)
INFER_PITCH_CLASSES = DRUM_CLASS_PITCHES
DECODED_NOTE_STEPS = 1  # a decoded hit lasts one step, as Magenta's


def pitch_map(classes: tuple[tuple[int, ...], ...]) -> dict[int, int]:
    return {pitch: cls for cls, pitches in enumerate(classes) for pitch in pitches}


_TRAIN_MAP = pitch_map(TRAIN_PITCH_CLASSES)
_INFER_MAP = pitch_map(INFER_PITCH_CLASSES)


def groove_rows(qs: QuantizedSequence, onsets: list[float], classes: dict[int, int],
                skipped: Counter) -> np.ndarray:
    """The rows ``[steps, 27]`` of a quantized piece; ``onsets`` are its notes' start times
    in seconds (the offsets are measured from them). Pitches outside ``classes`` are counted
    in ``skipped``."""
    step_seconds = 1.0 / steps_per_second(qs.steps_per_quarter, qs.qpm)
    steps_per_bar = int(qs.steps_per_bar)
    last = max(note.start_step for note in qs.notes)
    steps = steps_per_bar * -(-(last + 1) // steps_per_bar)  # to the end of the bar
    rows = np.zeros((steps, GROOVE_DEPTH), np.float32)
    loudest = np.full((steps, DRUM_CLASSES), -1)
    for note, onset in zip(qs.notes, onsets, strict=True):
        cls = classes.get(note.pitch)
        if cls is None:
            skipped["pitch outside the drum map"] += 1
            continue
        step = note.start_step
        if note.velocity <= loudest[step, cls]:
            continue
        loudest[step, cls] = note.velocity
        rows[step, cls] = 1.0
        rows[step, DRUM_CLASSES + cls] = note.velocity / 127.0
        rows[step, 2 * DRUM_CLASSES + cls] = 2.0 * (step * step_seconds - onset) / step_seconds
    return rows


def encoder_rows(rows: np.ndarray, config: ConverterConfig) -> np.ndarray:
    """What the encoder reads of ``rows [..., T, 27]`` (see the module docstring)."""
    rows = np.asarray(rows, np.float32)
    out = rows.copy()
    d = DRUM_CLASSES
    if config.tapify:
        velocities = rows[..., d:2 * d]
        loudest = np.argmax(velocities, axis=-1)[..., None]  # a step with no hit: class 0
        out[:] = 0.0
        for part in range(3):
            out[..., part * d + TAP_CLASS] = np.take_along_axis(
                rows[..., part * d:(part + 1) * d], loudest, axis=-1)[..., 0]
    if config.humanize:
        out[..., d:] = 0.0
    if config.fixed_velocities:
        out[..., d:2 * d] = 0.0
    return out


def groove_notes(rows: np.ndarray, steps_per_quarter: int, qpm: float,
                 pitches: tuple[int, ...] | None = None) -> list[Note]:
    """Decoded rows ``[T, 27]`` -> drum notes: a hit above 0.5 plays the class's pitch at
    velocity ``round(127 v)`` (1..127), ``offset / 2`` steps (-0.5..0.5) early, one step
    long. Notes come step by step, class by class."""
    rows = np.asarray(rows, np.float64)
    pitches = pitches or tuple(p[0] for p in INFER_PITCH_CLASSES)
    step_seconds = 1.0 / steps_per_second(steps_per_quarter, qpm)
    d = DRUM_CLASSES
    steps, classes = np.nonzero(rows[:, :d] > 0.5)  # step by step, class by class
    velocities = np.clip(np.round(rows[steps, d + classes] * 127), 1, 127).astype(int)
    starts = (steps - np.clip(rows[steps, 2 * d + classes] / 2, -0.5, 0.5)) * step_seconds
    length = DECODED_NOTE_STEPS * step_seconds
    notes = [Note(pitch=pitches[cls], velocity=int(velocity), start_time=float(start),
                  end_time=float(start) + length, instrument=DRUM_INSTRUMENT, is_drum=True)
             for cls, velocity, start in zip(classes.tolist(), velocities.tolist(),
                                             starts.tolist(), strict=True)]
    return notes


class GrooveConverter:
    """Magenta's ``GrooveConverter`` as the GrooVAE configs set it up; examples are the
    decoder's rows ``[window_steps, 27]`` (float32)."""

    def __init__(self, config: ConverterConfig):
        self.config = config

    def to_examples(self, ns: NoteSequence, training: bool = True) -> Extraction:
        """The windows of ``ns``; ``training`` reads pitches by the Roland map, else by the
        inference map (Magenta's ``train`` and ``infer`` modes)."""
        skipped: Counter = Counter()
        examples = self._windows(ns, _TRAIN_MAP if training else _INFER_MAP, skipped)
        return Extraction(examples, {k: v for k, v in sorted(skipped.items()) if v})

    def _windows(self, ns: NoteSequence, classes: dict[int, int],
                 skipped: Counter) -> list[np.ndarray]:
        cfg = self.config
        # Magenta quantizes the piece whole (no split where tempo or metre change first):
        # a change gives nothing.
        qs, why_not = quantized_4_4(ns, cfg)
        if qs is None:
            skipped.update(why_not)
            return []
        if not qs.notes:
            skipped["no notes"] += 1
            return []
        rows = groove_rows(qs, [n.start_time for n in ns.notes], classes, skipped)
        window = cfg.window_steps
        windows = [rows[i:i + window] for i in range(0, len(rows) - window + 1, window)]
        if not windows:
            skipped["shorter than a window"] += 1
        return windows

    def to_sequence(self, rows: np.ndarray, qpm: float = 120.0) -> NoteSequence:
        """The notes of decoded rows; a hit played early on the first step starts at 0 (a
        file has no time before its start)."""
        notes = [n if n.start_time >= 0 else dataclasses.replace(
                     n, start_time=0.0, end_time=n.end_time - n.start_time)
                 for n in groove_notes(rows, self.config.steps_per_quarter, qpm)]
        total = steps_to_seconds(len(rows), self.config.steps_per_quarter, qpm)
        return NoteSequence(notes=notes, tempos=[Tempo(0.0, qpm)], total_time=total,
                            ticks_per_quarter=DEFAULT_TICKS_PER_QUARTER)

    def encoder_inputs(self, rows: np.ndarray) -> np.ndarray:
        return encoder_rows(rows, self.config)

    def decoder_targets(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(rows, np.float32)


__all__ = ["GROOVE_DEPTH", "INFER_PITCH_CLASSES", "TRAIN_PITCH_CLASSES", "GrooveConverter",
           "encoder_rows", "groove_notes", "groove_rows"]
