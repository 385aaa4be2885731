"""The output thread's queue of pending events: a heap ordered by absolute deadline.

Events due at the same nanosecond go out in a fixed order of kinds, then in the order they
were pushed. Transport first, in the order a relocating master sends it: Stop, Song Position
Pointer, Start or Continue, then the clock pulse (so a Start is followed by the pulse it
counts from, and a Stop lands before the pulse it would otherwise count); then other system
messages; then note-offs, so that a note repeated on the same step is released before it is
struck again; then everything else.
"""

from __future__ import annotations

import heapq
from itertools import count

from latentjam.engine.events import ScheduledMessage
from latentjam.engine.note_tracker import is_note_off

_TRANSPORT_RANKS = {"stop": 0, "songpos": 1, "start": 2, "continue": 2, "clock": 3}
RANK_OTHER_SYSTEM, RANK_NOTE_OFF, RANK_OTHER = 4, 5, 6


def send_rank(message) -> int:
    """The order of a message among those due at the same instant (lower goes first)."""
    if not hasattr(message, "channel"):
        return _TRANSPORT_RANKS.get(message.type, RANK_OTHER_SYSTEM)
    if message.type in ("note_on", "note_off") and is_note_off(message):
        return RANK_NOTE_OFF
    return RANK_OTHER


class EventHeap:
    """Pending ``ScheduledMessage``s; not thread-safe (the output thread owns it)."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, int, ScheduledMessage]] = []
        self._pushed = count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, event: ScheduledMessage) -> None:
        key = (event.deadline_ns, send_rank(event.message), next(self._pushed))
        heapq.heappush(self._heap, (*key, event))

    def next_deadline_ns(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now_ns: int) -> list[ScheduledMessage]:
        """Remove and return, in sending order, every event due at or before ``now_ns``."""
        due = []
        while self._heap and self._heap[0][0] <= now_ns:
            due.append(heapq.heappop(self._heap)[-1])
        return due

    def clear(self) -> list[ScheduledMessage]:
        """Remove every pending event; returns them in sending order."""
        dropped = [entry[-1] for entry in sorted(self._heap)]
        self._heap.clear()
        return dropped
