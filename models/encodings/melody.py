"""Monophonic melodies: extraction from a quantized piece, classes, and the melody converter.

Follows note-seq's ``Melody.from_quantized_sequence`` / ``extract_melodies`` and Magenta's
``OneHotMelodyConverter`` rule for rule:

* each instrument is read separately; a melody starts at the bar holding its first note and
  ends once ``gap_bars`` bars pass after a note-off with no note; the next melody of that
  instrument is searched from the following bar line;
* where notes start together the highest is kept (or, with ``skip_polyphony``, the whole
  instrument is dropped); a note that starts while another sounds cuts it short;
* a melody is padded to whole bars, dropped below one bar, cut to ``max_bars`` bars;
* windows of ``slice_bars`` bars start on every bar line of the melody; a rest-start
  (note-off) before a window's first note reads as "no event"; repeated windows are kept once.

Events: ``NO_EVENT`` (-2, hold), ``NOTE_OFF`` (-1), or a MIDI pitch. Classes: 0 = no event,
1 = note off, 2.. = pitch ``min_pitch``..``max_pitch``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
from latentjam.models.configs import ConverterConfig
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
    QuantizedSequence,
)
from latentjam.models.notesequence import DEFAULT_TICKS_PER_QUARTER, Note, NoteSequence, Tempo

NO_EVENT = -2
NOTE_OFF = -1
NUM_SPECIAL_CLASSES = 2  # no event, note off


class PolyphonicMelodyError(Exception):
    """Notes start together and polyphony is not allowed."""


@dataclass
class Melody:
    """Events of one extracted melody, ``start_step`` on a bar line of the piece."""

    events: list[int]
    start_step: int = 0

    @property
    def end_step(self) -> int:
        return self.start_step + len(self.events)


def set_length(events: list[int], steps: int) -> None:
    """Pad with NO_EVENT (ending a held last note with a note-off) or cut, in place."""
    old_len = len(events)
    if steps <= old_len:
        del events[steps:]
        return
    events.extend([NO_EVENT] * (steps - old_len))
    for event in reversed(events[:old_len]):
        if event == NOTE_OFF:
            break
        if event != NO_EVENT:
            events[old_len] = NOTE_OFF
            break


def _add_note(events: list[int], pitch: int, start: int, end: int) -> None:
    # Everything from ``start`` on is rewritten: a note still sounding there is cut short.
    set_length(events, end + 1)
    events[start] = pitch
    events[start + 1:end] = [NO_EVENT] * (end - start - 1)
    events[end] = NOTE_OFF


def _last_on_off(events: list[int]) -> tuple[int, int]:
    last_off = len(events)
    for i in range(len(events) - 1, -1, -1):
        if events[i] == NOTE_OFF:
            last_off = i
        if events[i] >= 0:
            return i, last_off
    raise ValueError("melody has no note")


def melody_from_notes(qs: QuantizedSequence, instrument: int, search_start_step: int,
                      gap_bars: float, ignore_polyphony: bool, pad_end: bool) -> Melody:
    """The first melody of ``instrument`` from ``search_start_step`` on (maybe empty)."""
    steps_per_bar = int(qs.steps_per_bar)
    notes = sorted(
        (n for n in qs.notes if n.instrument == instrument and n.start_step >= search_start_step),
        key=lambda n: (n.start_step, -n.pitch),
    )
    if not notes:
        return Melody([])
    melody_start = notes[0].start_step - (notes[0].start_step - search_start_step) % steps_per_bar
    events: list[int] = []
    for note in notes:
        if note.is_drum or not note.velocity:
            continue
        start = note.start_step - melody_start
        end = note.end_step - melody_start
        if start >= end:
            continue  # a note that ends before it starts has nothing to play
        if events:
            last_on, last_off = _last_on_off(events)
            if start == last_on:
                if ignore_polyphony:
                    continue  # sorted highest first: the kept note is the highest
                raise PolyphonicMelodyError(f"instrument {instrument}: notes start together")
            if start < last_on:
                raise PolyphonicMelodyError(f"instrument {instrument}: notes out of order")
            if start - last_off >= gap_bars * steps_per_bar:
                break
        _add_note(events, note.pitch, start, end)
    if not events:
        return Melody([])
    if events[-1] == NOTE_OFF:
        del events[-1]
    length = len(events)
    if pad_end:
        length += -length % steps_per_bar
    set_length(events, length)
    return Melody(events, melody_start)


def extract_melodies(qs: QuantizedSequence, *, gap_bars: float, max_steps_truncate: int | None,
                     ignore_polyphony: bool, pad_end: bool = True, min_bars: int = 1,
                     min_unique_pitches: int = 1) -> tuple[list[Melody], Counter]:
    """All melodies of every instrument, and why others were dropped."""
    steps_per_bar = int(qs.steps_per_bar)
    melodies: list[Melody] = []
    skipped: Counter = Counter()
    for instrument in sorted({n.instrument for n in qs.notes}):
        search_start = 0
        while True:
            try:
                melody = melody_from_notes(qs, instrument, search_start, gap_bars,
                                           ignore_polyphony, pad_end)
            except PolyphonicMelodyError:
                skipped["polyphonic"] += 1
                break
            search_start = melody.end_step + (-melody.end_step) % steps_per_bar
            if not melody.events:
                break
            if len(melody.events) < steps_per_bar * min_bars:
                skipped["too short"] += 1
                continue
            if max_steps_truncate is not None and len(melody.events) > max_steps_truncate:
                length = max_steps_truncate
                if pad_end:
                    length -= max_steps_truncate % steps_per_bar
                set_length(melody.events, length)
            pitches = np.array([e for e in melody.events if e >= 0], dtype=np.int64)
            if np.count_nonzero(np.bincount(pitches % 12, minlength=12)) < min_unique_pitches:
                skipped["too few pitches"] += 1
                continue
            melodies.append(melody)
    return melodies, skipped


def window_events(events: list[int]) -> tuple[int, ...]:
    """A window as Magenta re-reads it: note-offs before its first note become NO_EVENT."""
    cleaned = list(events)
    for i, event in enumerate(cleaned):
        if event not in (NO_EVENT, NOTE_OFF):
            break
        cleaned[i] = NO_EVENT
    return tuple(cleaned)


def encode_events(events, min_pitch: int) -> np.ndarray:
    """Melody events -> class indices (int64)."""
    return np.array(
        [e + NUM_SPECIAL_CLASSES if e < 0 else e - min_pitch + NUM_SPECIAL_CLASSES
         for e in events],
        dtype=np.int64,
    )


def decode_classes(classes: np.ndarray, min_pitch: int) -> list[int]:
    return [int(c) - NUM_SPECIAL_CLASSES + (0 if c < NUM_SPECIAL_CLASSES else min_pitch)
            for c in np.asarray(classes).reshape(-1)]


def melody_notes(events: list[int], steps_per_quarter: int, qpm: float, instrument: int = 0,
                 program: int = 0, velocity: int = OUTPUT_VELOCITY) -> list[Note]:
    """Notes of a melody starting at time 0; a note still held at the end stops there."""
    seconds_per_step = 60.0 / qpm / steps_per_quarter
    notes: list[Note] = []
    sounding: tuple[int, int] | None = None  # (pitch, start step)

    def close(step: int) -> None:
        pitch, start = sounding
        notes.append(Note(pitch, velocity, start * seconds_per_step, step * seconds_per_step,
                          instrument, program, False))

    for step, event in enumerate(events):
        if event >= 0:
            if sounding is not None:
                close(step)
            sounding = (event, step)
        elif event == NOTE_OFF and sounding is not None:
            close(step)
            sounding = None
    if sounding is not None:
        close(len(events))
    return notes


class MelodyConverter:
    """Magenta's ``OneHotMelodyConverter`` (cat-mel configs): 90 classes, one-hot both ways."""

    gap_bars = 1.0  # Magenta's default: a bar of silence ends a melody

    def __init__(self, config: ConverterConfig):
        self.config = config
        self.depth = config.max_pitch - config.min_pitch + 1 + NUM_SPECIAL_CLASSES

    def _is_valid(self, note: Note) -> bool:
        programs = self.config.valid_programs
        if programs is not None and note.program not in programs:
            return False
        return self.config.min_pitch <= note.pitch <= self.config.max_pitch

    def to_examples(self, ns: NoteSequence, training: bool = True) -> Extraction:
        """Every distinct window of ``slice_bars`` bars of every melody in ``ns``; with
        ``training`` off, a user's clip as it is: a bar of rest does not end the melody,
        windows start at the clip's first step, a clip shorter than a window ends in rests,
        repeats stay."""
        return extract(ns, training, self._part_examples)

    def _part_examples(self, part: NoteSequence, training: bool):
        windows, skipped = self._part_windows(part, training)
        return [encode_events(w, self.config.min_pitch) for w in windows], skipped, Counter()

    def _part_windows(self, part: NoteSequence,
                      training: bool) -> tuple[list[tuple[int, ...]], Counter]:
        cfg = self.config
        pitched = [n for n in part.notes if not n.is_drum]
        part.notes = [n for n in part.notes if self._is_valid(n)]
        if cfg.valid_programs and pitched and not any(n.program in cfg.valid_programs
                                                      for n in pitched):
            # Magenta's melody data take only these programs: say so, or a song of synth
            # leads and strings looks as if it had no melody at all
            found = sorted({n.program for n in pitched})
            return [], Counter({f"no note on a melody program ({min(cfg.valid_programs)}-"
                                f"{max(cfg.valid_programs)}: piano, organ, guitar...; "
                                f"found programs {', '.join(map(str, found[:8]))}"
                                f"{'...' if len(found) > 8 else ''})": 1})
        qs, why_not = quantized_4_4(part, cfg)
        if qs is None:
            return [], why_not
        max_steps = cfg.steps_per_bar * cfg.max_bars if cfg.max_bars else None
        melodies, skipped = extract_melodies(
            qs, gap_bars=self.gap_bars if training else math.inf, max_steps_truncate=max_steps,
            ignore_polyphony=not cfg.skip_polyphony)
        if not melodies and not skipped:
            skipped["no melody"] += 1
        windows = []
        for melody in melodies:
            events = melody.events
            if not training:
                events = [NO_EVENT] * melody.start_step + events
                set_length(events, whole_bars(max(len(events), qs.total_steps,
                                                  cfg.window_steps), cfg.steps_per_bar))
            sliced = sliding_windows(events, cfg.window_steps, cfg.steps_per_bar)
            if not sliced:
                skipped["shorter than a window"] += 1
            windows.extend(window_events(w) for w in sliced)
        return distinct_for_training(windows, skipped, training), skipped

    def to_sequence(self, classes: np.ndarray, qpm: float = 120.0) -> NoteSequence:
        """Decoded classes ``[T]`` -> notes (velocity 80, instrument 0, program 0)."""
        events = decode_classes(classes, self.config.min_pitch)
        notes = melody_notes(events, self.config.steps_per_quarter, qpm)
        total = steps_to_seconds(len(classes), self.config.steps_per_quarter, qpm)
        return NoteSequence(notes=notes, tempos=[Tempo(0.0, qpm)], total_time=total,
                            ticks_per_quarter=DEFAULT_TICKS_PER_QUARTER)

    def encoder_inputs(self, classes: np.ndarray) -> np.ndarray:
        return one_hot(classes, self.depth)

    def decoder_targets(self, classes: np.ndarray) -> np.ndarray:
        return one_hot(classes, self.depth)
