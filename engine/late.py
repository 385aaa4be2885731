"""What to do with messages that come due long after their time (the process was stopped,
the machine stalled): pure rules, for the performer and the output thread.

A note-on or a clock pulse more than ``LATE_DROP_NS`` past its deadline is dropped: sent
late, a stall's backlog would go out as one burst (seconds of notes in a few milliseconds,
and a device downstream counting pulses would race ahead). Everything else — note-offs,
controllers, program changes, transport — goes out however late, so nothing is left
sounding and no receiver misses a Stop. A clock whose pulses were dropped is put back on its
grid with Stop, Song Position Pointer and Continue just before a pulse on a 16th note (the
only positions a Song Position Pointer can name), since MIDI receivers act on a position only
while stopped.
"""

from __future__ import annotations

from collections.abc import Iterable

import mido
from latentjam.engine.events import ScheduledMessage, TimedMessage
from latentjam.engine.midi_clock_out import TICKS_PER_MIDI_BEAT, song_position

LATE_DROP_NS = 50_000_000  # later than this, a note or a pulse is no longer in time


def is_note_start(message: mido.Message) -> bool:
    return message.type == "note_on" and message.velocity > 0


def is_droppable(message: mido.Message) -> bool:
    """A message that may be left out when late: a note's start or a clock pulse."""
    return message.type == "clock" or is_note_start(message)


def drop_late(due: Iterable[ScheduledMessage], now_ns: int,
              late_ns: int = LATE_DROP_NS) -> tuple[list[ScheduledMessage], int, int]:
    """``(to send, note-ons dropped, clock pulses dropped)`` of messages due by ``now_ns``."""
    kept: list[ScheduledMessage] = []
    notes = pulses = 0
    for event in due:
        if now_ns - event.deadline_ns > late_ns and is_droppable(event.message):
            if event.message.type == "clock":
                pulses += 1
            else:
                notes += 1
        else:
            kept.append(event)
    return kept, notes, pulses


def resync_tick(after_tick: int) -> int:
    """The first 16th-note tick after ``after_tick``: where a Song Position Pointer can put
    a receiver back on the grid."""
    return (after_tick // TICKS_PER_MIDI_BEAT + 1) * TICKS_PER_MIDI_BEAT


def resync_sequence(tick: int) -> list[mido.Message]:
    """Stop, Song Position Pointer and Continue, to send just before the pulse at ``tick`` (a
    16th note): the receiver stops, is told where, and plays on from that pulse."""
    return [mido.Message("stop"), song_position(tick), mido.Message("continue")]


def resync_messages(tick: int, port: str) -> list[TimedMessage]:
    """``resync_sequence`` one tick before the pulse at ``tick`` (> 0), for ``port``."""
    return [TimedMessage(tick - 1, message, port) for message in resync_sequence(tick)]
