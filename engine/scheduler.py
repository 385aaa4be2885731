"""The look-ahead scheduler's store: messages kept in musical time until they are due soon.

The performer prepares whole bars ahead of time as ``TimedMessage``s (ticks) with a
humanized offset in ns. They wait here, in ticks, and only when their deadline comes within
the look-ahead window are they turned into ``ScheduledMessage``s through the clock's
*current* timeline and handed to the output thread. So a tempo change, or a follower's
corrected estimate, moves every message not yet handed over, and the window stays short
(the output thread cannot move what it already holds).
"""

from __future__ import annotations

import heapq
from itertools import count

from latentjam.engine.events import ScheduledMessage, TimedMessage
from latentjam.engine.timeline import Timeline

# Humanized offsets are bounded (push ±100 ms, spread 2 sigma of at most 50 ms): a message
# whose grid time is further than this past the horizon cannot be due yet.
MAX_OFFSET_NS = 250_000_000


class LookaheadQueue:
    """Pending ``(TimedMessage, offset_ns)`` in tick order; not thread-safe (asyncio side)."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, TimedMessage, int]] = []
        self._pushed = count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, message: TimedMessage, offset_ns: int = 0) -> None:
        heapq.heappush(self._heap, (message.tick, next(self._pushed), message, offset_ns))

    def push_many(self, messages: list[tuple[TimedMessage, int]]) -> None:
        for message, offset in messages:
            self.push(message, offset)

    def pop_due(self, timeline: Timeline, horizon_ns: int) -> list[ScheduledMessage]:
        """Every message whose deadline under ``timeline`` is at or before ``horizon_ns``."""
        due: list[ScheduledMessage] = []
        kept: list[tuple[int, int, TimedMessage, int]] = []
        heap = self._heap
        while heap and timeline.ns_at(heap[0][0]) <= horizon_ns + MAX_OFFSET_NS:
            entry = heapq.heappop(heap)
            message, offset = entry[2], entry[3]
            deadline = timeline.ns_at(message.tick) + offset
            if deadline <= horizon_ns:
                due.append(ScheduledMessage(max(deadline, 0), message.message, message.port))
            else:
                kept.append(entry)
        for entry in kept:
            heapq.heappush(heap, entry)
        return due

    def clear(self) -> None:
        self._heap.clear()
