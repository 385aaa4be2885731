"""What the output thread sends to: anything with ``send(message)``, such as a mido output
port, and ``MemorySink``, which records instead (tests, dry runs)."""

from __future__ import annotations

import threading
import time
from typing import Protocol

import mido


class MessageSink(Protocol):
    def send(self, message: mido.Message) -> None: ...


class MemorySink:
    """Records every message with the monotonic time it was sent (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[tuple[int, mido.Message]] = []

    def send(self, message: mido.Message) -> None:
        stamp = time.perf_counter_ns()
        with self._lock:
            self._received.append((stamp, message))

    @property
    def messages(self) -> list[mido.Message]:
        with self._lock:
            return [message for _, message in self._received]

    @property
    def timed_messages(self) -> list[tuple[int, mido.Message]]:
        with self._lock:
            return list(self._received)
