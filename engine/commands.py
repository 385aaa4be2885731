"""What a controller (OSC, MIDI CC, the CLI) may ask of a running engine, as plain data.

Each command is a frozen dataclass, validated on creation (``SettingError`` naming the field
and value), handed to ``Performer.command``. Transport commands act at once; track commands
take effect at the track's next bar or loop boundary (the performer says which). A command
naming a track the set does not have is refused by the performer with ``SettingError``.
Controllers read the engine's state back through ``engine_state.EngineState``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

from latentjam.engine.blend import BLEND_PATHS
from latentjam.engine.errors import SettingError
from latentjam.engine.humanize import HumanizeParams
from latentjam.models.service import MAX_TEMPERATURE

Mode = Literal["sample", "walk", "interpolate", "hold", "blend", "grid"]
MODES: tuple[str, ...] = ("sample", "walk", "interpolate", "hold", "blend", "grid")
LOOP_BARS: tuple[int, ...] = (1, 2, 4, 8, 16)
MIN_BPM, MAX_BPM = 20.0, 300.0
ANCHOR_SLOTS = 8  # latent vectors a track keeps (walk anchors, interpolation ends, corners)
GRID_SIZES = range(2, 17)  # cells a side of a grid track's square
HUMANIZE_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(HumanizeParams) if f.name != "drum_accents")


def check_temperature(value: object) -> float:
    """The decoder's softmax temperature, in the one range every door into the engine takes."""
    return _number("temperature", value, 0.0, MAX_TEMPERATURE)


def _number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or not low <= value <= high:
        raise SettingError(f"{name} must be a number in {low:g}..{high:g}, got {value!r}")
    return float(value)


def _integer(name: str, value: object, allowed: tuple[int, ...] | range) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        shown = f"{allowed.start}..{allowed.stop - 1}" if isinstance(allowed, range) \
            else ", ".join(map(str, allowed))
        raise SettingError(f"{name} must be one of {shown}, got {value!r}")
    return value


def _track(value: object) -> None:
    if not isinstance(value, str) or not value:
        raise SettingError(f"track must be a track's name, got {value!r}")


# -- transport (act at once) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Play:
    """Start from the top (or, with ``resume``, from where the transport stopped)."""

    resume: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.resume, bool):
            raise SettingError(f"resume must be true or false, got {self.resume!r}")


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop the transport; every sounding note is released."""


@dataclass(frozen=True, slots=True)
class SetTempo:
    bpm: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "bpm", _number("bpm", self.bpm, MIN_BPM, MAX_BPM))


@dataclass(frozen=True, slots=True)
class Panic:
    """Release every note now (all-notes-off on every channel used); the transport runs on."""


# -- per track (act at the next boundary) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetMode:
    track: str
    mode: str  # one of MODES

    def __post_init__(self) -> None:
        _track(self.track)
        if self.mode not in MODES:
            raise SettingError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")


@dataclass(frozen=True, slots=True)
class SetTemperature:
    track: str
    temperature: float  # 0 plays the likeliest class at each step

    def __post_init__(self) -> None:
        _track(self.track)
        object.__setattr__(self, "temperature",
                           check_temperature(self.temperature))


@dataclass(frozen=True, slots=True)
class SetWalkStep:
    track: str
    step: float  # 0 stays, 1 is a fresh sample each loop

    def __post_init__(self) -> None:
        _track(self.track)
        object.__setattr__(self, "step", _number("step", self.step, 0.0, 1.0))


@dataclass(frozen=True, slots=True)
class SetLoopBars:
    track: str
    bars: int  # one of LOOP_BARS

    def __post_init__(self) -> None:
        _track(self.track)
        _integer("bars", self.bars, LOOP_BARS)


@dataclass(frozen=True, slots=True)
class SetEvery:
    """In sample and walk modes, a new loop every ``loops`` repeats of the current one."""

    track: str
    loops: int

    def __post_init__(self) -> None:
        _track(self.track)
        _integer("loops", self.loops, range(1, 65))


@dataclass(frozen=True, slots=True)
class SaveAnchor:
    """Keep the latent vector of the loop playing now in ``slot``."""

    track: str
    slot: int

    def __post_init__(self) -> None:
        _track(self.track)
        _integer("slot", self.slot, range(ANCHOR_SLOTS))


@dataclass(frozen=True, slots=True)
class LoadAnchor:
    """Encode the first window of a MIDI file into ``slot``."""

    track: str
    slot: int
    path: str

    def __post_init__(self) -> None:
        _track(self.track)
        _integer("slot", self.slot, range(ANCHOR_SLOTS))
        if not isinstance(self.path, str) or not self.path:
            raise SettingError(f"path must name a MIDI file, got {self.path!r}")


@dataclass(frozen=True, slots=True)
class RecordAnchor:
    """Record what is played into the set's MIDI input for ``bars`` bars from the next bar
    line, and encode it into ``slot`` (a take shorter than the model's window is repeated to
    fill it)."""

    track: str
    slot: int
    bars: int = 2  # one of LOOP_BARS

    def __post_init__(self) -> None:
        _track(self.track)
        _integer("slot", self.slot, range(ANCHOR_SLOTS))
        _integer("bars", self.bars, LOOP_BARS)


@dataclass(frozen=True, slots=True)
class Interpolate:
    """Go from the loop in slot ``start`` to the one in slot ``end`` in ``steps`` loops,
    then hold ``end`` (mode becomes "interpolate")."""

    track: str
    start: int
    end: int
    steps: int = 8

    def __post_init__(self) -> None:
        _track(self.track)
        _integer("start", self.start, range(ANCHOR_SLOTS))
        _integer("end", self.end, range(ANCHOR_SLOTS))
        _integer("steps", self.steps, range(2, 65))


@dataclass(frozen=True, slots=True)
class Mute:
    track: str
    on: bool = True

    def __post_init__(self) -> None:
        _track(self.track)
        if not isinstance(self.on, bool):
            raise SettingError(f"mute takes true or false, got {self.on!r}")


@dataclass(frozen=True, slots=True)
class Solo:
    track: str
    on: bool = True

    def __post_init__(self) -> None:
        _track(self.track)
        if not isinstance(self.on, bool):
            raise SettingError(f"solo takes true or false, got {self.on!r}")


@dataclass(frozen=True, slots=True)
class SetHumanize:
    """One humanize amount of a track (a field of ``HumanizeParams``), checked against the
    same limits as the config's."""

    track: str
    field: str  # one of HUMANIZE_FIELDS
    value: float

    def __post_init__(self) -> None:
        _track(self.track)
        if self.field not in HUMANIZE_FIELDS:
            raise SettingError(f"humanize field must be one of {', '.join(HUMANIZE_FIELDS)}, "
                               f"got {self.field!r}")
        kind = type(getattr(HumanizeParams(), self.field))
        value = self.value
        if kind is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        try:
            HumanizeParams(**{self.field: value})
        except SettingError:
            raise  # HumanizeParams names the field itself
        except (TypeError, ValueError) as err:
            raise SettingError(f"humanize {self.field}: {err}") from None
        object.__setattr__(self, "value", value)


@dataclass(frozen=True, slots=True)
class SetBlend:
    """Where a blend or grid track stands between its corners: (x, y) of the unit square,
    there at the next loop (``loops`` 0) or along a line over ``loops`` loops; it stays there
    (path "still")."""

    track: str
    x: float
    y: float
    loops: int = 0

    def __post_init__(self) -> None:
        _track(self.track)
        for name in ("x", "y"):
            object.__setattr__(self, name, _number(name, getattr(self, name), 0.0, 1.0))
        _integer("loops", self.loops, range(0, 65))


@dataclass(frozen=True, slots=True)
class SetBlendPath:
    """How a blend or grid track's point moves from loop to loop (``engine.blend``)."""

    track: str
    path: str  # one of BLEND_PATHS

    def __post_init__(self) -> None:
        _track(self.track)
        if self.path not in BLEND_PATHS:
            raise SettingError(f"blend path must be one of {', '.join(BLEND_PATHS)}, got "
                               f"{self.path!r}")


@dataclass(frozen=True, slots=True)
class SetBlendSpeed:
    """How far the point moves a loop: circle turns, or a walk's step (the square is 1)."""

    track: str
    speed: float

    def __post_init__(self) -> None:
        _track(self.track)
        object.__setattr__(self, "speed", _number("speed", self.speed, 0.0, 1.0))


@dataclass(frozen=True, slots=True)
class SetGridCell:
    """Queue a cell of a grid track (row from the corners 0-1 edge, column from 0-2): it
    plays from the next loop, and the point stays there."""

    track: str
    row: int
    column: int

    def __post_init__(self) -> None:
        _track(self.track)
        _integer("row", self.row, range(GRID_SIZES.stop - 1))
        _integer("column", self.column, range(GRID_SIZES.stop - 1))


@dataclass(frozen=True, slots=True)
class SetKey:
    """The key a track's pitched loops are moved into (``engine.harmony``): tonic 0..11
    (C..B), major or minor; tonic None: loops play as the model wrote them."""

    track: str
    tonic: int | None
    minor: bool = False

    def __post_init__(self) -> None:
        _track(self.track)
        if self.tonic is not None:
            _integer("tonic", self.tonic, range(12))
        if not isinstance(self.minor, bool):
            raise SettingError(f"minor must be true or false, got {self.minor!r}")


@dataclass(frozen=True, slots=True)
class SetDensity:
    """The notes a bar a track's new loops keep within (a loop outside is asked again);
    ``low`` None: any."""

    track: str
    low: float | None
    high: float = 64.0

    def __post_init__(self) -> None:
        _track(self.track)
        if self.low is not None:
            object.__setattr__(self, "low", _number("low", self.low, 0.0, 64.0))
            object.__setattr__(self, "high", _number("high", self.high, self.low, 64.0))


GROOVE_FIELDS = ("amount", "timing", "velocity")


@dataclass(frozen=True, slots=True)
class SetGroove:
    """How much of a track's groove template is laid on (percent): all of it, its timing,
    its velocity."""

    track: str
    field: str  # one of GROOVE_FIELDS
    value: float

    def __post_init__(self) -> None:
        _track(self.track)
        if self.field not in GROOVE_FIELDS:
            raise SettingError(f"groove field must be one of {', '.join(GROOVE_FIELDS)}, got "
                               f"{self.field!r}")
        object.__setattr__(self, "value", _number(self.field, self.value, 0.0, 100.0))


@dataclass(frozen=True, slots=True)
class ClearAnchors:
    """Empty anchor slots (a blend track then fills its corners with fresh samples)."""

    track: str
    slots: tuple[int, ...] = tuple(range(ANCHOR_SLOTS))

    def __post_init__(self) -> None:
        _track(self.track)
        if not isinstance(self.slots, tuple) or not self.slots:
            raise SettingError(f"slots must be a tuple of slot numbers, got {self.slots!r}")
        for slot in self.slots:
            _integer("slot", slot, range(ANCHOR_SLOTS))


@dataclass(frozen=True, slots=True)
class NextCorners:
    """The corners a blend or grid track moves to (the next song's, in the radio), and how
    far its loops have moved: each loop mixes (1 - share) × its corners + share × these.
    Four fresh samples from ``seeds``, or the first windows of four MIDI ``files``; they are
    made in the background as soon as this comes. When other next corners come, these
    become the track's corners (anchors 0-3) from its next loop."""

    track: str
    seeds: tuple[int, ...] = ()
    files: tuple[str, ...] = ()
    share: float = 0.0

    def __post_init__(self) -> None:
        _track(self.track)
        corners = len(self.seeds) + len(self.files) if isinstance(self.seeds, tuple) \
            and isinstance(self.files, tuple) else 0
        if corners != 4 or (self.seeds and self.files) or not all(
                isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2 ** 31
                for s in self.seeds) or not all(isinstance(f, str) and f for f in self.files):
            raise SettingError(f"next corners are four seeds (0..2**31-1) or four MIDI files, "
                               f"got seeds={self.seeds!r}, files={self.files!r}")
        object.__setattr__(self, "share", _number("share", self.share, 0.0, 1.0))


Command = (Play | Stop | SetTempo | Panic | SetMode | SetTemperature | SetWalkStep
           | SetLoopBars | SetEvery | SaveAnchor | LoadAnchor | RecordAnchor | Interpolate | Mute
           | Solo | SetHumanize | SetBlend | SetBlendPath | SetBlendSpeed | SetGridCell
           | ClearAnchors | SetGroove | SetKey | SetDensity | NextCorners)
