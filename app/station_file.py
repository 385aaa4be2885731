"""A radio station's TOML file (``configs/radio.toml`` is the documented example): a live
set (tracks, ports, clock, OSC) plus ``[station]``, the shape of its songs, each track's
``[tracks.energy]``, how a section's energy reaches it, and a blend track's ``song_anchors``,
the folder of MIDI loops its songs' corners are drawn from (every file read once at load,
bounded as an anchor is, so a bad one stops the station before any sound). Errors name the
file, the key and the value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentjam.app.set_file import LiveSet, live_set_from_dict, read_toml
from latentjam.controllers.arranger import EnergyMap, SectionKind, StationPlan
from latentjam.engine.blend import CORNER_SLOTS
from latentjam.engine.errors import SettingError
from latentjam.engine.set_config import TrackConfig, build

EXAMPLE_STATION = Path(__file__).resolve().parent.parent / "configs" / "radio.toml"
MAX_SONG_ANCHORS = 128  # MIDI files a song_anchors folder may hold (each is read at load)


@dataclass(frozen=True)
class StreamConfig:
    """Where ``radio --stream`` sends the station: an Icecast mount. The password is read
    from an environment variable, never from the file."""

    host: str = "127.0.0.1"
    port: int = 8000
    mount: str = "/radio.ogg"
    user: str = "source"
    password_env: str = "LATENTJAM_ICECAST_PASSWORD"
    format: str = "vorbis"  # vorbis, opus or mp3
    retry_max_s: float = 30.0  # the longest wait between tries after the server is lost
    give_up_s: float | None = None  # end the stream after this long away; None: never

    def __post_init__(self) -> None:
        if self.format not in ("vorbis", "opus", "mp3"):
            raise SettingError(f"format must be vorbis, opus or mp3, got {self.format!r}")
        for key in ("retry_max_s", "give_up_s"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int | float) or value <= 0):
                raise SettingError(f"{key} must be a number of seconds above 0, got "
                                   f"{value!r}")
        for key in ("host", "user", "password_env"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key):
                raise SettingError(f"{key} must be a name, got {getattr(self, key)!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int) \
                or not 1 <= self.port <= 65535:
            raise SettingError(f"port must be 1..65535, got {self.port!r}")
        if not isinstance(self.mount, str) or not self.mount.startswith("/") \
                or len(self.mount) < 2:
            raise SettingError(f"mount must be a path such as /radio.ogg, got "
                               f"{self.mount!r}")


@dataclass(frozen=True)
class Station:
    live: LiveSet
    plan: StationPlan
    energy: Mapping[str, EnergyMap]  # track name -> how energy reaches it
    seed: int | None = None  # None: a new station each start
    stream: StreamConfig | None = None  # [stream]: where `radio --stream` sends it
    # track name -> the MIDI files (absolute, in name order) its songs' corners come from
    song_anchors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def blend_tracks(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.live.engine.tracks if t.mode in ("blend", "grid"))

    @property
    def pitched_tracks(self) -> tuple[str, ...]:
        """The tracks whose models play notes of a key (all but drum models)."""
        from latentjam.models.trained_model import model_config

        return tuple(t.name for t in self.live.engine.tracks
                     if model_config(t.model, t.config).converter.kind != "drums")


def station_from_dict(data: Mapping[str, Any], where: str = "") -> Station:
    """A ``Station`` from parsed TOML; errors name ``where`` (the file) and the key."""
    prefix = f"{where}: " if where else ""
    data = dict(data)
    table = data.pop("station", {})
    stream_table = data.pop("stream", None)
    tracks = data.get("tracks")
    if not isinstance(tracks, list) or not tracks:
        raise SettingError(f"{prefix}tracks: a station needs [[tracks]]")
    energy_tables, folders, plain_tracks = [], [], []
    for track in tracks:
        track = dict(track) if isinstance(track, dict) else track
        energy_tables.append(track.pop("energy", {}) if isinstance(track, dict) else {})
        folders.append(track.pop("song_anchors", None) if isinstance(track, dict) else None)
        plain_tracks.append(track)
    live = live_set_from_dict({**data, "tracks": plain_tracks}, where)
    try:
        if not isinstance(table, dict):
            raise SettingError("station must be a table ([station])")
        table = dict(table)
        seed = table.pop("seed", None)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                                 or seed < 0):
            raise SettingError(f"station.seed must be an int >= 0, got {seed!r}")
        nested = {}
        if "sections" in table:
            sections = table["sections"]
            if not isinstance(sections, dict) or not sections:
                raise SettingError("station.sections must be a table of section tables")
            nested["sections"] = {name: build(SectionKind, kind, f"station.sections.{name}")
                                  for name, kind in sections.items()}
        plan = build(StationPlan, table, "station", nested)
        energy = {track.name: build(EnergyMap, energy_tables[index],
                                    f"tracks[{index}].energy")
                  for index, track in enumerate(live.engine.tracks)}
        stream = None if stream_table is None else build(StreamConfig, stream_table, "stream")
        song_anchors = {track.name: song_anchor_files(folder, track, index)
                        for index, (track, folder) in enumerate(zip(live.engine.tracks,
                                                                    folders, strict=True))
                        if folder is not None}
    except SettingError as err:
        raise SettingError(f"{prefix}{err}") from None
    return Station(live, plan, energy, seed, stream, song_anchors)


def song_anchor_files(folder: object, track: TrackConfig, index: int) -> tuple[str, ...]:
    """The MIDI files under ``folder`` (subfolders included, in name order), each read as the
    track's model reads an anchor (at most ``MAX_CLIP_BYTES``, one window it can play), so
    none fails later; a SettingError names the key, the folder and the file."""
    from latentjam.models.clip_reader import MAX_CLIP_BYTES, read_clip
    from latentjam.models.errors import ModelError
    from latentjam.models.midi_io import find_midi_files
    from latentjam.models.trained_model import model_config

    where = f"tracks[{index}].song_anchors"
    if not isinstance(folder, str) or not folder:
        raise SettingError(f"{where} must name a folder of MIDI files, got {folder!r}")
    where = f"{where} = {folder!r}"
    if track.mode not in ("blend", "grid"):
        raise SettingError(f"{where}: only a blend or grid track has corners to draw (this "
                           f"one's mode is {track.mode})")
    if set(track.anchors) & set(CORNER_SLOTS):
        raise SettingError(f"{where}: the track's anchors 0-3 choose its corners too; give "
                           f"one or the other")
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise SettingError(f"{where}: no such folder")
    try:
        files = find_midi_files(root)
        if not files:
            raise SettingError(f"{where}: holds no MIDI file (.mid, .midi)")
        if len(files) > MAX_SONG_ANCHORS:
            raise SettingError(f"{where}: holds {len(files)} MIDI files, more than the "
                               f"{MAX_SONG_ANCHORS} read here")
        config = model_config(track.model, track.config)
        for path in files:  # symbolic links that lead outside are refused, as an anchor's
            read_clip(path, config, [root], MAX_CLIP_BYTES)
    except ModelError as err:
        raise SettingError(f"{where}: {err}") from None
    except OSError as err:
        raise SettingError(f"{where}: cannot be listed ({err.strerror})") from None
    return tuple(str(path.resolve()) for path in files)


def load_station(path: str | Path) -> Station:
    """Read a station's TOML file (its path kept: learned controller mappings go there)."""
    station = station_from_dict(read_toml(Path(path)), str(path))
    return dataclasses.replace(station, live=dataclasses.replace(station.live, path=Path(path)))
