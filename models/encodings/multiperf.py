"""Many instruments, one bar each: Magenta's ``MultiInstrumentPerformanceConverter``.

The converter of ``hier-multiperf_vel_1bar_*``. A piece becomes one example per bar, each
example up to 8 instruments, each instrument a sequence of performance-event tokens
(``models.encodings.performance``). Rule for rule as Magenta, with its defaults
(24 steps per quarter, 8 velocity bins in these configs):

* the piece is cut where its tempo or metre changes; each part is cut into bars of
  ``4 * 60 / qpm`` seconds from its start (a note belongs to the bar it starts in and is cut at
  the bar's end); a part whose bars are not 4/4 gives nothing;
* a bar with a note outside ``min_pitch..max_pitch``, with fewer than 2 or more than 8
  instruments (a MIDI track, as note-seq numbers them), gives nothing;
* each instrument's events are cut or padded to the bar (96 steps), turned into notes and
  back (notes held past the bar end there; an instrument left without notes counts as a
  drum track, as in Magenta); its program is the program of its notes, drums a token of its
  own;
* instruments are ordered by (is drum, program), ties by instrument number; each is
  ``[program token, events..., end token]`` and may hold at most 64 tokens, else the bar
  gives nothing; a bar with fewer than 8 events in all gives nothing.

Example layout: int64 ``[8 * 64]``, instrument ``i`` in ``[64 i, 64 i + 64)``; an absent
instrument is a single end token; ``PAD`` (-1) fills the rest and one-hot encodes as a zero
row, as Magenta pads. Token classes (490): 0..127 note-on of a pitch, 128..255 note-off,
256..351 time shift of 1..96 steps, 352..359 velocity bin 1..8, 360..487 program 0..127,
488 drums, 489 end.

Differences, on purpose: ``to_sequence`` makes a loop last its bar (Magenta's ``total_time``
is the last note's end) and takes the tempo it is given (Magenta's is always 120 qpm); with
``training`` off, a user's clip keeps bars with a single instrument or few events, an
instrument's excess events are cut and, past 8 instruments, those with the fewest notes are
left out (``kept`` counts each). Sustain pedal (CC 64) is not applied: our NoteSequence
carries no control changes, while Magenta lengthens notes under a held pedal first.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from latentjam.models.configs import ConverterConfig
from latentjam.models.encodings import performance as perf
from latentjam.models.encodings.converters import (
    Extraction,
    extract,
    one_hot,
    quantized_4_4,
)
from latentjam.models.encodings.quantize import _extract_parts  # note-seq's subsequence rules
from latentjam.models.errors import ConfigError
from latentjam.models.notesequence import (
    DEFAULT_QPM,
    DEFAULT_TICKS_PER_QUARTER,
    Note,
    NoteSequence,
    Tempo,
)

PAD = -1  # a step past an instrument's end token (a zero row in the one-hot view)
NUM_PROGRAMS = 128
MAX_SHIFT_QUARTERS = 4  # note-seq's DEFAULT_MAX_SHIFT_QUARTERS


def num_classes(config: ConverterConfig) -> int:
    """Token classes: performance events, 128 programs and drums, the end token."""
    return _encoding(config).num_classes + NUM_PROGRAMS + 2


def _encoding(config: ConverterConfig) -> perf.PerformanceEncoding:
    return perf.PerformanceEncoding(config.num_velocity_bins,
                                    MAX_SHIFT_QUARTERS * config.steps_per_quarter,
                                    config.min_pitch, config.max_pitch)


class _Track:
    """One instrument's bar: its events, program (None: several or drums) and drum flag
    (None: drums and pitched notes mixed)."""

    def __init__(self, instrument: int, events: list[perf.Event], program: int | None,
                 is_drum: bool | None, notes: int):
        self.instrument = instrument
        self.events = events
        self.program = program
        self.is_drum = is_drum
        self.notes = notes

    @property
    def sort_key(self) -> tuple:
        return (bool(self.is_drum), -1 if self.program is None else self.program,
                self.instrument)


def _program_and_drum(notes) -> tuple[int | None, bool | None]:
    """note-seq's rule: all drums -> (None, True); all pitched -> (the one program or None,
    False); mixed -> (None, None). No notes at all count as drums."""
    if all(n.is_drum for n in notes):
        return None, True
    if not any(n.is_drum for n in notes):
        programs = {n.program for n in notes}
        return (programs.pop() if len(programs) == 1 else None), False
    return None, None


class MultiPerfConverter:
    """Classes: int64 ``[instruments * events]`` per bar, ``PAD`` after each end token."""

    def __init__(self, config: ConverterConfig):
        if config.slice_bars != 1:
            raise ConfigError(f"multiperf: only 1-bar examples are supported, got "
                              f"{config.slice_bars} bars")
        self.config = config
        self.encoding = _encoding(config)
        self.max_shift = MAX_SHIFT_QUARTERS * config.steps_per_quarter
        self.program_offset = self.encoding.num_classes  # token of program 0
        self.drum_token = self.program_offset + NUM_PROGRAMS
        self.end_token = self.drum_token + 1
        self.depth = self.end_token + 1
        self.instruments = config.max_instruments
        self.events_per_instrument = config.max_events_per_instrument
        self.length = self.instruments * self.events_per_instrument

    # -- a piece -> examples ----------------------------------------------------------------

    def to_examples(self, ns: NoteSequence, training: bool = True) -> Extraction:
        """One example per bar Magenta keeps, in order; with ``training`` off, also bars with
        one instrument or few events, and bars too full are thinned rather than dropped."""
        return extract(ns, training, self._part_examples)

    def _part_examples(self, part: NoteSequence,
                       training: bool) -> tuple[list[np.ndarray], Counter, Counter]:
        cfg = self.config
        qpm = part.tempos[0].qpm if part.tempos else DEFAULT_QPM
        bar_seconds = 60.0 * 4 * cfg.slice_bars / qpm
        examples: list[np.ndarray] = []
        skipped: Counter = Counter()
        kept: Counter = Counter()
        for bar in self._bars(part, bar_seconds):
            qs, why_not = quantized_4_4(bar, cfg)
            if qs is None:
                return [], why_not, Counter()  # Magenta drops the whole part
            example = self._bar_example(bar, qs, training, skipped, kept)
            if example is not None:
                examples.append(example)
        return examples, skipped, kept

    @staticmethod
    def _bars(part: NoteSequence, bar_seconds: float) -> list[NoteSequence]:
        """note-seq's ``split_note_sequence(part, bar_seconds)``."""
        splits = [0.0, *np.arange(bar_seconds, part.total_time, bar_seconds).tolist()]
        if part.total_time > splits[-1]:
            splits.append(part.total_time)
        if len(splits) < 2:
            return []
        return _extract_parts(part, splits)

    def _bar_example(self, bar: NoteSequence, qs, training: bool, skipped: Counter,
                     kept: Counter) -> np.ndarray | None:
        cfg = self.config
        if not bar.notes:
            skipped["empty bar"] += 1
            return None
        if any(not cfg.min_pitch <= n.pitch <= cfg.max_pitch for n in bar.notes):
            skipped["pitch out of range"] += 1
            return None
        steps = cfg.window_steps
        by_instrument: dict[int, list[perf.StepNote]] = {}
        originals: dict[int, list[Note]] = {}
        for index, (note, qn) in enumerate(zip(bar.notes, qs.notes, strict=True)):
            by_instrument.setdefault(note.instrument, []).append(perf.StepNote(
                qn.pitch, qn.velocity, qn.start_step, qn.end_step,
                (note.start_time, note.pitch, index)))
            originals.setdefault(note.instrument, []).append(note)
        tracks = []
        for instrument in sorted(by_instrument):
            events = perf.events_from_notes(by_instrument[instrument], self.max_shift,
                                            cfg.num_velocity_bins)
            if perf.num_steps(events) > steps:
                events = perf.set_length(events, steps, self.max_shift)
            program, is_drum = _program_and_drum(originals[instrument])
            tracks.append(_Track(instrument, events, program, is_drum,
                                 len(by_instrument[instrument])))

        if len(tracks) > self.instruments:
            if training:
                skipped[f"more than {self.instruments} instruments"] += 1
                return None
            kept[f"more than {self.instruments} instruments"] += 1
            tracks = sorted(tracks, key=lambda t: (-t.notes, t.instrument))[:self.instruments]
        if len(tracks) < cfg.min_instruments:
            if training:
                skipped[f"fewer than {cfg.min_instruments} instruments"] += 1
                return None
            kept[f"fewer than {cfg.min_instruments} instruments"] += 1

        room = self.events_per_instrument - 2  # a program token and an end token
        tracks = [self._clipped(t) for t in sorted(tracks, key=lambda t: t.sort_key)]
        for track in tracks:
            if len(track.events) > room:
                if training:
                    skipped["too many events in an instrument"] += 1
                    return None
                kept["too many events in an instrument"] += 1
                track.events = track.events[:room]
        if sum(len(t.events) for t in tracks) < cfg.min_total_events:
            if training:
                skipped["too few events"] += 1
                return None
            kept["too few events"] += 1

        classes = np.full((self.instruments, self.events_per_instrument), PAD, np.int64)
        classes[:, 0] = self.end_token
        for row, track in enumerate(tracks):
            program = self.drum_token if track.is_drum else self.program_offset + track.program
            tokens = [program, *(self.encoding.encode(e) for e in track.events), self.end_token]
            classes[row, :len(tokens)] = tokens
        return classes.reshape(-1)

    def _clipped(self, track: _Track) -> _Track:
        """Magenta's ``clip_tied_notes``: the bar's events as notes and back, so that notes
        held past the bar end on its last step (program and drum flag follow the notes)."""
        steps = self.config.window_steps
        bins = self.config.num_velocity_bins
        events = perf.set_length(track.events, steps, self.max_shift)
        notes = perf.notes_from_events(events, bins)
        program = track.program if track.program is not None else 0
        is_drum = bool(track.is_drum)
        renotes = [perf.StepNote(n.pitch, n.velocity, n.start_step, n.end_step,
                                 (n.start_step, n.pitch, i)) for i, n in enumerate(notes)]
        events = perf.set_length(perf.events_from_notes(renotes, self.max_shift, bins),
                                 steps, self.max_shift)
        if notes:
            return _Track(track.instrument, events, program, is_drum, track.notes)
        return _Track(track.instrument, events, None, True, track.notes)

    # -- classes -> a piece -----------------------------------------------------------------

    def to_sequence(self, classes: np.ndarray, qpm: float = 120.0) -> NoteSequence:
        """Decoded classes (``[8 * 64]``, or ``[8, 64]``) -> a bar: instrument ``i`` is row
        ``i``, its first program token gives the program (drums: program 0, ``is_drum``),
        tokens after its first end token are ignored."""
        cfg = self.config
        steps = cfg.window_steps
        rows = np.asarray(classes, dtype=np.int64).reshape(self.instruments, -1)
        seconds_per_step = 60.0 / (cfg.steps_per_quarter * qpm)
        notes: list[Note] = []
        for instrument, row in enumerate(rows):
            tokens = [max(int(t), 0) for t in row]  # a zero row's argmax is class 0
            if self.end_token in tokens:
                tokens = tokens[:tokens.index(self.end_token)]
            programs = [t for t in tokens if t >= self.program_offset]
            program, is_drum = 0, False
            if programs:
                if programs[0] == self.drum_token:
                    is_drum = True
                else:
                    program = programs[0] - self.program_offset
            events = [self.encoding.decode(t) for t in tokens if t < self.program_offset]
            events = perf.set_length(events, steps, self.max_shift)
            for n in perf.notes_from_events(events, cfg.num_velocity_bins):
                notes.append(Note(n.pitch, n.velocity, n.start_step * seconds_per_step,
                                  n.end_step * seconds_per_step, instrument, program, is_drum))
        return NoteSequence(notes=notes, tempos=[Tempo(0.0, qpm)],
                            total_time=steps * seconds_per_step,
                            ticks_per_quarter=DEFAULT_TICKS_PER_QUARTER)

    def instrument_lengths(self, classes: np.ndarray) -> np.ndarray:
        """int32 ``[..., 8]``: tokens per instrument up to its end token (Magenta's lengths)."""
        rows = np.asarray(classes).reshape(*np.shape(classes)[:-1], self.instruments, -1)
        return np.count_nonzero(rows != PAD, axis=-1).astype(np.int32)

    def encoder_inputs(self, classes: np.ndarray) -> np.ndarray:
        """Classes ``[..., 512]`` -> float32 ``[..., 512, 490]``; ``PAD`` gives zero rows."""
        classes = np.asarray(classes, dtype=np.int64)
        rows = one_hot(np.where(classes == PAD, 0, classes), self.depth)
        rows[classes == PAD] = 0.0
        return rows

    def decoder_targets(self, classes: np.ndarray) -> np.ndarray:
        return self.encoder_inputs(classes)
