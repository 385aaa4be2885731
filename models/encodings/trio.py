"""Trios (melody, bass, drums) and the trio converter, as Magenta's ``TrioConverter``.

How a piece becomes 16-bar windows (hierdec-trio configs), rule for rule:

* every instrument gets a part type from its notes: drums (``is_drum``), melody (programs
  0-31) or bass (32-39); an instrument mixing types, or using another program, is ignored;
  a piece without all three types gives nothing;
* each instrument is encoded over the whole piece (rounded up to whole bars): melodies and
  bass lines keep the highest of notes starting together and never end at a gap; drums
  merge into the 9 classes; an instrument that encodes to nothing counts as silent;
* a bar is "covered" for an instrument when a note sounds in it, or in one of the
  ``gap_bars`` bars either side; the first and last ``gap_bars`` bars count as covered for
  all three parts when any of them plays there;
* for every (melody, bass, drums) choice of instruments, a window of ``slice_bars`` bars
  starts on every bar where all of its bars are covered for all three parts.

Without ``max_bars`` in the config, Magenta's default limit of 1,024 bars applies.
"""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
from latentjam.models.configs import (
    DRUM_OUTPUT_CLASSES,
    MEL_PROGRAMS,
    MELODY_CLASSES,
    ConverterConfig,
)
from latentjam.models.encodings import drums, melody
from latentjam.models.encodings.converters import (
    Extraction,
    extract,
    one_hot,
    quantized_4_4,
    steps_to_seconds,
)
from latentjam.models.encodings.quantize import quantize
from latentjam.models.notesequence import DEFAULT_TICKS_PER_QUARTER, NoteSequence, Tempo

BASS_PROGRAMS = tuple(range(32, 40))
ELECTRIC_BASS_PROGRAM = 33  # program of decoded bass notes
BASS_INSTRUMENT = 1
DEFAULT_MAX_BARS = 1024  # Magenta's TrioConverter default
MAX_INSTRUMENT = 127
_SILENT = -1  # stands for a part a user's clip lacks (encoded as rests)

UNKNOWN, MELODY, BASS, DRUMS, INVALID = range(5)
PART_DEPTHS = (MELODY_CLASSES, MELODY_CLASSES, DRUM_OUTPUT_CLASSES)


def _program_type(program: int) -> int:
    if program in MEL_PROGRAMS:
        return MELODY
    if program in BASS_PROGRAMS:
        return BASS
    return INVALID


class TrioConverter:
    """Magenta's ``TrioConverter``: classes ``[T, 3]`` = (melody, bass, drums) per step."""

    def __init__(self, config: ConverterConfig):
        self.config = config
        self.gap_bars = config.gap_bars if config.gap_bars is not None else 2
        self.max_bars = config.max_bars or DEFAULT_MAX_BARS

    def to_examples(self, ns: NoteSequence, training: bool = True) -> Extraction:
        """Every covered window of ``slice_bars`` bars, for every choice of instruments.

        With ``training`` off (a user's clip, the model's own output) every window is taken:
        a part that rests, even for the whole window, is encoded as rests, a part the clip
        lacks as silence, a clip shorter than a window is padded with rests; ``kept`` counts
        the windows training would have skipped."""
        return extract(ns, training, self._part_examples)

    def _part_examples(self, part: NoteSequence,
                       training: bool) -> tuple[list[np.ndarray], Counter, Counter]:
        cfg = self.config
        steps_per_bar = cfg.steps_per_bar
        qs, why_not = quantized_4_4(part, cfg)
        if qs is None:
            return [], why_not, Counter()

        total_bars = min(-(-qs.total_steps // steps_per_bar), self.max_bars)
        if not training:  # a user's clip shorter than a window ends in rests
            total_bars = max(total_bars, cfg.slice_bars)
        instrument_type = np.zeros(MAX_INSTRUMENT + 1, np.uint8)
        coverage = np.zeros((total_bars, MAX_INSTRUMENT + 1), bool)
        for note in qs.notes:
            i = note.instrument
            if not 0 <= i <= MAX_INSTRUMENT:
                continue
            kind = DRUMS if note.is_drum else _program_type(note.program)
            if not instrument_type[i]:
                instrument_type[i] = kind
            elif instrument_type[i] != kind:
                instrument_type[i] = INVALID
            start_bar = note.start_step // steps_per_bar
            end_bar = -(-note.end_step // steps_per_bar)
            if start_bar < total_bars:
                coverage[start_bar:min(end_bar, total_bars), i] = True

        by_type: dict[int, list[int]] = {MELODY: [], BASS: [], DRUMS: []}
        for i, kind in enumerate(instrument_type):
            if kind in by_type:
                by_type[int(kind)].append(i)
        kept: Counter = Counter()
        if not all(by_type.values()):
            if training or not any(by_type.values()):
                return [], Counter({"missing part": 1}), kept
            kept["missing part"] += 1

        # Encode each instrument over the whole part, rounded up to whole bars.
        padded = NoteSequence(tempos=part.tempos, time_signatures=part.time_signatures,
                              total_time=total_bars * steps_per_bar * 60 / qs.qpm
                              / cfg.steps_per_quarter)
        encoded: dict[int, np.ndarray] = {}
        for i in by_type[MELODY] + by_type[BASS] + by_type[DRUMS]:
            notes = [n for n in part.notes if n.instrument == i]
            encode = self._encode_drums if i in by_type[DRUMS] else self._encode_melody
            classes = encode(NoteSequence(notes=notes, tempos=padded.tempos,
                                          time_signatures=padded.time_signatures,
                                          total_time=padded.total_time))
            if classes is None:
                coverage[:, i] = False
            else:
                encoded[i] = classes

        gap = self.gap_bars
        filled = np.array([
            np.any(coverage[max(0, j - gap):min(total_bars, j + gap) + 1], axis=0)
            for j in range(total_bars)
        ]).reshape(total_bars, MAX_INSTRUMENT + 1)

        if not training:  # a part absent, or encoding to nothing, plays rests (class 0)
            rests = np.zeros(total_bars * steps_per_bar, np.int64)
            for kind in (MELODY, BASS, DRUMS):
                by_type[kind] = [i for i in by_type[kind] if i in encoded] or [_SILENT]
            encoded[_SILENT] = rests
        examples: list[np.ndarray] = []
        skipped: Counter = Counter()
        if total_bars < cfg.slice_bars:
            skipped["shorter than a window"] += 1
        for group in itertools.product(by_type[MELODY], by_type[BASS], by_type[DRUMS]):
            columns = [i for i in group if i != _SILENT]
            group_coverage = np.all(filled[:, columns], axis=1) & (len(columns) == 3)
            group_coverage[:gap] = np.any(filled[:gap, columns])
            group_coverage[-gap:] = np.any(filled[-gap:, columns])
            for j in range(total_bars - cfg.slice_bars + 1):
                covered = np.all(group_coverage[j:j + cfg.slice_bars]) and all(
                    i in encoded for i in group)
                if covered or not training:
                    start, end = j * steps_per_bar, (j + cfg.slice_bars) * steps_per_bar
                    examples.append(np.stack([encoded[i][start:end] for i in group], axis=-1))
                if not covered:
                    (skipped if training else kept)["window with a silent part"] += 1
        return examples, skipped, kept

    def _encode_melody(self, ns: NoteSequence) -> np.ndarray | None:
        """One instrument's melody or bass line over the whole part (None: no notes)."""
        cfg = self.config
        ns.notes = [n for n in ns.notes if cfg.min_pitch <= n.pitch <= cfg.max_pitch]
        qs = quantize(ns, cfg.steps_per_quarter)
        melodies, _ = melody.extract_melodies(qs, gap_bars=float("inf"), max_steps_truncate=None,
                                              ignore_polyphony=True)
        if not melodies:
            return None
        first = melodies[0]
        events = [melody.NO_EVENT] * first.start_step + first.events
        melody.set_length(events, qs.total_steps)
        return melody.encode_events(events, cfg.min_pitch)

    def _encode_drums(self, ns: NoteSequence) -> np.ndarray | None:
        """One drum instrument over the whole part (None: no known drum hits)."""
        qs = quantize(ns, self.config.steps_per_quarter)
        tracks, _ = drums.extract_drum_tracks(drums.to_drum_classes(qs), gap_bars=float("inf"),
                                              max_steps_truncate=None)
        if not tracks:
            return None
        events, start = tracks[0]
        events = [frozenset()] * start + events
        events = events[:qs.total_steps] + [frozenset()] * (qs.total_steps - len(events))
        return drums.encode_events(events)

    def to_sequence(self, classes: np.ndarray, qpm: float = 120.0) -> NoteSequence:
        """Decoded classes ``[T, 3]`` -> melody (instrument 0, program 0), bass (instrument 1,
        program 33) and drums (instrument 9), velocity 80."""
        classes = np.asarray(classes)
        spq, low = self.config.steps_per_quarter, self.config.min_pitch
        lead = melody.melody_notes(melody.decode_classes(classes[:, 0], low), spq, qpm)
        bass = melody.melody_notes(melody.decode_classes(classes[:, 1], low), spq, qpm,
                                   instrument=BASS_INSTRUMENT, program=ELECTRIC_BASS_PROGRAM)
        hits = drums.drum_notes(classes[:, 2], spq, qpm)
        total_time = steps_to_seconds(len(classes), spq, qpm)
        return NoteSequence(notes=lead + bass + hits, tempos=[Tempo(0.0, qpm)],
                            total_time=total_time, ticks_per_quarter=DEFAULT_TICKS_PER_QUARTER)

    def encoder_inputs(self, classes: np.ndarray) -> np.ndarray:
        """Classes ``[..., T, 3]`` -> float32 ``[..., T, 692]``: three one-hots side by side."""
        classes = np.asarray(classes)
        return np.concatenate(
            [one_hot(classes[..., k], depth) for k, depth in enumerate(PART_DEPTHS)], axis=-1)

    def decoder_targets(self, classes: np.ndarray) -> np.ndarray:
        return self.encoder_inputs(classes)
