"""Groove templates (as a DAW's groove pool has them): the timing and velocity a person played
on each 16th-note slot of a clip, laid over notes on the grid with an amount. Pure.

A template spans whole bars of slots. Timing is a fraction of a step (-0.5..0.5: how early
or late the player was), velocity the mean velocity played on the slot (0 where nothing was
played). Drum clips keep a profile per drum voice (pitch) beside the one of all notes, so a
hi-hat gets the hi-hat's feel and the kick the kick's. Applied in musical time (ticks), so a
groove holds at any tempo; ``amount`` scales both, ``timing`` and ``velocity`` each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from latentjam.engine.errors import SettingError
from latentjam.engine.loops import LoopNote
from latentjam.engine.transport import BEATS_PER_BAR, STEPS_PER_BEAT, ticks_per_step

STEPS_PER_BAR = BEATS_PER_BAR * STEPS_PER_BEAT
MAX_BARS = 8


@dataclass(frozen=True)
class Profile:
    timing: tuple[float, ...]  # per slot: the offset in steps, -0.5..0.5
    velocity: tuple[float, ...]  # per slot: the mean velocity, 0 where nothing was played


@dataclass(frozen=True)
class GrooveTemplate:
    slots: int  # 16th-note slots, a whole number of bars
    all_notes: Profile
    voices: Mapping[int, Profile] = field(default_factory=dict)  # drum pitch -> its profile
    source: str = ""  # what it was taken from, for messages

    def __post_init__(self) -> None:
        if isinstance(self.slots, bool) or not isinstance(self.slots, int) or self.slots < 1 \
                or self.slots % STEPS_PER_BAR or self.slots > MAX_BARS * STEPS_PER_BAR:
            raise SettingError(f"a groove spans 1..{MAX_BARS} bars of {STEPS_PER_BAR} slots, "
                               f"got {self.slots!r} slots")
        for name, profile in (("all", self.all_notes), *self.voices.items()):
            if len(profile.timing) != self.slots or len(profile.velocity) != self.slots:
                raise SettingError(f"groove profile {name}: {self.slots} slots of timing and "
                                   f"velocity wanted")
            if not all(-0.5 <= t <= 0.5 for t in profile.timing) or \
                    not all(0 <= v <= 127 for v in profile.velocity):
                raise SettingError(f"groove profile {name}: timing must be -0.5..0.5 steps "
                                   f"and velocity 0..127")


@dataclass(frozen=True)
class GrooveAmounts:
    """How much of a groove is laid on, in percent."""

    amount: float = 100.0
    timing: float = 100.0
    velocity: float = 100.0

    def __post_init__(self) -> None:
        for name in ("amount", "timing", "velocity"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not 0 <= value <= 100:
                raise SettingError(f"groove {name} must be 0..100 %, got {value!r}")


def extract(onsets: Iterable[tuple[float, int, int, bool]], bars: int,
            source: str = "") -> GrooveTemplate:
    """A template of ``bars`` bars from ``(step, pitch, velocity, is_drum)`` onsets (steps
    from the clip's start, not rounded); a longer clip folds onto those bars."""
    slots = bars * STEPS_PER_BAR
    heard: dict[object, dict[int, list[tuple[float, int]]]] = defaultdict(
        lambda: defaultdict(list))
    for step, pitch, velocity, is_drum in onsets:
        nearest = round(step)
        slot, offset = nearest % slots, max(-0.5, min(0.5, step - nearest))
        heard["all"][slot].append((offset, velocity))
        if is_drum:
            heard[pitch][slot].append((offset, velocity))
    if not heard:
        raise SettingError(f"{source or 'the clip'}: no notes to take a groove from")
    profiles = {key: _profile(by_slot, slots) for key, by_slot in heard.items()}
    return GrooveTemplate(slots, profiles.pop("all"), profiles, source)


def _profile(by_slot: Mapping[int, Sequence[tuple[float, int]]], slots: int) -> Profile:
    timing, velocity = [0.0] * slots, [0.0] * slots
    for slot, played in by_slot.items():
        timing[slot] = round(sum(o for o, _ in played) / len(played), 4)
        velocity[slot] = round(sum(v for _, v in played) / len(played), 2)
    return Profile(tuple(timing), tuple(velocity))


def grooved(notes: Iterable[LoopNote], template: GrooveTemplate, amounts: GrooveAmounts,
            steps_per_quarter: int = STEPS_PER_BEAT) -> tuple[LoopNote, ...]:
    """``notes`` (ticks of the performance, bar 0 at tick 0) with the groove laid on: each
    note takes the timing and velocity of its nearest slot, scaled by the amounts."""
    step_ticks = ticks_per_step(steps_per_quarter)
    share = amounts.amount / 100.0
    timing, velocity = share * amounts.timing / 100.0, share * amounts.velocity / 100.0
    out = []
    for note in notes:
        slot = round(note.start_tick / step_ticks) % template.slots
        voice = template.voices.get(note.pitch) if note.is_drum else None
        profile = voice if voice is not None and voice.velocity[slot] else template.all_notes
        shift = round(timing * profile.timing[slot] * step_ticks)
        start = max(note.start_tick + shift, 0)
        end = max(note.end_tick + shift, start + 1)
        played = profile.velocity[slot]
        new_velocity = note.velocity if not played else \
            min(127, max(1, round(note.velocity + velocity * (played - note.velocity))))
        out.append(LoopNote(note.part, note.pitch, new_velocity, start, end, note.is_drum,
                            note.offset_ns))
    return tuple(out)


def to_dict(template: GrooveTemplate) -> dict:
    """The template as plain data (what a .groove file holds, as JSON)."""
    def profile(p: Profile) -> dict:
        return {"timing": list(p.timing), "velocity": list(p.velocity)}
    return {"format": "latentjam-groove", "version": 1, "slots": template.slots,
            "steps_per_bar": STEPS_PER_BAR, "source": template.source,
            "all": profile(template.all_notes),
            "voices": {str(pitch): profile(p) for pitch, p in sorted(template.voices.items())}}


def from_dict(data: object, where: str) -> GrooveTemplate:
    """A template from plain data; a SettingError naming ``where`` and the field."""
    def profile(value: object, name: str) -> Profile:
        if not isinstance(value, dict) or not all(
                isinstance(value.get(k), list) and all(isinstance(x, int | float)
                                                       and not isinstance(x, bool)
                                                       for x in value[k])
                for k in ("timing", "velocity")):
            raise SettingError(f"{where}: {name} must hold lists of numbers 'timing' and "
                               f"'velocity'")
        return Profile(tuple(float(x) for x in value["timing"]),
                       tuple(float(x) for x in value["velocity"]))

    if not isinstance(data, dict) or data.get("format") != "latentjam-groove":
        raise SettingError(f"{where}: not a latentjam groove (format: latentjam-groove)")
    if data.get("version") != 1 or data.get("steps_per_bar") != STEPS_PER_BAR:
        raise SettingError(f"{where}: groove version {data.get('version')!r} with "
                           f"{data.get('steps_per_bar')!r} steps a bar is not one this "
                           f"latentjam reads (version 1, {STEPS_PER_BAR})")
    voices = data.get("voices", {})
    if not isinstance(voices, dict) or not all(k.isdigit() and int(k) < 128 for k in voices):
        raise SettingError(f"{where}: voices must map drum pitches (0..127) to profiles")
    try:
        return GrooveTemplate(data.get("slots"), profile(data.get("all"), "all"),
                              {int(k): profile(v, f"voices.{k}") for k, v in voices.items()},
                              str(data.get("source", "")))
    except SettingError as err:
        raise SettingError(f"{where}: {err}") from None
