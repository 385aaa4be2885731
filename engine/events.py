"""Timed MIDI events: small frozen dataclasses, validated on creation.

``TimedMessage`` is a message at a musical time (ticks), as the performer makes them;
``ScheduledMessage`` is the same message at an absolute deadline on the output thread's
clock (nanoseconds), as the output thread sends them. Both hold an immutable mido message
and the key of the port it goes to (a name in the routing, not a MIDI system port name).
"""

from __future__ import annotations

from dataclasses import dataclass

import mido
from latentjam.engine.transport import TempoMap
from mido.frozen import FrozenMessage, freeze_message

DEFAULT_PORT = "default"


def _frozen(message: object) -> FrozenMessage:
    if not isinstance(message, mido.Message):
        raise TypeError(f"expected a mido.Message (not a meta message), got {message!r}")
    return message if isinstance(message, FrozenMessage) else freeze_message(message)


def _check_time(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def _check_port(port: object) -> None:
    if not isinstance(port, str) or not port:
        raise ValueError(f"port must be a non-empty port key, got {port!r}")


@dataclass(frozen=True, slots=True)
class TimedMessage:
    """A MIDI message at ``tick`` (ticks from the start of the performance)."""

    tick: int
    message: FrozenMessage
    port: str = DEFAULT_PORT

    def __post_init__(self) -> None:
        _check_time("tick", self.tick)
        object.__setattr__(self, "message", _frozen(self.message))
        _check_port(self.port)

    def scheduled(
        self, tempo_map: TempoMap, origin_ns: int, offset_ns: int = 0
    ) -> ScheduledMessage:
        """This message at its deadline: ``origin_ns`` (when tick 0 sounds, on the output
        thread's clock) plus the tempo map's time of the tick, moved by ``offset_ns``
        (humanized timing)."""
        deadline = origin_ns + tempo_map.ns_at(self.tick) + offset_ns
        return ScheduledMessage(max(deadline, 0), self.message, self.port)


@dataclass(frozen=True, slots=True)
class ScheduledMessage:
    """A MIDI message to send at ``deadline_ns`` on the output thread's monotonic clock."""

    deadline_ns: int
    message: FrozenMessage
    port: str = DEFAULT_PORT

    def __post_init__(self) -> None:
        _check_time("deadline_ns", self.deadline_ns)
        object.__setattr__(self, "message", _frozen(self.message))
        _check_port(self.port)
