"""Loops in musical time: the notes a model decoded, as integer ticks, and their MIDI messages.

A ``Loop`` is a whole number of bars of ``LoopNote``s, ticks counted from the loop's start.
Everything here is pure: a window the model decoded (notes on its step grid) -> loop, and a
recorded loop back to steps; the first bars of a longer window, consecutive windows chained
into a longer loop, and the note-on/note-off messages of one bar at the performance tick
where that bar is played.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import mido
from latentjam.engine.errors import SettingError
from latentjam.engine.events import DEFAULT_PORT, TimedMessage
from latentjam.engine.transport import BEATS_PER_BAR, bars_to_ticks, ticks_per_step
from latentjam.models.service import BASS, DRUMS, MELODY, StepLoop, StepNote


@dataclass(frozen=True, slots=True)
class LoopNote:
    """One note of a loop; ticks from the loop's start (or, once placed, the performance's)."""

    part: str  # which voice of the track it belongs to ("melody", "bass", "drums")
    pitch: int  # MIDI note 0..127
    velocity: int  # 1..127
    start_tick: int  # >= 0
    end_tick: int  # > start_tick
    is_drum: bool = False
    offset_ns: int = 0  # humanized timing, added to both messages' deadlines at the output

    def __post_init__(self) -> None:
        if not isinstance(self.part, str) or not self.part:
            raise SettingError(f"a note's part must be a non-empty name, got {self.part!r}")
        for name, low, high in (("pitch", 0, 127), ("velocity", 1, 127)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise SettingError(f"note {name} must be an int in {low}..{high}, got {value!r}")
        for name in ("start_tick", "end_tick", "offset_ns"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise SettingError(f"note {name} must be an int, got {value!r}")
        if self.start_tick < 0 or self.end_tick <= self.start_tick:
            raise SettingError(f"a note must start at tick >= 0 and end after it starts, got "
                               f"{self.start_tick}..{self.end_tick}")

    def shifted(self, ticks: int) -> LoopNote:
        return LoopNote(self.part, self.pitch, self.velocity, self.start_tick + ticks,
                        self.end_tick + ticks, self.is_drum, self.offset_ns)


def _note_order(note: LoopNote) -> tuple[int, str, int, int]:
    return note.start_tick, note.part, note.pitch, note.end_tick


@dataclass(frozen=True, slots=True)
class Loop:
    """``bars`` bars of notes, each starting inside the loop and ending by its end."""

    notes: tuple[LoopNote, ...]  # sorted by start tick, then part and pitch
    bars: int
    beats_per_bar: int = BEATS_PER_BAR
    programs: tuple[tuple[str, int], ...] = ()  # (part, program) the model chose, if it did

    def __post_init__(self) -> None:
        for name in ("bars", "beats_per_bar"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SettingError(f"a loop's {name} must be a positive int, got {value!r}")
        notes = tuple(sorted(self.notes, key=_note_order))
        for note in notes:
            if not isinstance(note, LoopNote):
                raise SettingError(f"a loop holds LoopNotes, got {note!r}")
            if note.end_tick > self.length_ticks:
                raise SettingError(f"note {note} ends after the loop's {self.bars} bars "
                                   f"({self.length_ticks} ticks)")
        object.__setattr__(self, "notes", notes)

    @property
    def bar_ticks(self) -> int:
        return bars_to_ticks(1, self.beats_per_bar)

    @property
    def length_ticks(self) -> int:
        return bars_to_ticks(self.bars, self.beats_per_bar)

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(sorted({note.part for note in self.notes}))


# -- the model's step grid <-> loops in ticks -----------------------------------------------


def loop_from_steps(window: StepLoop, steps_per_quarter: int) -> Loop:
    """A loop from one window the model decoded (notes on its step grid)."""
    step_ticks = ticks_per_step(steps_per_quarter)
    steps_per_bar = steps_per_quarter * BEATS_PER_BAR  # Magenta's windows are 4/4
    if window.steps < steps_per_bar or window.steps % steps_per_bar:
        raise SettingError(f"a decoded window must cover whole bars of {steps_per_bar} steps, "
                           f"got {window.steps} steps")
    notes = tuple(LoopNote(n.part, n.pitch, n.velocity, n.start_step * step_ticks,
                           n.end_step * step_ticks, n.is_drum) for n in window.notes)
    programs = {}
    for note in window.notes:
        programs.setdefault(note.part, note.program)
    return Loop(notes, window.steps // steps_per_bar, programs=tuple(sorted(programs.items())))


def steps_of(loop: Loop, steps_per_quarter: int) -> StepLoop:
    """A loop on the grid (a recording: every note on a step) as the model's step notes."""
    step_ticks = ticks_per_step(steps_per_quarter)
    notes = []
    for note in loop.notes:
        if note.start_tick % step_ticks or note.end_tick % step_ticks:
            raise SettingError(f"note {note} lies off the {step_ticks}-tick step grid")
        notes.append(StepNote(note.part, note.pitch, note.velocity,
                              note.start_tick // step_ticks, note.end_tick // step_ticks,
                              note.is_drum))
    return StepLoop(tuple(notes), loop.length_ticks // step_ticks)


# -- shaping loops ---------------------------------------------------------------------------


def first_bars(loop: Loop, bars: int) -> Loop:
    """The first ``bars`` bars of ``loop``; a note held over the cut stops there."""
    if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= loop.bars:
        raise SettingError(f"bars must be 1..{loop.bars} for a {loop.bars}-bar loop, "
                           f"got {bars!r}")
    cut = bars_to_ticks(bars, loop.beats_per_bar)
    kept = tuple(
        note if note.end_tick <= cut else LoopNote(note.part, note.pitch, note.velocity,
                                                   note.start_tick, cut, note.is_drum,
                                                   note.offset_ns)
        for note in loop.notes if note.start_tick < cut)
    return Loop(kept, bars, loop.beats_per_bar, loop.programs)


def chain(loops: Sequence[Loop]) -> Loop:
    """Consecutive windows played one after the other, as one loop."""
    if not loops:
        raise SettingError("chain needs at least one loop")
    meters = {loop.beats_per_bar for loop in loops}
    if len(meters) > 1:
        raise SettingError(f"loops to chain must share one meter, got beats per bar "
                           f"{sorted(meters)}")
    notes: list[LoopNote] = []
    programs: dict[str, int] = {}
    start = 0
    for loop in loops:
        notes.extend(note.shifted(start) for note in loop.notes)
        start += loop.length_ticks
        for part, program in loop.programs:
            programs.setdefault(part, program)
    return Loop(tuple(notes), sum(loop.bars for loop in loops), loops[0].beats_per_bar,
                tuple(sorted(programs.items())))


def bar_notes(loop: Loop, bar: int, at_tick: int = 0) -> tuple[LoopNote, ...]:
    """The notes that start in ``bar`` (0-based) of ``loop``, moved so the bar begins at
    ``at_tick``; a note held over the bar line keeps its length."""
    if isinstance(bar, bool) or not isinstance(bar, int) or not 0 <= bar < loop.bars:
        raise SettingError(f"bar must be 0..{loop.bars - 1} for a {loop.bars}-bar loop, "
                           f"got {bar!r}")
    begin = bar * loop.bar_ticks
    end = begin + loop.bar_ticks
    return tuple(note.shifted(at_tick - begin) for note in loop.notes
                 if begin <= note.start_tick < end)


# -- notes -> MIDI messages ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """Where a part's notes go: a port key of the routing and a MIDI channel."""

    channel: int  # 0..15 as mido numbers them (General MIDI drums: 9, "channel 10")
    port: str = DEFAULT_PORT

    def __post_init__(self) -> None:
        if isinstance(self.channel, bool) or not isinstance(self.channel, int) \
                or not 0 <= self.channel <= 15:
            raise SettingError(f"channel must be an int in 0..15, got {self.channel!r}")
        if not isinstance(self.port, str) or not self.port:
            raise SettingError(f"port must be a non-empty port key, got {self.port!r}")


DEFAULT_ROUTES: Mapping[str, Route] = {MELODY: Route(0), BASS: Route(1), DRUMS: Route(9)}


def note_messages(notes: Iterable[LoopNote], routes: Mapping[str, Route] = DEFAULT_ROUTES
                  ) -> list[tuple[TimedMessage, int]]:
    """Each note's note-on and note-off, paired with the note's timing offset in ns (for
    ``TimedMessage.scheduled``), in time order; ``routes`` maps every part to a channel."""
    out: list[tuple[int, int, int, TimedMessage]] = []
    for note in notes:
        route = routes.get(note.part)
        if route is None:
            raise SettingError(f"no route for part {note.part!r} (routed: "
                               f"{', '.join(sorted(routes)) or 'none'})")
        on = mido.Message("note_on", channel=route.channel, note=note.pitch,
                          velocity=note.velocity)
        off = mido.Message("note_off", channel=route.channel, note=note.pitch, velocity=0)
        # Same instant: note-offs first, so a repeated note is released before it is struck.
        out.append((note.start_tick, note.offset_ns, 1, TimedMessage(note.start_tick, on,
                                                                        route.port)))
        out.append((note.end_tick, note.offset_ns, 0, TimedMessage(note.end_tick, off,
                                                                      route.port)))
    out.sort(key=lambda entry: entry[:3])
    return [(message, offset) for _, offset, _, message in out]


def bar_messages(loop: Loop, bar: int, at_tick: int,
                 routes: Mapping[str, Route] = DEFAULT_ROUTES) -> list[TimedMessage]:
    """The grid's messages (no humanization) for ``bar`` of ``loop`` played from ``at_tick``."""
    return [message for message, _ in note_messages(bar_notes(loop, bar, at_tick), routes)]



# -- a summary for a controller's piano roll ------------------------------------------------

ROLL_NOTES = 256  # notes a summary keeps (an 8-bar drum loop may hold more: its first 256)
ROLL_STEPS_PER_BAR = 16  # the summary's grid: 16th notes


def roll(loop: Loop, limit: int = ROLL_NOTES) -> tuple[int, ...]:
    """A loop as a controller draws it: ``(steps, start, length, pitch, start, length, pitch,
    ...)`` on a grid of 16th notes (``steps`` the loop's length; a note at least one step
    long), its first ``limit`` notes. Flat ints, so that it is one OSC message as well as a
    JSON list."""
    per_step = max(loop.bar_ticks // ROLL_STEPS_PER_BAR, 1)
    out = [loop.length_ticks // per_step]
    for note in loop.notes[:limit]:
        start = note.start_tick // per_step
        out += (start, max(note.end_tick // per_step - start, 1), note.pitch)
    return tuple(out)
