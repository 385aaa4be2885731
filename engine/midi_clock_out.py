"""The MIDI clock the engine sends: which ticks carry a pulse, and the transport messages.

MIDI clock is 24 pulses (0xF8) per quarter note, one every ``TICKS_PER_CLOCK`` ticks, on the
beat grid from tick 0. Song Position Pointer counts MIDI beats, i.e. 16th notes (six pulses),
from the start of the song, in 14 bits; a receiver resumes from there on Continue.
"""

from __future__ import annotations

import mido
from latentjam.engine.transport import TICKS_PER_CLOCK, ticks_per_step

TICKS_PER_MIDI_BEAT = ticks_per_step(4)  # a 16th note: the unit of Song Position Pointer
MAX_SONG_POSITION = 2 ** 14 - 1


def clock_ticks(start_tick: int, end_tick: int) -> range:
    """The ticks in ``[start_tick, end_tick)`` that carry a clock pulse."""
    first = -(-start_tick // TICKS_PER_CLOCK) * TICKS_PER_CLOCK
    return range(first, end_tick, TICKS_PER_CLOCK)


def song_position(tick: int) -> mido.Message:
    """Song Position Pointer for ``tick``, rounded down to its 16th note (the message cannot
    say more) and clamped to the 14 bits it has (1,024 bars of 4/4)."""
    beats = min(max(tick // TICKS_PER_MIDI_BEAT, 0), MAX_SONG_POSITION)
    return mido.Message("songpos", pos=beats)


def song_position_tick(position: int) -> int:
    """The tick a received Song Position Pointer stands for."""
    return position * TICKS_PER_MIDI_BEAT
