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
from dataclasses import dataclass

from latentjam.engine import commands as cmd
from latentjam.engine.engine_state import EngineState
from latentjam.engine.errors import SettingError

ROOT = "/latentjam"


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
class Ignored:
    """A button's release (0) on a trigger address: nothing to do, nothing wrong."""


Query = StateQuery | Subscribe | Unsubscribe | Ignored


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
    head = parts[0]
    if len(parts) == 1:
        if head in ("play", "continue", "stop", "panic"):
            if not _triggered(address, args):
                return Ignored()
            return {"play": cmd.Play(), "continue": cmd.Play(resume=True), "stop": cmd.Stop(),
                    "panic": cmd.Panic()}[head]
        if head == "tempo":
            _arity(address, args, 1)
            return cmd.SetTempo(_number(address, args[0]))
        if head in ("state", "unsubscribe"):
            if not _triggered(address, args):
                return Ignored()
            return StateQuery() if head == "state" else Unsubscribe()
        if head == "subscribe":
            return _subscribe(address, args)
    if head == "track" and len(parts) >= 3:
        return _track_command(address, parts[1], parts[2:], args)
    raise OscMessageError(f"unknown address {address!r} (docs/osc.md lists them)")


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


def _track_command(address: str, track: str, rest: list[str], args: tuple) -> cmd.Command | Query:
    what = "/".join(rest)
    if what == "mode":
        _arity(address, args, 1)
        return cmd.SetMode(track, _text(address, args[0]))
    if what == "temperature":
        _arity(address, args, 1)
        return cmd.SetTemperature(track, _number(address, args[0]))
    if what == "walk_step":
        _arity(address, args, 1)
        return cmd.SetWalkStep(track, _number(address, args[0]))
    if what == "bars":
        _arity(address, args, 1)
        return cmd.SetLoopBars(track, _int(address, args[0]))
    if what == "every":
        _arity(address, args, 1)
        return cmd.SetEvery(track, _int(address, args[0]))
    if what in ("mute", "solo"):
        _arity(address, args, 0, 1)
        on = _switch(address, args[0]) if args else True
        return cmd.Mute(track, on) if what == "mute" else cmd.Solo(track, on)
    if what == "anchor/save":
        _arity(address, args, 1, 2)  # slot, and a button's 1/0
        if len(args) == 2 and not _switch(address, args[1]):
            return Ignored()
        return cmd.SaveAnchor(track, _int(address, args[0]))
    if what == "anchor/load":
        _arity(address, args, 2)
        return cmd.LoadAnchor(track, _int(address, args[0]), _text(address, args[1]))
    if what == "anchor/record":
        _arity(address, args, 1, 2)
        bars = _int(address, args[1]) if len(args) == 2 else 2
        return cmd.RecordAnchor(track, _int(address, args[0]), bars)
    if what == "interpolate":
        _arity(address, args, 2, 3)
        steps = _int(address, args[2]) if len(args) == 3 else 8
        return cmd.Interpolate(track, _int(address, args[0]), _int(address, args[1]), steps)
    if len(rest) == 2 and rest[0] == "humanize":
        _arity(address, args, 1)
        return cmd.SetHumanize(track, rest[1], _number(address, args[0]))
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
        })
    return out


def changed(before: dict[str, tuple], after: dict[str, tuple]) -> dict[str, tuple]:
    """The messages of ``after`` that differ from ``before``."""
    return {address: args for address, args in after.items() if before.get(address) != args}
