"""Which notes are sounding, per (port, channel, note), so that nothing is left hanging.

The output thread shows the tracker every message it has sent; ``panic_messages()`` gives
the note-offs for every sounding note, then an all-notes-off (CC 123) for every channel
that has carried a channel message, port by port.
"""

from __future__ import annotations

from collections import Counter

import mido

ALL_NOTES_OFF = 123  # channel mode message: controller 123, value 0

NoteKey = tuple[str, int, int]  # (port key, channel 0-15, note 0-127)


def is_note_off(message: mido.Message) -> bool:
    return message.type == "note_off" or (message.type == "note_on" and message.velocity == 0)


class NoteTracker:
    """Counts note-ons not yet matched by a note-off; not thread-safe (one owner thread)."""

    def __init__(self) -> None:
        # A count, not a flag: a synth that stacks voices needs one note-off per note-on.
        self._sounding: Counter[NoteKey] = Counter()
        self._channels: dict[str, set[int]] = {}

    def observe(self, port: str, message: mido.Message) -> None:
        """Record a message that was sent on ``port``."""
        channel = getattr(message, "channel", None)
        if channel is None:
            return
        self._channels.setdefault(port, set()).add(channel)
        if message.type not in ("note_on", "note_off"):
            return
        key = (port, channel, message.note)
        if not is_note_off(message):
            self._sounding[key] += 1
        elif self._sounding[key] > 1:
            self._sounding[key] -= 1
        else:
            self._sounding.pop(key, None)

    def sounding(self) -> list[NoteKey]:
        """Every (port, channel, note) with a note-on not yet turned off, sorted."""
        return sorted(self._sounding)

    def pending_offs(self) -> list[tuple[str, mido.Message]]:
        """One note-off per unmatched note-on, as (port, message)."""
        return [
            (port, mido.Message("note_off", channel=channel, note=note, velocity=0))
            for (port, channel, note), count in sorted(self._sounding.items())
            for _ in range(count)
        ]

    def used_channels(self) -> list[tuple[str, int]]:
        """Every (port, channel) that has carried a channel message, sorted."""
        return sorted((port, ch) for port, channels in self._channels.items() for ch in channels)

    def panic_messages(self) -> list[tuple[str, mido.Message]]:
        """Note-offs for every sounding note, then CC 123 on every used channel."""
        all_off = [
            (port, mido.Message("control_change", channel=ch, control=ALL_NOTES_OFF, value=0))
            for port, ch in self.used_channels()
        ]
        return self.pending_offs() + all_off

    def clear(self) -> None:
        """Forget the sounding notes (after their note-offs went out); channels stay used."""
        self._sounding.clear()
