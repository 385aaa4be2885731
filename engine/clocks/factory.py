"""The clock section of a live set, and the clock source it asks for."""

from __future__ import annotations

from dataclasses import dataclass

from latentjam.engine.clocks.base import ClockSource
from latentjam.engine.clocks.internal import check_bpm
from latentjam.engine.errors import SettingError

SOURCES = ("internal", "midi", "link")


@dataclass(frozen=True)
class ClockConfig:
    source: str = "internal"  # internal (lead) | midi (follow a MIDI clock) | link
    bpm: float = 120.0  # internal; link: the tempo proposed to the session
    input_port: str | None = None  # midi: an existing input to follow; None: a virtual input
    quantum: int = 4  # link: start on a multiple of this many beats

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise SettingError(f"source must be one of {', '.join(SOURCES)}, got "
                               f"{self.source!r}")
        object.__setattr__(self, "bpm", check_bpm(self.bpm))
        if self.input_port is not None and (not isinstance(self.input_port, str)
                                            or not self.input_port):
            raise SettingError(f"input_port must be a port name, got {self.input_port!r}")
        if isinstance(self.quantum, bool) or not isinstance(self.quantum, int) \
                or not 1 <= self.quantum <= 16:
            raise SettingError(f"quantum must be 1..16 beats, got {self.quantum!r}")


def make_clock(config: ClockConfig, backend: str | None = None) -> ClockSource:
    """The clock source ``config`` asks for (not yet open)."""
    if config.source == "midi":
        from latentjam.engine.clocks.midi_follower import MidiClockFollower

        return MidiClockFollower(config.input_port, virtual=config.input_port is None,
                                 backend=backend)
    if config.source == "link":
        from latentjam.engine.clocks.link import LinkClock

        return LinkClock(config.bpm, quantum=config.quantum)
    from latentjam.engine.clocks.internal import InternalClock

    return InternalClock(config.bpm)
