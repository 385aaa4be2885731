"""What the engine plays, as data: a set's tracks, ports and clock in frozen dataclasses,
built from parsed TOML tables (the app reads the file: ``app.set_file``).

Every table maps onto one dataclass; a key the dataclass does not have, a wrong type or a
value out of range is a ``SettingError`` naming the key's path
(``tracks[1].humanize.swing_percent``). Channels and programs are numbered as musicians
number them (channel 1-16, drums on 10; program 1-128) and converted at the MIDI edge.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from latentjam.engine.clocks.factory import ClockConfig
from latentjam.engine.commands import (
    GRID_SIZES,
    GROOVE_FIELDS,
    Interpolate,
    SaveAnchor,
    SetBlendPath,
    SetBlendSpeed,
    SetEvery,
    SetGroove,
    SetLoopBars,
    SetMode,
    SetTemperature,
    SetWalkStep,
)
from latentjam.engine.errors import SettingError
from latentjam.engine.humanize import HumanizeParams
from latentjam.models.service import BASS, DRUMS, MELODY, PARTS

DEFAULT_CHANNELS = {MELODY: 1, BASS: 2, DRUMS: 10}  # musicians' numbering
GROOVAE = "groovae"  # humanize = "groovae": a groove model plays a drum track's loops


@dataclass(frozen=True)
class PortConfig:
    """An output port: created as a virtual port called ``name`` (what a DAW sees), or with
    ``virtual = false`` an existing port that ``name`` names (a synth, a DAW's input)."""

    name: str = "latentjam"
    virtual: bool = True
    clock: bool = True  # send MIDI clock, Start, Stop, Continue, Song Position here

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SettingError(f"name must be a port name, got {self.name!r}")
        for key in ("virtual", "clock"):
            if not isinstance(getattr(self, key), bool):
                raise SettingError(f"{key} must be true or false, got {getattr(self, key)!r}")


def _channel(key: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 16:
        raise SettingError(f"{key} must be a MIDI channel 1..16, got {value!r}")


@dataclass(frozen=True)
class TrackConfig:
    """One voice of the set: a model, where its notes go, and how it plays."""

    name: str
    model: str | None = None  # a shipped model's name or a checkpoint path; None: the default
    config: str | None = None  # the model's config (name or file) when its checkpoint lacks it
    port: str = "main"  # a key of [ports]
    channel: int | None = None  # 1..16; None: 10 for a drum model, else 1
    channels: Mapping[str, int] = field(default_factory=dict)  # a trio's part -> channel
    program: int | None = None  # 1..128, sent when the set starts
    mode: str = "sample"
    bars: int = 2
    every: int = 2  # sample and walk: a new loop after this many plays of the current one
    temperature: float = 0.5
    walk_step: float = 0.25
    interpolate_steps: int = 8
    blend_path: str = "circle"  # blend and grid modes: how the point moves (engine.blend)
    blend_speed: float = 0.125  # circle: turns a loop; walk: the step (the square is 1)
    grid_size: int = 5  # grid mode: cells a side
    groove: str | None = None  # a groove template file (`latentjam groove extract`)
    groove_amount: float = 100.0  # percent of the groove laid on ...
    groove_timing: float = 100.0  # ... of its timing
    groove_velocity: float = 100.0  # ... of its velocity
    anchors: Mapping[int, str] = field(default_factory=dict)  # slot -> MIDI file to encode
    seed: int | None = None
    humanize: HumanizeParams = field(default_factory=HumanizeParams)
    # humanize = "groovae" (or model = "groovae" in [tracks.humanize]): a drum track's loops
    # take their velocities and timing from the GrooVAE checkpoint ``groovae_model``
    groovae: bool = False
    groovae_model: str | None = None
    groovae_config: str | None = None  # its config (name or file) when the checkpoint lacks it

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "/" in self.name \
                or " " in self.name:
            raise SettingError(f"name must be a word without spaces or '/' (it appears in "
                               f"OSC addresses), got {self.name!r}")
        for key in ("model", "config", "groovae_model", "groovae_config"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value):
                raise SettingError(f"{key} must be a name or a path, got {value!r}")
        if not isinstance(self.groovae, bool):
            raise SettingError(f"groovae must be true or false, got {self.groovae!r}")
        if self.groovae and self.groovae_model is None:
            raise SettingError('humanize = "groovae" needs groovae_model = "PATH" (a GrooVAE '
                               'checkpoint: none ships with latentjam, see docs/models.md)')
        for key in ("groovae_model", "groovae_config"):
            if getattr(self, key) is not None and not self.groovae:
                raise SettingError(f'{key} is read only with humanize = "groovae"')
        if self.channel is not None:
            _channel("channel", self.channel)
        for part, channel in self.channels.items():
            if part not in PARTS:
                raise SettingError(f"channels: unknown part {part!r} (parts: "
                                   f"{', '.join(PARTS)})")
            _channel(f"channels.{part}", channel)
        if self.program is not None and (isinstance(self.program, bool)
                                         or not isinstance(self.program, int)
                                         or not 1 <= self.program <= 128):
            raise SettingError(f"program must be 1..128, got {self.program!r}")
        # The commands a controller would send check the same ranges.
        SetMode(self.name, self.mode)
        SetLoopBars(self.name, self.bars)
        SetEvery(self.name, self.every)
        SetTemperature(self.name, self.temperature)
        SetWalkStep(self.name, self.walk_step)
        try:
            Interpolate(self.name, 0, 1, self.interpolate_steps)
        except SettingError as err:
            raise SettingError(f"interpolate_{err}") from None
        if self.groove is not None and (not isinstance(self.groove, str) or not self.groove):
            raise SettingError(f"groove must name a .groove file, got {self.groove!r}")
        for field_name in GROOVE_FIELDS:
            try:
                SetGroove(self.name, field_name, getattr(self, f"groove_{field_name}"))
            except SettingError as err:
                raise SettingError(f"groove_{err}") from None
        SetBlendPath(self.name, self.blend_path)
        SetBlendSpeed(self.name, self.blend_speed)
        if isinstance(self.grid_size, bool) or self.grid_size not in GRID_SIZES:
            raise SettingError(f"grid_size must be {GRID_SIZES.start}..{GRID_SIZES.stop - 1}, "
                               f"got {self.grid_size!r}")
        for slot, path in self.anchors.items():
            try:
                SaveAnchor(self.name, slot)
            except SettingError as err:
                raise SettingError(f"anchors: {err}") from None
            if not isinstance(path, str) or not path:
                raise SettingError(f"anchors.{slot} must name a MIDI file, got {path!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)
                                      or self.seed < 0):
            raise SettingError(f"seed must be an int >= 0, got {self.seed!r}")


@dataclass(frozen=True)
class SetConfig:
    tracks: tuple[TrackConfig, ...]
    ports: Mapping[str, PortConfig] = field(default_factory=lambda: {"main": PortConfig()})
    clock: ClockConfig = field(default_factory=ClockConfig)
    backend: str | None = None  # MIDI system: "alsa", "jack", ...; None: MIDO_BACKEND or default
    record_port: str | None = None  # where loops are played in: an existing input by name;
    # None: a virtual input "latentjam in" (opened at the first recording)
    anchor_dirs: tuple[str, ...] = ("anchors",)  # the folders a controller's anchor/load
    # may read from (relative ones from where `play` runs); a path elsewhere is refused
    lookahead_ms: float = 100.0  # how far ahead messages go to the output thread
    autostart: bool = True  # a leading clock starts as soon as the first loops are ready

    def __post_init__(self) -> None:
        if not self.tracks:
            raise SettingError("tracks: a set needs at least one track")
        names = [track.name for track in self.tracks]
        for name in names:
            if names.count(name) > 1:
                raise SettingError(f"tracks: two tracks are called {name!r}")
        if not self.ports:
            raise SettingError("ports: a set needs at least one output port")
        for index, track in enumerate(self.tracks):
            if track.port not in self.ports:
                raise SettingError(f"tracks[{index}].port: {track.port!r} is not a key of "
                                   f"[ports] ({', '.join(self.ports)})")
        if isinstance(self.lookahead_ms, bool) or not isinstance(self.lookahead_ms, int | float) \
                or not 20 <= self.lookahead_ms <= 1000:
            raise SettingError(f"lookahead_ms must be 20..1000, got {self.lookahead_ms!r}")
        if not isinstance(self.anchor_dirs, tuple) or not all(
                isinstance(d, str) and d for d in self.anchor_dirs):
            raise SettingError(f"anchor_dirs must be a list of folder names, got "
                               f"{self.anchor_dirs!r}")
        for key in ("backend", "record_port"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value):
                raise SettingError(f"{key} must be a name, got {value!r}")


# -- parsed TOML -> dataclasses ---------------------------------------------------------------


def build(cls: type, table: object, where: str, nested: Mapping[str, Any] | None = None) -> Any:
    """``cls(**table)``, with unknown keys and validation errors named by their path."""
    if not isinstance(table, dict):
        raise SettingError(f"{where} must be a table, got {table!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    for key in table:
        if key not in known:
            raise SettingError(f"{where}.{key}: unknown key (known: {', '.join(sorted(known))})"
                               .lstrip("."))
    values = {key: tuple(v) if isinstance(v, list) else v for key, v in table.items()}
    values.update(nested or {})
    try:
        return cls(**values)
    except (SettingError, TypeError, ValueError) as err:
        prefix = f"{where}: " if where else ""
        raise SettingError(f"{prefix}{err}") from None


def _track(table: object, where: str) -> TrackConfig:
    if not isinstance(table, dict):
        raise SettingError(f"{where} must be a table, got {table!r}")
    nested: dict[str, Any] = {}
    if "humanize" in table:
        human = table["humanize"]
        if human == GROOVAE:  # the model's feel; late, the grid
            human = {"model": GROOVAE}
        human = dict(human) if isinstance(human, dict) else None
        if human is None:
            raise SettingError(f'{where}.humanize must be a table or "{GROOVAE}"')
        by = human.pop("model", None)
        if by is not None and by != GROOVAE:
            raise SettingError(f'{where}.humanize.model must be "{GROOVAE}", got {by!r}')
        if by is not None:
            if "groovae" in table:
                raise SettingError(f"{where}: groovae is set by humanize")
            nested["groovae"] = True
        if "drum_accents" in human:
            human["drum_accents"] = tuple(tuple(pair) if isinstance(pair, list) else pair
                                          for pair in human["drum_accents"])
        nested["humanize"] = build(HumanizeParams, human, f"{where}.humanize")
    if "anchors" in table:
        anchors = table["anchors"]
        if not isinstance(anchors, dict) or not all(str(k).isdigit() for k in anchors):
            raise SettingError(f"{where}.anchors must be a table of slot numbers to MIDI files "
                               f"(e.g. 0 = \"intro.mid\"), got {anchors!r}")
        nested["anchors"] = {int(k): v for k, v in anchors.items()}
    if "channels" in table:
        if not isinstance(table["channels"], dict):
            raise SettingError(f"{where}.channels must be a table of part = channel")
        nested["channels"] = dict(table["channels"])
    return build(TrackConfig, table, where, nested)


def set_config_from_dict(data: Mapping[str, Any], where: str = "") -> SetConfig:
    """A ``SetConfig`` from parsed TOML; errors name ``where`` (the file) and the key."""
    prefix = f"{where}: " if where else ""
    try:
        known = {f.name for f in dataclasses.fields(SetConfig)}
        for key in data:
            if key not in known:
                raise SettingError(f"unknown key {key!r} (known: {', '.join(sorted(known))})")
        tracks = data.get("tracks", [])
        if not isinstance(tracks, list):
            raise SettingError("tracks must be an array of tables ([[tracks]])")
        ports = data.get("ports", {"main": {}})
        if not isinstance(ports, dict):
            raise SettingError("ports must be a table of port tables ([ports.main])")
        nested = {
            "tracks": tuple(_track(t, f"tracks[{i}]") for i, t in enumerate(tracks)),
            "ports": {key: build(PortConfig, value, f"ports.{key}")
                      for key, value in ports.items()},
            "clock": build(ClockConfig, data.get("clock", {}), "clock"),
        }
        rest = {key: value for key, value in data.items() if key not in nested}
        return build(SetConfig, rest, "", nested)
    except SettingError as err:
        raise SettingError(f"{prefix}{err}") from None
