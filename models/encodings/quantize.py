"""Quantizing a NoteSequence to steps, and splitting it where tempo or metre changes.

Pure functions that follow note-seq's ``sequences_lib`` rules exactly, since every
converter starts from them and a one-step difference changes the examples:

* ``split_on_time_changes``: Magenta's converters first cut a piece at every real tempo or
  time-signature change; each part starts at time 0, keeps the tempo and metre in force
  there, and its ``total_time`` becomes the end of its last note.
* ``quantize``: a time t becomes step ``int(t * steps_per_second + 0.5)``; a note that would
  last zero steps lasts one; a part with more than one tempo or metre is refused (after the
  split it never has), a non power-of-two denominator or negative time too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from latentjam.models.errors import ModelError
from latentjam.models.notesequence import DEFAULT_QPM, NoteSequence, Tempo, TimeSignature

_QUANTIZE_CUTOFF = 0.5  # a time rounds up to a step once past half of the step before it


class QuantizeError(ModelError):
    """A piece that cannot be put on a grid; ``reason`` is the short skip reason."""

    reason = "cannot quantize"


class BadTimeSignatureError(QuantizeError):
    reason = "bad time signature"


class MultipleTimeSignatureError(QuantizeError):
    reason = "time signature change"


class MultipleTempoError(QuantizeError):
    reason = "tempo change"


class NegativeTimeError(QuantizeError):
    reason = "negative time"


@dataclass(frozen=True)
class QuantizedNote:
    pitch: int
    velocity: int
    start_step: int
    end_step: int  # exclusive; always > start_step
    instrument: int = 0
    program: int = 0
    is_drum: bool = False


@dataclass(frozen=True)
class QuantizedSequence:
    notes: tuple[QuantizedNote, ...]
    total_steps: int
    steps_per_quarter: int
    qpm: float
    numerator: int = 4
    denominator: int = 4

    @property
    def steps_per_bar(self) -> float:
        """Steps in one bar of the piece's metre (not always a whole number)."""
        return self.steps_per_quarter * (4.0 / self.denominator) * self.numerator


def steps_per_second(steps_per_quarter: int, qpm: float) -> float:
    return steps_per_quarter * qpm / 60.0


def quantize_time(seconds: float, steps_per_sec: float) -> int:
    return int(seconds * steps_per_sec + (1 - _QUANTIZE_CUTOFF))


def _is_power_of_2(x: int) -> bool:
    return x > 0 and not x & (x - 1)


def quantize(ns: NoteSequence, steps_per_quarter: int) -> QuantizedSequence:
    """``ns`` on a grid of ``steps_per_quarter`` steps per quarter note.

    Raises a QuantizeError subclass for a tempo or metre change, a bad time signature or a
    negative time (note-seq's ``quantize_note_sequence`` rules, quirks included: later
    changes are compared with the first one *as listed*).
    """
    numerator, denominator = 4, 4
    if ns.time_signatures:
        ordered = sorted(ns.time_signatures, key=lambda ts: ts.time)
        first = ordered[0]
        if first.time != 0 and not (first.numerator == 4 and first.denominator == 4):
            raise MultipleTimeSignatureError(
                f"implicit change from 4/4 to {first.numerator}/{first.denominator} "
                f"at {first.time:.2f} s"
            )
        listed = ns.time_signatures[0]
        for ts in ordered[1:]:
            if (ts.numerator, ts.denominator) != (listed.numerator, listed.denominator):
                raise MultipleTimeSignatureError(
                    f"time signature changes to {ts.numerator}/{ts.denominator} "
                    f"at {ts.time:.2f} s"
                )
        numerator, denominator = listed.numerator, listed.denominator
    if not _is_power_of_2(denominator):
        raise BadTimeSignatureError(f"denominator {denominator} is not a power of 2")
    if numerator == 0:
        raise BadTimeSignatureError("numerator is 0")

    qpm = DEFAULT_QPM
    if ns.tempos:
        ordered_tempos = sorted(ns.tempos, key=lambda t: t.time)
        if ordered_tempos[0].time != 0 and ordered_tempos[0].qpm != DEFAULT_QPM:
            raise MultipleTempoError(
                f"implicit tempo change from {DEFAULT_QPM} to {ordered_tempos[0].qpm} qpm"
            )
        qpm = ns.tempos[0].qpm
        for tempo in ordered_tempos[1:]:
            if tempo.qpm != qpm:
                raise MultipleTempoError(
                    f"tempo changes from {qpm} to {tempo.qpm} qpm at {tempo.time:.2f} s"
                )

    sps = steps_per_second(steps_per_quarter, qpm)
    total_steps = quantize_time(ns.total_time, sps)
    notes = []
    for note in ns.notes:
        start = quantize_time(note.start_time, sps)
        end = quantize_time(note.end_time, sps)
        if end == start:
            end += 1
        if start < 0 or end < 0:
            raise NegativeTimeError(f"note at {note.start_time} s starts or ends before 0")
        total_steps = max(total_steps, end)
        notes.append(QuantizedNote(note.pitch, note.velocity, start, end, note.instrument,
                                   note.program, note.is_drum))
    return QuantizedSequence(tuple(notes), total_steps, steps_per_quarter, qpm,
                             numerator, denominator)


def split_on_time_changes(ns: NoteSequence, keep_length: bool = False) -> list[NoteSequence]:
    """``ns`` cut at each real tempo or time-signature change, each part from time 0.

    A part ends with its last note, as Magenta's do; with ``keep_length`` it lasts up to the
    next change (the last part: to ``total_time``), so a clip's closing rests stay in it.
    An empty piece (``total_time`` 0) gives no parts at all.
    """
    changes: list[Tempo | TimeSignature] = sorted(
        [*ns.time_signatures, *ns.tempos], key=lambda change: change.time
    )
    metre, qpm = (4, 4), DEFAULT_QPM
    split_times = [0.0]
    for change in changes:
        if change.time >= ns.total_time:
            continue
        if isinstance(change, TimeSignature):
            if (change.numerator, change.denominator) == metre:
                continue
        elif change.qpm == qpm:
            continue
        if change.time > split_times[-1]:
            split_times.append(change.time)
        if isinstance(change, TimeSignature):
            metre = (change.numerator, change.denominator)
        else:
            qpm = change.qpm
    if ns.total_time > split_times[-1]:
        split_times.append(ns.total_time)
    if len(split_times) < 2:
        return []
    parts = _extract_parts(ns, split_times)
    if keep_length:
        for part, start, end in zip(parts, split_times, split_times[1:], strict=False):
            part.total_time = max(part.total_time, end - start)
    return parts


def _extract_parts(ns: NoteSequence, split_times: list[float]) -> list[NoteSequence]:
    count = len(split_times) - 1
    parts = [
        NoteSequence(ticks_per_quarter=ns.ticks_per_quarter, id=ns.id, filename=ns.filename,
                     collection_name=ns.collection_name)
        for _ in range(count)
    ]
    index = -1
    for note in sorted(ns.notes, key=lambda n: n.start_time):
        if note.start_time < split_times[0]:
            continue
        while index < count and note.start_time >= split_times[index + 1]:
            index += 1
        if index == count:
            break
        offset = split_times[index]
        end = min(note.end_time, split_times[index + 1]) - offset
        part = parts[index]
        part.notes.append(dataclasses.replace(note, start_time=note.start_time - offset,
                                              end_time=end))
        part.total_time = max(part.total_time, end)
    for events, name in ((ns.time_signatures, "time_signatures"), (ns.tempos, "tempos")):
        for part, kept in zip(parts, _distribute_state_events(events, split_times),
                              strict=True):
            setattr(part, name, kept)
    return parts


def _distribute_state_events(events, split_times: list[float]) -> list[list]:
    """Tempos or time signatures per part; each part also starts with the one in force."""
    count = len(split_times) - 1
    containers: list[list] = [[] for _ in range(count)]
    previous = None
    index = -1
    for event in sorted(events, key=lambda e: e.time):
        if event.time <= split_times[0]:
            previous = event
            continue
        while index < count and event.time > split_times[index + 1]:
            index += 1
            if index == count:
                break
            if previous is not None:
                containers[index].append(dataclasses.replace(previous, time=0.0))
        if index == count:
            break
        if event.time < split_times[index + 1]:
            containers[index].append(
                dataclasses.replace(event, time=event.time - split_times[index]))
        previous = event
    while index < count - 1:
        index += 1
        if previous is not None:
            containers[index].append(dataclasses.replace(previous, time=0.0))
    return containers
