"""The radio's arranger: songs of sections over bars, and what each section asks of each track.

Pure and seeded: the same station and seed give the same songs, bar for bar, live and
offline. A song is a plan of sections (an intro, then rounds of the station's cycle, e.g.
build, peak, break, then an outro), each a multiple of 8 bars with an energy 0-1; its tempo
is drawn near the last song's and ramps there over the first bars, never jumping. At each
section's first bar the arranger says, per track, whether it plays and its temperature,
walk step, blend speed, velocity spread and density (notes a bar) for that energy
(``EnergyMap``); at each song's first bar the song's key is given to every pitched track
(its loops are moved into it).

Each song has its own corners for every blend or grid track (four seeds of fresh samples,
or four loops drawn from the track's folder of MIDI files), drawn a song ahead: the next
song's are handed over at a song's first bar, so they are made by the time the transition
starts. Over a song's last ``transition_bars`` bars the corners move from this song's to the
next's (``transition_share``), and at the next song's first bar they are its corners; with
0 bars they change there at once. Tracks start and stop playing only at a section's first
bar, so on a bar line.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from latentjam.engine import commands as cmd
from latentjam.engine.errors import SettingError
from latentjam.engine.harmony import Key

SECTION_BARS = 8  # every section is a multiple of this
DENSITY_SPREAD = 0.4  # a loop within this share of its density target is taken


def _pair(name: str, value: object, low: float, high: float) -> tuple[float, float]:
    if not isinstance(value, tuple | list) or len(value) != 2 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high
            for v in value):
        raise SettingError(f"{name} must be [at energy 0, at energy 1], each {low:g}..{high:g}"
                           f", got {value!r}")
    return float(value[0]), float(value[1])


@dataclass(frozen=True)
class EnergyMap:
    """How a section's energy reaches one track: silent below ``plays_from``, and each
    setting the straight line from its value at energy 0 to its value at energy 1."""

    plays_from: float = 0.0
    temperature: tuple[float, float] = (0.3, 0.8)
    walk_step: tuple[float, float] = (0.05, 0.3)
    blend_speed: tuple[float, float] = (0.02, 0.15)
    velocity_spread: tuple[float, float] | None = None  # None: the track's own, unchanged
    density: tuple[float, float] | None = None  # notes a bar wanted; None: any

    def __post_init__(self) -> None:
        if isinstance(self.plays_from, bool) or not isinstance(self.plays_from, int | float) \
                or not 0 <= self.plays_from <= 1:
            raise SettingError(f"plays_from must be an energy 0..1, got {self.plays_from!r}")
        for name, high in (("temperature", cmd.MAX_TEMPERATURE), ("walk_step", 1.0),
                           ("blend_speed", 1.0)):
            object.__setattr__(self, name, _pair(name, getattr(self, name), 0.0, high))
        for name in ("velocity_spread", "density"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _pair(name, getattr(self, name), 0.0, 64.0))


@dataclass(frozen=True)
class SectionKind:
    energy: float
    bars: tuple[int, ...]  # the lengths it may have, each a multiple of SECTION_BARS

    def __post_init__(self) -> None:
        if isinstance(self.energy, bool) or not isinstance(self.energy, int | float) \
                or not 0 <= self.energy <= 1:
            raise SettingError(f"energy must be 0..1, got {self.energy!r}")
        bars = tuple(self.bars) if isinstance(self.bars, tuple | list) else ()
        if not bars or not all(isinstance(b, int) and not isinstance(b, bool) and b > 0
                               and b % SECTION_BARS == 0 for b in bars):
            raise SettingError(f"bars must be a list of lengths, each a multiple of "
                               f"{SECTION_BARS}, got {self.bars!r}")
        object.__setattr__(self, "bars", bars)


DEFAULT_SECTIONS = {
    "intro": SectionKind(0.3, (8, 16)), "build": SectionKind(0.6, (8, 16)),
    "peak": SectionKind(1.0, (16, 32)), "break": SectionKind(0.2, (8,)),
    "outro": SectionKind(0.3, (8, 16)),
}


@dataclass(frozen=True)
class StationPlan:
    """The shape of the station's songs."""

    sections: Mapping[str, SectionKind] = field(default_factory=lambda: dict(DEFAULT_SECTIONS))
    cycle: tuple[str, ...] = ("build", "peak", "break")  # repeated between intro and outro
    song_bars: tuple[int, int] = (64, 128)  # a song's length is drawn from this range (and
    # rounded up to whole rounds of the cycle)
    min_bpm: float = 118.0
    max_bpm: float = 128.0
    bpm_step: float = 4.0  # most a song's tempo differs from the last one's
    ramp_bars: int = 8  # bars a tempo change between songs spreads over
    transition_bars: int = 8  # a song's last bars, over which the corners move to the next
    # song's (0: they change at its first bar)

    def __post_init__(self) -> None:
        for name in ("intro", "outro", *self.cycle):
            if name not in self.sections:
                raise SettingError(f"section {name!r} is used but not described (sections: "
                                   f"{', '.join(self.sections)})")
        low, high = self.song_bars
        if not SECTION_BARS * 3 <= low <= high:
            raise SettingError(f"song_bars must be [shortest, longest], at least "
                               f"{SECTION_BARS * 3}, got {list(self.song_bars)}")
        if not cmd.MIN_BPM <= self.min_bpm <= self.max_bpm <= cmd.MAX_BPM:
            raise SettingError(f"the tempo range must lie in {cmd.MIN_BPM:g}..{cmd.MAX_BPM:g} "
                               f"BPM, min first, got {self.min_bpm:g}..{self.max_bpm:g}")
        if not 0 <= self.bpm_step or not 1 <= self.ramp_bars <= 64:
            raise SettingError("bpm_step must be >= 0 and ramp_bars 1..64")
        longest = min(64, low // 2)  # the next song's corners are made before it starts
        if isinstance(self.transition_bars, bool) or not isinstance(self.transition_bars, int) \
                or not 0 <= self.transition_bars <= longest:
            raise SettingError(f"transition_bars must be 0..{longest} (at most half the "
                               f"shortest song, and 64), got {self.transition_bars!r}")


@dataclass(frozen=True)
class Section:
    name: str
    energy: float
    start_bar: int
    bars: int


@dataclass(frozen=True)
class Song:
    number: int  # from 1
    start_bar: int
    bpm: float
    from_bpm: float  # the last song's tempo, ramped from
    sections: tuple[Section, ...]
    key: Key = Key(0)  # every pitched track's loops are moved into it
    transition_bars: int = 0  # its last bars, moving to the next song's corners

    @property
    def end_bar(self) -> int:
        last = self.sections[-1]
        return last.start_bar + last.bars

    @property
    def transition_bar(self) -> int:
        """The first bar of its transition into the next song (its end with none)."""
        return self.end_bar - self.transition_bars


def plan_song(plan: StationPlan, number: int, start_bar: int, from_bpm: float | None,
              rng: np.random.Generator) -> Song:
    """Song ``number`` from ``start_bar``: its sections and its tempo."""
    target = int(rng.integers(plan.song_bars[0] // SECTION_BARS,
                              plan.song_bars[1] // SECTION_BARS + 1)) * SECTION_BARS
    names = ["intro"]
    lengths = [int(rng.choice(plan.sections["intro"].bars))]
    outro = int(rng.choice(plan.sections["outro"].bars))
    while True:  # whole rounds of the cycle until the song is as long as it was drawn
        round_lengths = [int(rng.choice(plan.sections[n].bars)) for n in plan.cycle]
        if names != ["intro"] and sum(lengths) + outro >= target:
            break
        names += plan.cycle
        lengths += round_lengths
    names.append("outro")
    lengths.append(outro)
    sections, bar = [], start_bar
    for name, length in zip(names, lengths, strict=True):
        sections.append(Section(name, float(plan.sections[name].energy), bar, length))
        bar += length
    if from_bpm is None:
        bpm = float(rng.uniform(plan.min_bpm, plan.max_bpm))
    else:
        low = max(plan.min_bpm, from_bpm - plan.bpm_step)
        high = min(plan.max_bpm, from_bpm + plan.bpm_step)
        bpm = float(rng.uniform(low, high))
    bpm = round(bpm, 2)
    key = Key(int(rng.integers(12)), bool(rng.integers(2)))
    return Song(number, start_bar, bpm, bpm if from_bpm is None else from_bpm, tuple(sections),
                key, plan.transition_bars)


@dataclass(frozen=True)
class BarPlan:
    """What the arranger asks for at one bar."""

    bar: int
    bpm: float
    commands: tuple[cmd.Command, ...] = ()
    cue: Mapping[str, object] | None = None  # at a section's first bar: the cue sheet's line


class Arranger:
    """Songs one after another, endlessly; ``at(bar)`` for bars in increasing order."""

    def __init__(self, plan: StationPlan, tracks: Mapping[str, EnergyMap],
                 blend_tracks: tuple[str, ...] = (), seed: int | None = None,
                 pitched_tracks: tuple[str, ...] = (),
                 corner_files: Mapping[str, tuple[str, ...]] | None = None) -> None:
        """``corner_files``: a blend track's MIDI files its songs' corners are drawn from
        (a track without: fresh samples)."""
        self.plan = plan
        self.tracks = dict(tracks)
        self.blend_tracks = blend_tracks
        self.pitched_tracks = pitched_tracks
        self.corner_files = {name: tuple(files) for name, files in (corner_files or {}).items()
                             if files}
        self._rng = np.random.default_rng(seed)
        # a stream of its own, so the songs' shapes do not depend on where corners come from
        self._corner_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
        self.song = plan_song(plan, 1, 0, None, self._rng)
        # the first song's corners are the tracks' own when they start (for a track with
        # files: these files, as its anchors 0-3); the next song's are handed over at bar 0
        self.corners = self._draw_corners()
        self.next_corners = self._draw_corners()
        self._bpm_sent: float | None = None

    def _draw_corners(self) -> dict[str, cmd.NextCorners]:
        """One song's corners for each blend track: four of its files (different ones while
        it has four), else four seeds of fresh samples."""
        out = {}
        for name in self.blend_tracks:
            files = self.corner_files.get(name)
            if files:
                picks = self._corner_rng.choice(len(files), 4, replace=len(files) < 4)
                out[name] = cmd.NextCorners(name, files=tuple(files[i] for i in picks))
            else:
                seeds = self._corner_rng.integers(2 ** 31, size=4)
                out[name] = cmd.NextCorners(name, seeds=tuple(int(s) for s in seeds))
        return out

    def retune(self, plan: StationPlan, tracks: Mapping[str, EnergyMap]) -> None:
        """A reloaded station: its energy maps from the next section, its plan from the next
        song (the song playing keeps its sections)."""
        self.plan = plan
        self.tracks = {name: tracks.get(name, energy) for name, energy in self.tracks.items()}

    def at(self, bar: int) -> BarPlan:
        while bar >= self.song.end_bar:
            last = self.song
            self.song = plan_song(self.plan, last.number + 1, last.end_bar, last.bpm, self._rng)
            self.corners, self.next_corners = self.next_corners, self._draw_corners()
        song = self.song
        bpm = _ramp(song, bar, self.plan.ramp_bars)
        commands: list[cmd.Command] = []
        if bpm != self._bpm_sent:
            commands.append(cmd.SetTempo(bpm))
            self._bpm_sent = bpm
        # the next song's corners: given at the first bar (the last ones land as the
        # corners), then the share of them through the transition
        share = 0.0 if bar == song.start_bar else transition_share(song, bar)
        if share is not None:
            commands += [dataclasses.replace(self.next_corners[name], share=share)
                         for name in self.blend_tracks]
        section = next((s for s in song.sections if s.start_bar == bar), None)
        if section is None:
            return BarPlan(bar, bpm, tuple(commands))
        if bar == song.start_bar:
            commands += [cmd.SetKey(name, song.key.tonic, song.key.minor)
                         for name in self.pitched_tracks]
        playing = []
        for name, energy_map in self.tracks.items():
            commands += section_commands(name, energy_map, section.energy)
            if section.energy >= energy_map.plays_from:
                playing.append(name)
        cue: dict[str, object] = {
            "bar": bar, "song": song.number, "section": section.name, "energy": section.energy,
            "bpm": bpm, "key": str(song.key), "tracks": playing}
        if song.transition_bars and bar + section.bars > song.transition_bar:
            # a section the transition plays in (from its first bar or from within it)
            cue["transition"] = {"to_song": song.number + 1, "from_bar": song.transition_bar,
                                 "bars": song.transition_bars}
        return BarPlan(bar, bpm, tuple(commands), cue)


def section_commands(track: str, energy_map: EnergyMap, energy: float) -> list[cmd.Command]:
    """What a section of ``energy`` asks of ``track``."""
    def at(pair: tuple[float, float]) -> float:
        return round(pair[0] + (pair[1] - pair[0]) * energy, 4)

    out: list[cmd.Command] = [
        cmd.Mute(track, energy < energy_map.plays_from),
        cmd.SetTemperature(track, at(energy_map.temperature)),
        cmd.SetWalkStep(track, at(energy_map.walk_step)),
        cmd.SetBlendSpeed(track, at(energy_map.blend_speed)),
    ]
    if energy_map.velocity_spread is not None:
        out.append(cmd.SetHumanize(track, "velocity_spread", at(energy_map.velocity_spread)))
    if energy_map.density is not None:  # within DENSITY_SPREAD of the energy's target
        target = at(energy_map.density)
        out.append(cmd.SetDensity(track, round(target * (1 - DENSITY_SPREAD), 2),
                                  round(max(target * (1 + DENSITY_SPREAD), target + 1), 2)))
    return out


def transition_share(song: Song, bar: int) -> float | None:
    """How far the corners have moved to the next song's at ``bar``: 0 at the transition's
    first bar, rising by one share a bar (its last bar one short of 1; the next song's
    first bar is 1); None outside the transition's bars after its first."""
    first = song.transition_bar
    if song.transition_bars == 0 or not first < bar < song.end_bar:
        return None
    return round((bar - first) / song.transition_bars, 4)


def _ramp(song: Song, bar: int, ramp_bars: int) -> float:
    """The tempo at ``bar``: from the last song's to this one's over the first bars."""
    into = bar - song.start_bar
    if into >= ramp_bars or math.isclose(song.bpm, song.from_bpm):
        return song.bpm
    return round(song.from_bpm + (song.bpm - song.from_bpm) * (into + 1) / ramp_bars, 2)
