"""The parameters a knob, a fader or a button may move (MIDI CC learn, a control page): each
named by an OSC address of docs/osc.md, what kind of control it is, the range a knob sweeps by
default and how to read its value back from ``EngineState`` (for soft takeover and feedback).

A control only says which message a value makes; the message is read and checked by the
OSC address table (``osc_addresses.parse``), so a value's limits are stated once, by the
engine's commands. Two controls are not OSC addresses of their own: ``.../blend/x`` and
``.../blend/y`` move one coordinate of ``.../blend`` and keep the other where the track's
point is now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from latentjam.controllers.osc_addresses import ROOT, OscMessageError, Query, parse
from latentjam.engine import commands as cmd
from latentjam.engine.blend import BLEND_PATHS
from latentjam.engine.engine_state import EngineState, TrackState

Kind = Literal["continuous", "toggle", "trigger", "choice"]
Value = float | str  # a number, or a choice such as a mode's name


class ControlError(ValueError):
    """Why an address is no control (or a mapping of it cannot be)."""


@dataclass(frozen=True)
class Control:
    """One parameter. ``message(value, state)`` is the OSC message that sets it (address,
    arguments); ``read(state)`` its value now, or None where the state does not tell it."""

    address: str
    kind: Kind
    low: float = 0.0  # the range a knob sweeps unless its mapping says (continuous)
    high: float = 1.0
    whole: bool = False  # continuous: values are whole numbers (rounded)
    choices: tuple[Value, ...] = ()  # choice: a knob's sweep steps through these
    read: Callable[[EngineState], Value | None] | None = None
    message: Callable[[Value, EngineState], tuple[str, tuple]] | None = None

    def command(self, value: Value, state: EngineState) -> cmd.Command:
        """The command that sets ``value``, read and checked by the OSC address table;
        ``ControlError`` saying why not (a value out of the command's range)."""
        address, args = self.message(value, state)
        try:
            what = parse(address, args)
        except OscMessageError as err:
            raise ControlError(str(err)) from None
        if isinstance(what, Query):
            raise ControlError(f"{self.address}: {address} {args} is no command")
        return what


def _track(state: EngineState, name: str) -> TrackState | None:
    for track in state.tracks:
        if track.name == name:
            return track
    return None


def _track_reader(name: str, read: Callable[[TrackState], Value]) -> Callable:
    def reader(state: EngineState) -> Value | None:
        track = _track(state, name)
        return None if track is None else read(track)
    return reader


def _plain(address: str) -> Callable[[Value, EngineState], tuple[str, tuple]]:
    return lambda value, state: (address, (value,))


# /latentjam/NAME: (kind, low, high, whole, read)
_SET_CONTROLS: dict[str, Control] = {
    # 60..180 rather than the engine's 20..300: a 7-bit knob then moves about 1 BPM a step
    "tempo": Control(f"{ROOT}/tempo", "continuous", 60.0, 180.0,
                     read=lambda state: state.bpm, message=_plain(f"{ROOT}/tempo")),
    "play": Control(f"{ROOT}/play", "trigger", read=lambda state: float(state.playing),
                    message=lambda value, state: (f"{ROOT}/play", ())),
    "continue": Control(f"{ROOT}/continue", "trigger",
                        message=lambda value, state: (f"{ROOT}/continue", ())),
    "stop": Control(f"{ROOT}/stop", "trigger",
                    message=lambda value, state: (f"{ROOT}/stop", ())),
    "panic": Control(f"{ROOT}/panic", "trigger",
                     message=lambda value, state: (f"{ROOT}/panic", ())),
}

# humanize field -> (low, high, whole): the knob's sweep; HumanizeParams checks the limits
_HUMANIZE_SWEEPS: dict[str, tuple[float, float, bool]] = {
    "velocity_spread": (0.0, 32.0, False),
    "accent_downbeat": (0.0, 40.0, True),
    "accent_beat": (0.0, 40.0, True),
    "accent_offbeat": (0.0, 40.0, True),
    "timing_spread_ms": (0.0, 30.0, False),
    "swing_percent": (0.0, 100.0, False),
    "push_ms": (-50.0, 50.0, False),
    "length_spread_percent": (0.0, 50.0, False),
}


def _track_control(track: str, what: str) -> Control | None:
    base = f"{ROOT}/track/{track}"
    address = f"{base}/{what}"

    def reading(read: Callable[[TrackState], Value]) -> Callable:
        return _track_reader(track, read)

    if what == "temperature":
        return Control(address, "continuous", 0.0, cmd.MAX_TEMPERATURE,
                       read=reading(lambda t: t.temperature), message=_plain(address))
    if what == "walk_step":
        return Control(address, "continuous", 0.0, 1.0, read=reading(lambda t: t.walk_step),
                       message=_plain(address))
    if what == "every":
        return Control(address, "continuous", 1.0, 16.0, whole=True,
                       read=reading(lambda t: t.every), message=_plain(address))
    if what == "bars":
        return Control(address, "choice", choices=cmd.LOOP_BARS,
                       read=reading(lambda t: t.loop_bars), message=_plain(address))
    if what == "mode":
        return Control(address, "choice", choices=cmd.MODES, read=reading(lambda t: t.mode),
                       message=_plain(address))
    if what == "blend/path":
        return Control(address, "choice", choices=BLEND_PATHS,
                       read=reading(lambda t: t.blend_path), message=_plain(address))
    if what in ("mute", "solo"):
        return Control(address, "toggle",
                       read=reading((lambda t: float(t.muted)) if what == "mute"
                                    else (lambda t: float(t.soloed))),
                       message=lambda value, state: (address, (int(bool(value)),)))
    if what in ("blend/x", "blend/y"):
        axis = 0 if what == "blend/x" else 1

        def blend(value: Value, state: EngineState) -> tuple[str, tuple]:
            point = list(_track(state, track).blend_point) if _track(state, track) \
                else [0.5, 0.5]
            point[axis] = value
            return f"{base}/blend", tuple(point)
        return Control(address, "continuous", 0.0, 1.0,
                       read=reading(lambda t: t.blend_point[axis]), message=blend)
    if what == "blend/speed":
        return Control(address, "continuous", 0.0, 1.0, message=_plain(address))
    if what.startswith("groove/") and what[len("groove/"):] in cmd.GROOVE_FIELDS:
        return Control(address, "continuous", 0.0, 100.0, message=_plain(address))
    if what.startswith("humanize/") and what[len("humanize/"):] in _HUMANIZE_SWEEPS:
        field = what[len("humanize/"):]
        low, high, whole = _HUMANIZE_SWEEPS[field]
        return Control(address, "continuous", low, high, whole=whole,
                       read=reading(lambda t: getattr(t.humanize, field)),
                       message=_plain(address))
    return None


def control(address: str, tracks: tuple[str, ...] | list[str]) -> Control:
    """The control ``address`` names, for a set with ``tracks``; ``ControlError`` saying
    why it is none."""
    if not isinstance(address, str) or not address.startswith(ROOT + "/"):
        raise ControlError(f"{address!r} is no control's address (they start with {ROOT}/)")
    parts = address[len(ROOT) + 1:].split("/")
    if len(parts) == 1 and parts[0] in _SET_CONTROLS:
        return _SET_CONTROLS[parts[0]]
    if parts[0] == "track" and len(parts) >= 3:
        if parts[1] not in tracks:
            raise ControlError(f"{address}: no track {parts[1]!r} (tracks: "
                               f"{', '.join(tracks)})")
        found = _track_control(parts[1], "/".join(parts[2:]))
        if found is not None:
            return found
    raise ControlError(f"{address} is no control a knob or a button can move (docs/osc.md, "
                       f"MIDI controllers, lists them)")


def addresses(tracks: tuple[str, ...] | list[str]) -> list[str]:
    """Every control's address for a set with ``tracks`` (for listings and tests)."""
    per_track = ["temperature", "walk_step", "every", "bars", "mode", "mute", "solo",
                 "blend/x", "blend/y", "blend/path", "blend/speed",
                 *(f"groove/{name}" for name in cmd.GROOVE_FIELDS),
                 *(f"humanize/{name}" for name in _HUMANIZE_SWEEPS)]
    return [control.address for control in _SET_CONTROLS.values()] + [
        f"{ROOT}/track/{track}/{what}" for track in tracks for what in per_track]
