"""The ``[controller]`` part of a live set: a MIDI controller's input port, the port its
feedback goes to, and its mappings (a CC or a note -> a control of ``controllers.controls``).

Plain frozen data checked on creation (``SettingError``); whether a mapping's address names a
control of the set, and whether its range is allowed there, is checked against the set's
tracks by ``check_mappings``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from latentjam.controllers.controls import ControlError, control
from latentjam.engine.engine_state import EngineState
from latentjam.engine.errors import SettingError

MODES = ("continuous", "toggle", "momentary")
# a raw message bound: a knob turned fast sends about 100 CCs a second; a broken controller
# (or a loop through a MIDI patchbay) can send thousands, and each costs the loop a state read
MAX_MESSAGES_PER_SECOND = 500


def _int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingError(f"{name} must be a whole number {low}..{high}, got {value!r}")
    return value


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value):
        raise SettingError(f"{name} must be a number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class CcMapping:
    """One control of the controller: ``cc`` (a knob, a fader, a button sending CCs) or
    ``note`` (a pad, a key) on ``channel``, moving the control at ``address``. A CC's 0..127
    sweeps ``min``..``max`` (None: the control's own sweep); ``mode`` is how a button acts:
    ``toggle`` (each press flips), ``momentary`` (on while held), ``continuous`` (a CC of 64
    or more is on)."""

    address: str
    channel: int = 1  # 1..16, as a controller's manual counts them
    cc: int | None = None  # 0..127
    note: int | None = None  # 0..127
    min: float | None = None  # the value at CC 0 (continuous controls)
    max: float | None = None  # the value at CC 127
    mode: str = "continuous"

    def __post_init__(self) -> None:
        if not isinstance(self.address, str) or not self.address:
            raise SettingError(f"address must be a control's OSC address, got "
                               f"{self.address!r}")
        _int("channel", self.channel, 1, 16)
        if (self.cc is None) == (self.note is None):
            raise SettingError(f"{self.address}: give cc or note (one of them), got "
                               f"cc={self.cc!r}, note={self.note!r}")
        if self.cc is not None:
            _int("cc", self.cc, 0, 127)
        if self.note is not None:
            _int("note", self.note, 0, 127)
        for name in ("min", "max"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _number(name, getattr(self, name)))
        if self.mode not in MODES:
            raise SettingError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")

    @property
    def source(self) -> tuple[int, str, int]:
        """What on the controller moves it: (channel 0..15, "cc" or "note", number)."""
        if self.cc is not None:
            return self.channel - 1, "cc", self.cc
        return self.channel - 1, "note", self.note


@dataclass(frozen=True)
class ControllerConfig:
    input: str | None = None  # the controller's MIDI input port (part of its name); None: none
    feedback: str | None = None  # the port values go back to (LED rings, motor faders)
    feedback_hz: float = 25.0  # most feedback updates a second, per control
    max_messages_per_second: int = MAX_MESSAGES_PER_SECOND  # more are held back (latest kept)
    mappings: tuple[CcMapping, ...] = ()

    def __post_init__(self) -> None:
        for name in ("input", "feedback"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise SettingError(f"{name} must name a MIDI port, got {value!r}")
        if isinstance(self.feedback_hz, bool) or not isinstance(self.feedback_hz, int | float) \
                or not math.isfinite(self.feedback_hz) or not 1 <= self.feedback_hz <= 200:
            raise SettingError(f"feedback_hz must be 1..200, got {self.feedback_hz!r}")
        _int("max_messages_per_second", self.max_messages_per_second, 10, 100_000)
        if not isinstance(self.mappings, tuple) or not all(
                isinstance(m, CcMapping) for m in self.mappings):
            raise SettingError("mappings must be [[controller.mappings]] tables")


def controller_config_from_dict(table: object, where: str = "controller") -> ControllerConfig:
    """A ``ControllerConfig`` from the set file's ``[controller]`` table; errors name the key
    (``controller.mappings[2].cc``)."""
    from latentjam.engine.set_config import build

    if not isinstance(table, dict):
        raise SettingError(f"{where} must be a table, got {table!r}")
    mappings = table.get("mappings", [])
    if not isinstance(mappings, list):
        raise SettingError(f"{where}.mappings must be an array of tables "
                           f"([[controller.mappings]])")
    built = tuple(build(CcMapping, m, f"{where}.mappings[{i}]") for i, m in enumerate(mappings))
    return build(ControllerConfig, {k: v for k, v in table.items() if k != "mappings"}, where,
                 {"mappings": built})


def check_mapping(mapping: CcMapping, tracks: tuple[str, ...] | list[str]) -> None:
    """Whether ``mapping`` fits a set with ``tracks``: its address is a control, a note moves
    only a button's kind of control, the mode fits, and both ends of its range are values
    the control's command takes (the address table checks them); ``SettingError`` if not."""
    try:
        found = control(mapping.address, tracks)
    except ControlError as err:
        raise SettingError(str(err)) from None
    if mapping.note is not None and found.kind not in ("toggle", "trigger"):
        raise SettingError(f"{mapping.address}: a note moves a toggle or a trigger (mute, "
                           f"solo, play, ...); map a knob's CC to a {found.kind} control")
    if found.kind in ("continuous", "choice") and mapping.mode != "continuous":
        raise SettingError(f"{mapping.address}: a {found.kind} control takes mode "
                           f"\"continuous\", got {mapping.mode!r}")
    if found.kind == "choice" and (mapping.min is not None or mapping.max is not None):
        raise SettingError(f"{mapping.address}: a knob steps through all its choices "
                           f"({', '.join(map(str, found.choices))}); leave out min and max")
    if found.kind in ("toggle", "trigger") and (mapping.min is not None
                                                or mapping.max is not None):
        raise SettingError(f"{mapping.address}: a {found.kind} has no range; leave out min "
                           f"and max")
    if found.kind == "continuous":
        empty = EngineState(False, "internal", "stopped", 120.0, 0, 0, 0, ())
        for name in ("min", "max"):
            value = getattr(mapping, name)
            if value is None:
                continue
            try:
                found.command(round(value) if found.whole else value, empty)
            except ControlError as err:
                raise SettingError(f"{mapping.address}: {name} {value:g} is refused: "
                                   f"{err}") from None


def check_mappings(config: ControllerConfig, tracks: tuple[str, ...] | list[str],
                   where: str = "controller") -> None:
    """``check_mapping`` for each, errors naming ``controller.mappings[i]``; and no two
    mappings from the same CC or note."""
    seen: dict[tuple, int] = {}
    for index, mapping in enumerate(config.mappings):
        try:
            check_mapping(mapping, tracks)
        except SettingError as err:
            raise SettingError(f"{where}.mappings[{index}]: {err}") from None
        if mapping.source in seen:
            kind = "cc" if mapping.cc is not None else "note"
            raise SettingError(f"{where}.mappings[{index}]: channel {mapping.channel} {kind} "
                               f"{mapping.source[2]} is mapped already "
                               f"(mappings[{seen[mapping.source]}])")
        seen[mapping.source] = index
