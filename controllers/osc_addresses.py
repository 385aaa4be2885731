"""The OSC address space (docs/osc.md): incoming messages -> engine commands, and the engine's
state -> feedback messages. Pure functions; the server in ``osc_server`` does the I/O.

Tablet apps (TouchOSC, Open Stage Control, Lemur) send floats for everything and a button as
1 on press and 0 on release, so: an int is accepted where a float is expected, a float with
an integral value where an int is, any number or T/F where a switch is, and a trigger
(play, stop, panic, anchor save) acts on an absent argument or a non-zero one and ignores
the 0 of a button's release. The same goes for the queries: a button on `/state`,
`/subscribe` or `/unsubscribe` acts on its press (for `/subscribe`, 1 is a press, not a
port).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from latentjam.engine import commands as cmd
from latentjam.engine.engine_state import EngineState
from latentjam.engine.errors import SettingError

ROOT = "/latentjam"
# the humanize amounts a controller shows and sets (drum_accents is a table: the set file's)
HUMANIZE_FIELDS = ("velocity_spread", "accent_downbeat", "accent_beat", "accent_offbeat",
                   "timing_spread_ms", "swing_percent", "push_ms", "length_spread_percent")


class OscMessageError(ValueError):
    """Why a message was ignored."""


@dataclass(frozen=True)
class StateQuery:
    """Reply to the sender with the whole state."""


@dataclass(frozen=True)
class Subscribe:
    port: int | None = None  # where feedback goes on the sender's host; None: its own port


@dataclass(frozen=True)
class Unsubscribe:
    pass


@dataclass(frozen=True)
class AnchorFiles:
    """Reply to the sender with the MIDI files of the set's anchor folders, as names
    ``.../anchor/load`` takes (``/latentjam/anchors``): a controller lists what it may load,
    never an arbitrary folder."""


@dataclass(frozen=True)
class Learn:
    """Map the next CC or note that moves on the MIDI controller to ``address`` (a
    control's, ``controllers.controls``)."""

    address: str


@dataclass(frozen=True)
class CancelLearn:
    """Stop waiting for a knob to map."""


@dataclass(frozen=True)
class Forget:
    """Remove the controller's mappings of ``address``."""

    address: str


LearnRequest = Learn | CancelLearn | Forget


@dataclass(frozen=True)
class Ignored:
    """A button's release (0) on a trigger address: nothing to do, nothing wrong."""


Query = StateQuery | Subscribe | Unsubscribe | AnchorFiles | LearnRequest | Ignored


def _number(address: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OscMessageError(f"{address}: expected a number, got {value!r}")
    return float(value)


def _int(address: str, value: object) -> int:
    number = _number(address, value)
    if not number.is_integer():
        raise OscMessageError(f"{address}: expected a whole number, got {value!r}")
    return int(number)


def _switch(address: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    number = _number(address, value)
    if math.isnan(number):
        raise OscMessageError(f"{address}: expected on/off (a number or T/F), got nan")
    return number != 0


def _text(address: str, value: object) -> str:
    if not isinstance(value, str):
        raise OscMessageError(f"{address}: expected a string, got {value!r}")
    return value


def _arity(address: str, args: tuple, low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise OscMessageError(f"{address}: takes {wanted} argument(s), got {len(args)}")


def _triggered(address: str, args: tuple) -> bool:
    _arity(address, args, 0, 1)
    return not args or _switch(address, args[0])


Reader = Callable[[str, object], object]  # (address, argument) -> value, or OscMessageError


def _trigger(make: Callable[[], cmd.Command | Query]) -> Callable:
    """A button: acts on its press (or no argument), ignores its release."""
    return lambda address, args: make() if _triggered(address, args) else Ignored()


def _fields(make: Callable, readers: tuple[Reader, ...], optional: int = 0) -> Callable:
    """Arguments read in order by ``readers`` (the last ``optional`` may be left out: the
    command's own defaults apply) and given to ``make`` after the names in the address (a
    track's, a humanize field's)."""
    def build(address: str, args: tuple, *name: str) -> cmd.Command:
        _arity(address, args, len(readers) - optional, len(readers))
        return make(*name, *(read(address, arg) for read, arg in zip(readers, args, strict=False)))
    return build


def _switched(make: Callable) -> Callable:
    """On/off, on when the argument is left out."""
    def build(address: str, args: tuple, track: str) -> cmd.Command:
        _arity(address, args, 0, 1)
        return make(track, _switch(address, args[0]) if args else True)
    return build


def _subscribe(address: str, args: tuple) -> Subscribe | Ignored:
    """A port, or a button: 0 (its release) does nothing, 1 (its press) subscribes the
    sender's own port, as no argument does."""
    _arity(address, args, 0, 1)
    port = _int(address, args[0]) if args else 1
    if port == 0:
        return Ignored()
    if not 1 <= port <= 65535:
        raise OscMessageError(f"{address}: port must be 1..65535, got {port}")
    return Subscribe(None if port == 1 else port)


def _save_anchor(address: str, args: tuple, track: str) -> cmd.SaveAnchor | Ignored:
    _arity(address, args, 1, 2)  # slot, and a button's 1/0
    if len(args) == 2 and not _switch(address, args[1]):
        return Ignored()
    return cmd.SaveAnchor(track, _int(address, args[0]))


# /latentjam/NAME -> what it asks for, from (address, args)
SET_ADDRESSES: dict[str, Callable] = {
    "play": _trigger(cmd.Play),
    "continue": _trigger(lambda: cmd.Play(resume=True)),
    "stop": _trigger(cmd.Stop),
    "panic": _trigger(cmd.Panic),
    "state": _trigger(StateQuery),
    "anchors": _trigger(AnchorFiles),
    "unsubscribe": _trigger(Unsubscribe),
    "subscribe": _subscribe,
    "tempo": _fields(cmd.SetTempo, (_number,)),
    "learn": _fields(Learn, (_text,)),  # MIDI CC learn (controllers.midi_controller)
    "learn/cancel": _trigger(CancelLearn),
    "learn/forget": _fields(Forget, (_text,)),
}

# /latentjam/track/TRACK/NAME -> what it asks for, from (address, args, track)
TRACK_ADDRESSES: dict[str, Callable] = {
    "mode": _fields(cmd.SetMode, (_text,)),
    "temperature": _fields(cmd.SetTemperature, (_number,)),
    "walk_step": _fields(cmd.SetWalkStep, (_number,)),
    "bars": _fields(cmd.SetLoopBars, (_int,)),
    "every": _fields(cmd.SetEvery, (_int,)),
    "mute": _switched(cmd.Mute),
    "solo": _switched(cmd.Solo),
    "anchor/save": _save_anchor,
    "anchor/load": _fields(cmd.LoadAnchor, (_int, _text)),
    "anchor/record": _fields(cmd.RecordAnchor, (_int, _int), optional=1),  # slot, bars
    "interpolate": _fields(cmd.Interpolate, (_int, _int, _int), optional=1),  # from, to, steps
    "blend": _fields(cmd.SetBlend, (_number, _number, _int), optional=1),  # x, y, loops
    "blend/path": _fields(cmd.SetBlendPath, (_text,)),
    "blend/speed": _fields(cmd.SetBlendSpeed, (_number,)),
    "grid/cell": _fields(cmd.SetGridCell, (_int, _int)),  # row, column
    # tonic 0..11 (-1: as the model wrote it), minor
    "density": _fields(lambda track, low, high=64.0: cmd.SetDensity(  # low < 0: any
        track, None if low < 0 else low, high), (_number, _number), optional=1),
    "key": _fields(lambda track, tonic, minor=False: cmd.SetKey(
        track, None if tonic < 0 else tonic, minor), (_int, _switch), optional=1),
    **{f"groove/{name}": _fields(lambda track, value, name=name: cmd.SetGroove(track, name,
                                                                               value),
                                 (_number,))
       for name in cmd.GROOVE_FIELDS},
}
# /latentjam/track/TRACK/humanize/FIELD, from (address, args, track, field): the command
# knows its fields
_humanize = _fields(cmd.SetHumanize, (_number,))


def parse(address: str, args: tuple | list) -> cmd.Command | Query:
    """The command or query an OSC message asks for; ``OscMessageError`` saying why not."""
    args = tuple(args)
    try:
        return _parse(address, args)
    except SettingError as err:  # a command's own range check
        raise OscMessageError(f"{address}: {err}") from None


def _parse(address: str, args: tuple) -> cmd.Command | Query:
    if not address.startswith(ROOT + "/"):
        raise OscMessageError(f"unknown address {address!r} (they start with {ROOT}/)")
    parts = address[len(ROOT) + 1:].split("/")
    if parts[0] != "track" and "/".join(parts) in SET_ADDRESSES:
        return SET_ADDRESSES["/".join(parts)](address, args)
    if parts[0] == "track" and len(parts) >= 3:
        track, what = parts[1], "/".join(parts[2:])
        if what in TRACK_ADDRESSES:
            return TRACK_ADDRESSES[what](address, args, track)
        if len(parts) == 4 and parts[2] == "humanize":
            return _humanize(address, args, track, parts[3])
    raise OscMessageError(f"unknown address {address!r} (docs/osc.md lists them)")


# -- feedback -----------------------------------------------------------------------------------


def feedback(state: EngineState) -> dict[str, tuple]:
    """Every feedback message for ``state``: address -> arguments. Bars and beats are counted
    from 1, as a display shows them."""
    out: dict[str, tuple] = {
        f"{ROOT}/playing": (int(state.playing),),
        f"{ROOT}/tempo": (float(state.bpm),),
        f"{ROOT}/beat": (state.bar + 1, state.beat + 1),
        f"{ROOT}/clock": (state.clock, state.clock_status),
        f"{ROOT}/skipped": (state.skipped_notes, state.skipped_pulses),
        f"{ROOT}/xruns": (state.jack_xruns,),
    }
    for track in state.tracks:
        base = f"{ROOT}/track/{track.name}"
        out.update({
            f"{base}/mode": (track.mode,),
            f"{base}/temperature": (float(track.temperature),),
            f"{base}/walk_step": (float(track.walk_step),),
            f"{base}/bars": (track.loop_bars,),
            f"{base}/every": (track.every,),
            f"{base}/mute": (int(track.muted),),
            f"{base}/solo": (int(track.soloed),),
            f"{base}/loops": (track.loops_played,),
            f"{base}/late": (track.late_answers,),
            f"{base}/blend": tuple(float(v) for v in track.blend_point),
            f"{base}/blend/path": (track.blend_path,),
            f"{base}/grid/size": (track.grid_size,),
            f"{base}/anchors": tuple(track.anchors),  # the slots holding a latent vector
            f"{base}/roll": track.roll,  # the loop playing: steps, then start, length, pitch
            f"{base}/queued": track.queued_roll,  # the next one, once the model answered
            **{f"{base}/humanize/{name}": (float(getattr(track.humanize, name)),)
               for name in HUMANIZE_FIELDS},
        })
    return out


def changed(before: dict[str, tuple], after: dict[str, tuple]) -> dict[str, tuple]:
    """The messages of ``after`` that differ from ``before``."""
    return {address: args for address, args in after.items() if before.get(address) != args}
