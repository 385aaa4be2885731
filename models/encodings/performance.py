"""Performance events of one instrument, as note-seq's ``MetricPerformance`` has them.

A performance is a list of events on a metric step grid: ``NOTE_ON`` and ``NOTE_OFF`` of a
pitch, ``TIME_SHIFT`` of 1..``max_shift`` steps, and ``VELOCITY`` (a bin 1..``bins``, which
applies to the note-ons after it). Rules followed exactly, since one differing event changes
a token of the model:

* notes are read in order of (start time in seconds, pitch); their starts and ends are
  then merged in order of (step, position in that order, start before end);
* a velocity event comes before a note-on whose bin differs from the last one (so before the
  first note-on); bins are ``(velocity - 1) // ceil(127 / bins) + 1``, and a bin plays at
  the lowest velocity of its range;
* back to notes: a note-off ends the earliest sounding note of its pitch, a note that starts
  and ends on one step is dropped, notes still sounding at the end end there; before any
  velocity event notes play at velocity 100.

Tokens (``PerformanceEncoding``): note-ons of ``min_pitch..max_pitch``, then the note-offs,
then the time shifts 1..``max_shift``, then the velocity bins.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

NOTE_ON, NOTE_OFF, TIME_SHIFT, VELOCITY = 1, 2, 3, 4
DEFAULT_VELOCITY = 100  # velocity of notes before any velocity event (note-seq's default)
MAX_VELOCITY = 127

Event = tuple[int, int]  # (event type, value)


@dataclass(frozen=True)
class StepNote:
    """A note on the step grid; ``order`` breaks ties the way note-seq sorts (start time in
    seconds before quantizing, then pitch, then position in the piece)."""

    pitch: int
    velocity: int
    start_step: int
    end_step: int
    order: tuple = ()


def velocity_bin_size(bins: int) -> int:
    return math.ceil(MAX_VELOCITY / bins)


def velocity_to_bin(velocity: int, bins: int) -> int:
    return (velocity - 1) // velocity_bin_size(bins) + 1


def bin_to_velocity(velocity_bin: int, bins: int) -> int:
    return 1 + (velocity_bin - 1) * velocity_bin_size(bins)


def events_from_notes(notes: list[StepNote], max_shift: int, bins: int) -> list[Event]:
    """The performance of ``notes`` from step 0 (``bins`` 0: no velocity events)."""
    ordered = sorted(notes, key=lambda n: n.order)
    marks = sorted([(n.start_step, i, False) for i, n in enumerate(ordered)]
                   + [(n.end_step, i, True) for i, n in enumerate(ordered)])
    events: list[Event] = []
    step = 0
    current_bin = 0
    for at, index, is_off in marks:
        if at > step:
            while at > step + max_shift:
                events.append((TIME_SHIFT, max_shift))
                step += max_shift
            events.append((TIME_SHIFT, at - step))
            step = at
        note = ordered[index]
        if bins and not is_off:
            velocity_bin = velocity_to_bin(note.velocity, bins)
            if velocity_bin != current_bin:
                current_bin = velocity_bin
                events.append((VELOCITY, velocity_bin))
        events.append((NOTE_OFF if is_off else NOTE_ON, note.pitch))
    return events


def num_steps(events: list[Event]) -> int:
    return sum(value for kind, value in events if kind == TIME_SHIFT)


def set_length(events: list[Event], steps: int, max_shift: int) -> list[Event]:
    """``events`` padded with time shifts, or cut, to last exactly ``steps`` steps."""
    events = list(events)
    have = num_steps(events)
    if have < steps:
        missing = steps - have
        if events and events[-1][0] == TIME_SHIFT and events[-1][1] < max_shift:
            added = min(missing, max_shift - events[-1][1])
            events[-1] = (TIME_SHIFT, events[-1][1] + added)
            missing -= added
        while missing >= max_shift:
            events.append((TIME_SHIFT, max_shift))
            missing -= max_shift
        if missing > 0:
            events.append((TIME_SHIFT, missing))
    elif have > steps:
        excess, trimmed = have - steps, 0
        while events and trimmed < excess:
            kind, value = events[-1]
            if kind == TIME_SHIFT:
                if trimmed + value > excess:
                    events[-1] = (TIME_SHIFT, value - excess + trimmed)
                    trimmed = excess
                else:
                    trimmed += value
                    events.pop()
            else:
                events.pop()
    return events


def notes_from_events(events: list[Event], bins: int) -> list[StepNote]:
    """The notes a performance plays, in note-seq's order (as each ends, then the notes
    still sounding at the end, pitch by pitch in order of first mention)."""
    sounding: dict[int, list[tuple[int, int]]] = defaultdict(list)  # pitch -> (start, vel)
    notes: list[StepNote] = []
    step = 0
    velocity = DEFAULT_VELOCITY
    for kind, value in events:
        if kind == NOTE_ON:
            sounding[value].append((step, velocity))
        elif kind == NOTE_OFF:
            starts = sounding[value]
            if starts:
                start, start_velocity = starts.pop(0)
                if start != step:
                    notes.append(StepNote(value, start_velocity, start, step))
        elif kind == TIME_SHIFT:
            step += value
        elif kind == VELOCITY:
            velocity = bin_to_velocity(value, bins)
    for pitch, starts in sounding.items():
        for start, start_velocity in starts:
            if start != step:
                notes.append(StepNote(pitch, start_velocity, start, step))
    return notes


class PerformanceEncoding:
    """Events <-> token indices (note-seq's ``PerformanceOneHotEncoding``)."""

    def __init__(self, bins: int, max_shift: int, min_pitch: int = 0, max_pitch: int = 127):
        self.ranges = [(NOTE_ON, min_pitch, max_pitch), (NOTE_OFF, min_pitch, max_pitch),
                       (TIME_SHIFT, 1, max_shift)]
        if bins:
            self.ranges.append((VELOCITY, 1, bins))
        self.num_classes = sum(high - low + 1 for _, low, high in self.ranges)

    def encode(self, event: Event) -> int:
        offset = 0
        for kind, low, high in self.ranges:
            if event[0] == kind:
                return offset + event[1] - low
            offset += high - low + 1
        raise ValueError(f"unknown performance event {event}")

    def decode(self, token: int) -> Event:
        offset = 0
        for kind, low, high in self.ranges:
            if offset <= token <= offset + high - low:
                return kind, low + token - offset
            offset += high - low + 1
        raise ValueError(f"token {token} is not a performance event (0..{self.num_classes - 1})")
