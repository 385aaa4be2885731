"""A parsed music21 score -> our NoteSequence, every part a melody on its own instrument.

The rules (chosen so the converters see the piece as it is written):

* times are seconds at the piece's metronome marks, 120 qpm where it has none;
* tied notes become one note; grace notes are dropped (they take no time in the notation);
  chord symbols are annotations, not notes; a chord gives one note per pitch;
* an anacrusis keeps its place in the bar: a pickup measure's missing beats are added in
  front, so every bar line of the piece falls on a whole bar of the grid;
* time signatures are recorded where they stand, even ones the melody converters refuse
  (they skip such pieces and say so), and tempo changes likewise;
* repeats are expanded where music21 can (``expand_repeats``), else kept as written;
* program 0, as a MIDI file with no program change reads: notation names no GM program.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from latentjam.models.notesequence import (
    DEFAULT_QPM,
    Note,
    NoteSequence,
    Tempo,
    TimeSignature,
)
from music21 import bar, harmony, meter, repeat, spanner, stream, tempo
from music21.exceptions21 import Music21Exception

DEFAULT_VELOCITY = 80  # notation without dynamics; any velocity > 0 reads as a note
REPEATS_EXPANDED = "expanded"
REPEATS_AS_WRITTEN = "as written"  # music21 could not expand them
REPEATS_NONE = "none"


@dataclass(frozen=True)
class TempoMap:
    """Quarter-note offsets -> seconds, piecewise at each tempo change."""

    offsets: tuple[float, ...]  # quarters where each tempo starts; the first is 0
    qpms: tuple[float, ...]
    seconds: tuple[float, ...]  # seconds at each start

    @classmethod
    def from_marks(cls, marks: list[tuple[float, float]]) -> TempoMap:
        """``marks`` are (quarter offset, qpm); 120 qpm holds until the first one."""
        offsets, qpms, seconds = [0.0], [DEFAULT_QPM], [0.0]
        for offset, qpm in sorted(marks):
            if offset <= offsets[-1]:
                qpms[-1] = qpm  # a later mark at the same place wins
                continue
            seconds.append(seconds[-1] + (offset - offsets[-1]) * 60.0 / qpms[-1])
            offsets.append(offset)
            qpms.append(qpm)
        return cls(tuple(offsets), tuple(qpms), tuple(seconds))

    def to_seconds(self, quarters: float) -> float:
        i = bisect.bisect_right(self.offsets, quarters) - 1
        return self.seconds[i] + (quarters - self.offsets[i]) * 60.0 / self.qpms[i]

    def tempos(self) -> list[Tempo]:
        return [Tempo(s, q) for s, q in zip(self.seconds, self.qpms, strict=True)]


def has_repeats(score: stream.Score) -> bool:
    marks = score.recurse().getElementsByClass(
        (bar.Repeat, spanner.RepeatBracket, repeat.RepeatExpression))
    return marks.first() is not None


def expand_repeats(score: stream.Score) -> tuple[stream.Score, str]:
    """The score with repeats written out where music21 can, and which of the three it was."""
    if not has_repeats(score):
        return score, REPEATS_NONE
    try:
        return score.expandRepeats(), REPEATS_EXPANDED
    except (Music21Exception, IndexError, ValueError, AttributeError):
        # music21 refuses inconsistent repeat marks (an end without a start, say)
        return score, REPEATS_AS_WRITTEN


def anacrusis_quarters(part: stream.Part) -> float:
    """Beats missing from the part's first (pickup) measure, in quarter notes."""
    first = part.getElementsByClass(stream.Measure).first()
    return float(first.paddingLeft) if first is not None else 0.0


def _parts(score: stream.Score) -> list[stream.Stream]:
    parts = list(score.parts)
    return parts if parts else [score]


def _state_offset(offset: float, shift: float) -> float:
    # A time signature or tempo at the very start belongs to time 0, before the pickup.
    return 0.0 if offset <= 0 else offset + shift


def tempo_marks(score: stream.Score, shift: float) -> list[tuple[float, float]]:
    marks = []
    for mark in score.flatten().getElementsByClass(tempo.MetronomeMark):
        qpm = mark.getQuarterBPM()
        if qpm:
            marks.append((_state_offset(float(mark.offset), shift), float(qpm)))
    return marks


def time_signatures(part: stream.Stream, shift: float,
                    tempo_map: TempoMap) -> list[TimeSignature]:
    """Each change of metre where it stands (a restatement of the metre in force is not one).

    Read measure by measure: music21 may put one TimeSignature object in several measures
    (ABC re-barring does), and a flattened stream keeps only one offset for it.
    """
    placed = [(float(m.offset + m.elementOffset(ts)), ts)
              for m in part.getElementsByClass(stream.Measure)
              for ts in m.getElementsByClass(meter.TimeSignature)]
    if not placed:  # a part without measures
        placed = [(float(ts.offset), ts)
                  for ts in part.flatten().getElementsByClass(meter.TimeSignature)]
    out: list[TimeSignature] = []
    for offset, ts in sorted(placed, key=lambda item: item[0]):
        time = tempo_map.to_seconds(_state_offset(offset, shift))
        metre = (int(ts.numerator), int(ts.denominator))
        if out and (out[-1].numerator, out[-1].denominator) == metre:
            continue
        if out and out[-1].time == time:
            out.pop()  # two signatures at one place: the later one is the one in force
        out.append(TimeSignature(time, *metre))
    return out


def _part_notes(part_flat: stream.Stream, shift: float, tempo_map: TempoMap,
                instrument: int) -> list[Note]:
    notes = []
    for element in part_flat.notes:
        if isinstance(element, harmony.Harmony) or element.duration.isGrace:
            continue
        quarters = float(element.duration.quarterLength)
        if quarters <= 0:
            continue
        start = float(element.offset) + shift
        start_s = tempo_map.to_seconds(start)
        end_s = tempo_map.to_seconds(start + quarters)
        velocity = max(1, int(element.volume.velocity or DEFAULT_VELOCITY))
        for pitch in element.pitches:
            notes.append(Note(pitch=int(pitch.midi), velocity=velocity,
                              start_time=start_s, end_time=end_s, instrument=instrument))
    return notes


def score_to_notesequence(score: stream.Score, piece_id: str = "", collection: str = "",
                          filename: str = "") -> NoteSequence:
    """Every part of ``score`` (repeats already handled) as one instrument of a NoteSequence.

    Instrument ``i`` is the score's ``i``-th part; the pickup shift is read from the first
    part and applied to all (the parts of a score share their bar lines). Ties of ``score``
    are merged in place.
    """
    parts = _parts(score)
    shift = anacrusis_quarters(parts[0]) if isinstance(parts[0], stream.Part) else 0.0
    tempo_map = TempoMap.from_marks(tempo_marks(score, shift))
    for part in parts:
        # In place, as copying a score costs more than reading it; ``score`` is the caller's.
        part.stripTies(inPlace=True)
    flats = [part.flatten() for part in parts]
    notes: list[Note] = []
    for index, flat in enumerate(flats):
        notes.extend(_part_notes(flat, shift, tempo_map, instrument=index))
    notes.sort(key=lambda n: (n.start_time, n.instrument, -n.pitch))
    signatures = time_signatures(parts[0], shift, tempo_map)
    return NoteSequence(
        notes=notes,
        tempos=tempo_map.tempos(),
        time_signatures=signatures,
        total_time=max((n.end_time for n in notes), default=0.0),
        id=piece_id,
        filename=filename,
        collection_name=collection,
    )


__all__ = [
    "REPEATS_AS_WRITTEN", "REPEATS_EXPANDED", "REPEATS_NONE", "TempoMap", "anacrusis_quarters",
    "expand_repeats", "score_to_notesequence",
]
