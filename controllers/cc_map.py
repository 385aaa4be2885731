"""MIDI CC learn, scaling, soft takeover and feedback: the logic of a MIDI controller, pure.

``CcMap.message(status, data, state)`` turns one MIDI message from the controller into the
commands it asks for (or, while learning, into a new mapping); ``CcMap.observe(state)``
follows the engine's values and says which feedback messages to send. The I/O (ports, the
loop, the set file) is ``controllers.midi_controller``'s.

Scaling: a CC's 0..127 sweeps the mapping's min..max linearly (whole-number controls are
rounded); a choice control (bars, mode, blend path) steps through its choices.

Soft takeover (pickup): a knob's position is not the parameter's value once the value has
changed from elsewhere (OSC, a page, a new loop, a restart). Until the knob passes the value
(its last two positions lie either side of it, or it is within one step), its moves are
ignored, so the value never jumps. A value this controller set itself is not "from
elsewhere": the few values it sent last are remembered.

Feedback: the value of every mapped control the state tells, as the controller's own CC (or
note, for a button: velocity 127 on, 0 off), when it changes from elsewhere and once at the
start; a knob is never sent back the value it just set (a motor fader would fight the hand).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from latentjam.controllers.cc_config import CcMapping, check_mapping
from latentjam.controllers.controls import Control, ControlError, Value, control
from latentjam.engine.commands import Command
from latentjam.engine.engine_state import EngineState
from latentjam.engine.errors import SettingError

PICKUP_STEPS = 1  # a knob this many CC steps from the value takes it over
REMEMBERED_SENDS = 8  # values a mapping set lately, told apart from changes from elsewhere
CC, NOTE_ON, NOTE_OFF = 0xB0, 0x90, 0x80

Source = tuple[int, str, int]  # (channel 0..15, "cc" or "note", number)


def scale(cc: int, low: float, high: float) -> float:
    """A CC value 0..127 in low..high."""
    return low + (high - low) * cc / 127


def unscale(value: float, low: float, high: float) -> int:
    """The CC value 0..127 nearest ``value`` of low..high (clipped at the ends)."""
    if high == low:
        return 0
    return min(127, max(0, round((value - low) / (high - low) * 127)))


def _same(a: Value | None, b: Value | None) -> bool:
    if isinstance(a, str) or isinstance(b, str) or a is None or b is None:
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def decode(status: int, data: bytes) -> tuple[Source, int] | None:
    """(source, value) of a CC or note message (a note-off's value is 0); None for others."""
    kind, channel = status & 0xF0, status & 0x0F
    if len(data) < 2:
        return None
    if kind == CC:
        return (channel, "cc", data[0]), data[1]
    if kind == NOTE_ON:
        return (channel, "note", data[0]), data[1]
    if kind == NOTE_OFF:
        return (channel, "note", data[0]), 0
    return None


@dataclass
class _Binding:
    mapping: CcMapping
    control: Control
    knob: int | None = None  # the last value the controller sent (a note: 127 on, 0 off)
    picked: bool = False  # soft takeover: the knob moves the value
    seen: Value | None = None  # the value last read from the engine's state
    sent: deque = field(default_factory=lambda: deque(maxlen=REMEMBERED_SENDS))
    last: Value | None = None  # the value this mapping set last
    fed: int | None = None  # the CC value the controller shows (fed back or its own)
    due: bool = True  # feedback to send (at the start, and after a change from elsewhere)
    on: bool = False  # a toggle's state where the engine's state does not tell it

    @property
    def low(self) -> float:
        m = self.mapping
        return self.control.low if m.min is None else m.min

    @property
    def high(self) -> float:
        m = self.mapping
        return self.control.high if m.max is None else m.max

    def value_of(self, cc: int) -> Value:
        """What a knob at ``cc`` sets."""
        if self.control.kind == "choice":
            choices = self.control.choices
            return choices[round(cc / 127 * (len(choices) - 1))]
        value = scale(cc, self.low, self.high)
        return float(round(value)) if self.control.whole else value

    def cc_of(self, value: Value) -> int:
        """The CC value showing ``value`` (a button: 127 on, 0 off)."""
        kind = self.control.kind
        if kind in ("toggle", "trigger"):
            return 127 if value else 0
        if kind == "choice":
            choices = self.control.choices
            index = choices.index(value) if value in choices else 0
            return round(index / max(len(choices) - 1, 1) * 127)
        return unscale(float(value), self.low, self.high)

    def own(self, value: Value) -> bool:
        return any(_same(value, sent) for sent in self.sent)


@dataclass(frozen=True)
class Outcome:
    """What one MIDI message did: commands to carry out, a mapping learned, or why it was
    not used (``refused``, for the log)."""

    commands: tuple[tuple[str, Command], ...] = ()  # (control's address, command)
    learned: CcMapping | None = None
    refused: str | None = None


class CcMap:
    """The mappings of one controller and their state. ``tracks``: the set's track names
    (a mapping's address must name one of them)."""

    def __init__(self, mappings: tuple[CcMapping, ...] | list[CcMapping],
                 tracks: tuple[str, ...] | list[str]) -> None:
        self.tracks = tuple(tracks)
        self._bindings: dict[Source, _Binding] = {}
        for mapping in mappings:
            check_mapping(mapping, self.tracks)
            self._bindings[mapping.source] = _Binding(mapping, control(mapping.address,
                                                                       self.tracks))
        self.learning: str | None = None  # the address the next moved control maps to

    @property
    def mappings(self) -> tuple[CcMapping, ...]:
        return tuple(binding.mapping for binding in self._bindings.values())

    # -- learn ------------------------------------------------------------------------------

    def learn(self, address: str) -> Control:
        """Arm learning for ``address``: the next CC or note that moves maps to it.
        ``SettingError`` when it is no control of the set."""
        try:
            found = control(address, self.tracks)
        except ControlError as err:
            raise SettingError(str(err)) from None
        self.learning = address
        return found

    def cancel(self) -> bool:
        """Stop learning; whether it was armed."""
        armed, self.learning = self.learning is not None, None
        return armed

    def forget(self, address: str) -> int:
        """Remove the mappings of ``address``; how many there were."""
        gone = [source for source, b in self._bindings.items() if b.mapping.address == address]
        for source in gone:
            del self._bindings[source]
        return len(gone)

    def _learned(self, source: Source, value: int) -> Outcome:
        channel, kind, number = source
        address = self.learning
        found = control(address, self.tracks)
        if kind == "note" and found.kind not in ("toggle", "trigger"):
            return Outcome(refused=f"learn {address}: a note moves a button's kind of "
                                   f"control (mute, solo, play, ...); move a knob or a fader")
        mode = "toggle" if found.kind == "toggle" else \
            "momentary" if found.kind == "trigger" else "continuous"
        ranged = found.kind == "continuous"
        mapping = CcMapping(address, channel + 1, cc=number if kind == "cc" else None,
                            note=number if kind == "note" else None,
                            min=found.low if ranged else None,
                            max=found.high if ranged else None, mode=mode)
        # one control on the controller moves one parameter; learning again moves it anew
        for other in [s for s, b in self._bindings.items()
                      if b.mapping.address == address or s == source]:
            del self._bindings[other]
        self._bindings[source] = _Binding(mapping, found, knob=value)
        self.learning = None
        return Outcome(learned=mapping)

    # -- input ------------------------------------------------------------------------------

    def message(self, status: int, data: bytes, state: EngineState) -> Outcome:
        """What one MIDI message from the controller does, with the engine at ``state``."""
        decoded = decode(status, data)
        if decoded is None:
            return Outcome()
        source, value = decoded
        if self.learning is not None and (source[1] == "cc" or value > 0):
            return self._learned(source, value)
        binding = self._bindings.get(source)
        if binding is None:
            return Outcome()
        self._watch(binding, state)
        if binding.control.kind in ("continuous", "choice"):
            return self._moved(binding, value, state)
        return self._pressed(binding, value, state)

    def _moved(self, b: _Binding, cc: int, state: EngineState) -> Outcome:
        previous, b.knob = b.knob, cc
        now = b.control.read(state) if b.control.read is not None else None
        if now is None:
            b.picked = True  # nothing to take over from: the state does not tell the value
        elif not b.picked:
            at = b.cc_of(now)
            if previous is None:
                b.picked = abs(cc - at) <= PICKUP_STEPS
            else:
                b.picked = min(previous, cc) - PICKUP_STEPS <= at <= max(previous, cc) \
                    + PICKUP_STEPS
            if not b.picked:
                return Outcome()
        value = b.value_of(cc)
        if now is not None and _same(value, now):
            b.fed = cc  # already there (a knob just picking up): nothing to send
            return Outcome()
        return self._set(b, value, state, fed=cc)

    def _pressed(self, b: _Binding, value: int, state: EngineState) -> Outcome:
        pressed, held_before = value >= 64, b.knob is not None and b.knob >= 64
        b.knob = value
        now = b.control.read(state) if b.control.read is not None else None
        is_on = bool(now) if now is not None else b.on
        if b.control.kind == "trigger":
            return self._set(b, 1.0, state, dedupe=False) if pressed else Outcome()
        mode = b.mapping.mode
        if mode == "toggle":
            if not pressed or (b.mapping.cc is not None and held_before):
                return Outcome()  # a release, or a CC button held down sending again
            wanted = not is_on
        else:  # momentary: on while held; continuous: a CC of 64 or more is on
            wanted = pressed
            if wanted == is_on:
                return Outcome()
        b.on = wanted
        return self._set(b, 1.0 if wanted else 0.0, state, dedupe=False)

    def _set(self, b: _Binding, value: Value, state: EngineState, fed: int | None = None,
             dedupe: bool = True) -> Outcome:
        if dedupe and b.last is not None and _same(value, b.last):
            return Outcome()
        try:
            command = b.control.command(value, state)
        except ControlError as err:
            return Outcome(refused=str(err))
        b.last = value
        b.sent.append(value)
        if fed is not None:
            b.fed = fed
        return Outcome(commands=((b.mapping.address, command),))

    # -- the engine's side ------------------------------------------------------------------

    def _watch(self, b: _Binding, state: EngineState) -> Value | None:
        if b.control.read is None:
            return None
        now = b.control.read(state)
        if now is None:
            return None
        if b.seen is None or not _same(now, b.seen):
            first, b.seen = b.seen is None, now
            if not first and b.own(now) and b.control.kind in ("continuous", "choice"):
                b.fed = b.cc_of(now) if b.fed is None else b.fed  # the knob shows it already
            elif not first and b.own(now):
                b.due = True  # a button's light follows the engine
            elif not first:
                b.picked = False  # changed from elsewhere: the knob must pass it again
                b.last = None
                b.sent.clear()
                b.due = True
        return now

    def resync(self, knobs: bool = True) -> None:
        """The controller was plugged in again: its lights show nothing (every value is sent
        at the next tick) and, with ``knobs``, its knobs stand anywhere (each must pass its
        value again)."""
        for b in self._bindings.values():
            b.fed, b.due = None, True
            if knobs:
                b.knob, b.picked = None, False

    def observe(self, state: EngineState) -> list[bytes]:
        """Follow the engine's values; the feedback messages to send now (at most one per
        mapping: call it at the feedback rate)."""
        out = []
        for b in self._bindings.values():
            now = self._watch(b, state)
            if now is None or not b.due:
                continue
            b.due = False
            cc = b.cc_of(now)
            if cc == b.fed:
                continue
            b.fed = cc
            channel, kind, number = b.mapping.source
            out.append(bytes([(CC if kind == "cc" else NOTE_ON) | channel, number, cc]))
        return out


class MessageBound:
    """At most ``per_second`` messages a one-second window; beyond it the latest of each
    control is held (a knob's last position must not be lost) and let through when a window
    has room (``release``)."""

    def __init__(self, per_second: int) -> None:
        self._per_second = per_second
        self._window_start = -1.0e9
        self._count = 0
        self._held: dict[tuple[int, int], tuple[int, bytes]] = {}  # (status, number) -> latest
        self.held_back = 0  # messages replaced by a later one of their control, or held

    def _tick(self, now: float) -> None:
        if now - self._window_start >= 1.0:
            self._window_start, self._count = now, 0

    def admit(self, status: int, data: bytes, now: float) -> bool:
        """Whether this message may be handled now; if not, it is held."""
        self._tick(now)
        if self._count < self._per_second:
            self._count += 1
            return True
        self._held[(status, data[0] if data else -1)] = (status, data)
        self.held_back += 1
        return False

    def release(self, now: float) -> list[tuple[int, bytes]]:
        """The held messages the current window has room for, oldest control first."""
        self._tick(now)
        out = []
        while self._held and self._count < self._per_second:
            key = next(iter(self._held))
            out.append(self._held.pop(key))
            self._count += 1
        return out
