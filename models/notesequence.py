"""NoteSequence: the piece of music that converters read and write.

A plain-data mirror of the fields of note-seq's ``NoteSequence`` proto that MusicVAE uses
(times in seconds, as in the proto). ``notesequence_proto`` turns it into the proto's wire
bytes and back, so Magenta's TFRecords are read and written without note-seq or protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_QPM = 120.0
DEFAULT_TICKS_PER_QUARTER = 220  # note-seq's STANDARD_PPQ


@dataclass(frozen=True)
class Note:
    pitch: int  # MIDI pitch 0..127
    velocity: int  # 1..127
    start_time: float  # seconds
    end_time: float  # seconds
    instrument: int = 0  # note-seq's instrument index (a track/program/channel group)
    program: int = 0  # General MIDI program 0..127
    is_drum: bool = False


@dataclass(frozen=True)
class Tempo:
    time: float  # seconds
    qpm: float  # quarter notes per minute


@dataclass(frozen=True)
class TimeSignature:
    time: float  # seconds
    numerator: int = 4
    denominator: int = 4


@dataclass
class NoteSequence:
    notes: list[Note] = field(default_factory=list)
    tempos: list[Tempo] = field(default_factory=list)
    time_signatures: list[TimeSignature] = field(default_factory=list)
    total_time: float = 0.0  # seconds; end of the last note unless set longer
    ticks_per_quarter: int = DEFAULT_TICKS_PER_QUARTER
    id: str = ""
    filename: str = ""
    collection_name: str = ""

    @property
    def qpm(self) -> float:
        """Tempo at time 0 (the default when the piece names none)."""
        return self.tempos[0].qpm if self.tempos else DEFAULT_QPM
