"""The interface every clock source implements, and the transport events they report.

A clock source answers one question, "where does tick t sound?", with a ``Timeline`` (None
while the transport is stopped), and reports what happens to the transport as events on an
asyncio queue the performer reads. The MIDI clock the engine *sends* (0xF8 every 20 ticks,
Start, Stop, Continue, Song Position Pointer) is made by the scheduler from the timeline when
the engine leads; a follower reports each of its master's pulses (``Pulsed``) and the engine
forwards exactly those, at the tick the pulse plays, to the ports that want clock.

A source that leads (the internal master) obeys ``start``/``stop``/``set_tempo``; a follower
takes those from outside and answers them by logging why it cannot (``leads`` is False);
Link proposes a tempo to the session and starts at the next bar.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal, Protocol

from latentjam.engine.timeline import Timeline

ClockKind = Literal["internal", "midi", "link"]


@dataclass(frozen=True, slots=True)
class Started:
    """The transport runs from ``tick`` (0 for Start, the song position for Continue)."""

    tick: int
    resumed: bool = False  # True for Continue (MIDI 0xFB), False for Start (0xFA)


@dataclass(frozen=True, slots=True)
class Stopped:
    """The transport stopped after ``tick``."""

    tick: int


@dataclass(frozen=True, slots=True)
class Positioned:
    """Song Position Pointer while stopped: the next Continue resumes from ``tick``."""

    tick: int


@dataclass(frozen=True, slots=True)
class TempoChanged:
    bpm: float


@dataclass(frozen=True, slots=True)
class ClockLost:
    """A follower's ticks stopped arriving while playing: it free-runs at the last tempo."""

    bpm: float


@dataclass(frozen=True, slots=True)
class ClockRegained:
    """Ticks arrive again after ``ClockLost``."""


@dataclass(frozen=True, slots=True)
class Pulsed:
    """A follower's master sent the clock pulse that plays ``tick``: the engine forwards one
    pulse for each, so a device downstream counts exactly the master's pulses."""

    tick: int
    at_ns: int = 0  # when it arrived (on time.perf_counter_ns)


TransportEvent = (Started | Stopped | Positioned | TempoChanged | ClockLost | ClockRegained
                  | Pulsed)


class ClockSource(Protocol):
    """What the performer needs of a clock. All methods are called from the asyncio loop."""

    kind: ClockKind
    leads: bool  # True when the engine decides start, stop and tempo

    async def open(self, events: asyncio.Queue[TransportEvent]) -> None:
        """Begin listening (follower: open its input; Link: join the session); events go to
        ``events`` from now on. Raises ``EngineError`` (e.g. ``PortError``) when it cannot."""
        ...

    async def close(self) -> None:
        """Stop listening and release what ``open`` took. Idempotent."""
        ...

    def timeline(self) -> Timeline | None:
        """The current tick -> deadline mapping; None while the transport is stopped."""
        ...

    def start(self, resume: bool = False) -> None:
        """Ask the transport to start (from 0, or ``resume`` from where it stopped)."""
        ...

    def stop(self) -> None:
        """Ask the transport to stop."""
        ...

    def set_tempo(self, bpm: float, from_tick: int) -> None:
        """Ask for ``bpm`` from ``from_tick`` on (the first tick not yet handed to the
        output thread), so the change takes effect without a jump. ``SettingError`` for a
        tempo outside 20..300 BPM."""
        ...

    def status(self) -> str:
        """One word for displays: "stopped", "playing", "free-running", "waiting"."""
        ...
