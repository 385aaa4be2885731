"""One key for the parts that sound together: a loop's pitched notes moved (a few semitones,
all together, so a trio's parts stay together) to fit the key of the song. Pure.

A loop fits a key by the share of its pitched note time on the key's scale (natural major
or minor); the transposition chosen is the one from -5 to +6 semitones that fits best, the
smallest move first among equals. Drums are never moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from latentjam.engine.errors import SettingError
from latentjam.engine.loops import LoopNote

NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
SHIFTS = tuple(sorted(range(-5, 7), key=abs))  # the smallest move first


@dataclass(frozen=True)
class Key:
    tonic: int  # 0 = C .. 11 = B
    minor: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.tonic, bool) or not isinstance(self.tonic, int) \
                or not 0 <= self.tonic <= 11:
            raise SettingError(f"a key's tonic must be 0..11 (C..B), got {self.tonic!r}")
        if not isinstance(self.minor, bool):
            raise SettingError(f"minor must be true or false, got {self.minor!r}")

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.tonic + step) % 12 for step in (MINOR if self.minor else MAJOR))

    def __str__(self) -> str:
        return f"{NAMES[self.tonic]} {'minor' if self.minor else 'major'}"


def in_key_share(notes: Iterable[LoopNote], key: Key, shift: int = 0) -> float:
    """The share of the pitched notes' time on ``key``'s scale once moved by ``shift``
    (1.0 for a loop without pitched notes)."""
    scale, on, total = key.pitch_classes, 0, 0
    for note in notes:
        if note.is_drum:
            continue
        length = note.end_tick - note.start_tick
        total += length
        if (note.pitch + shift) % 12 in scale:
            on += length
    return on / total if total else 1.0


def best_shift(notes: Iterable[LoopNote], key: Key) -> tuple[int, float]:
    """(semitones, share in key) of the move that fits ``key`` best."""
    notes = list(notes)
    shares = [(in_key_share(notes, key, shift), -abs(shift), shift) for shift in SHIFTS]
    share, _, shift = max(shares)
    return shift, share


def transposed(notes: Iterable[LoopNote], shift: int) -> tuple[LoopNote, ...]:
    """The pitched notes moved by ``shift`` semitones (an octave back where that would leave
    MIDI's 0..127), the drums as they were."""
    out = []
    for note in notes:
        if note.is_drum or not shift:
            out.append(note)
            continue
        pitch = note.pitch + shift
        pitch += 12 if pitch < 0 else -12 if pitch > 127 else 0
        out.append(LoopNote(note.part, pitch, note.velocity, note.start_tick, note.end_tick,
                            note.is_drum, note.offset_ns))
    return tuple(out)
