"""A radio station's TOML file (``configs/radio.toml`` is the documented example): a live
set (tracks, ports, clock, OSC) plus ``[station]``, the shape of its songs, and each track's
``[tracks.energy]``, how a section's energy reaches it. Errors name the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentjam.app.set_file import LiveSet, live_set_from_dict, read_toml
from latentjam.controllers.arranger import EnergyMap, SectionKind, StationPlan
from latentjam.engine.errors import SettingError
from latentjam.engine.set_config import build

EXAMPLE_STATION = Path(__file__).resolve().parent.parent / "configs" / "radio.toml"


@dataclass(frozen=True)
class StreamConfig:
    """Where ``radio --stream`` sends the station: an Icecast mount. The password is read
    from an environment variable, never from the file."""

    host: str = "127.0.0.1"
    port: int = 8000
    mount: str = "/radio.ogg"
    user: str = "source"
    password_env: str = "LATENTJAM_ICECAST_PASSWORD"

    def __post_init__(self) -> None:
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
    energy_tables = []
    plain_tracks = []
    for track in tracks:
        track = dict(track) if isinstance(track, dict) else track
        energy_tables.append(track.pop("energy", {}) if isinstance(track, dict) else {})
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
    except SettingError as err:
        raise SettingError(f"{prefix}{err}") from None
    return Station(live, plan, energy, seed, stream)


def load_station(path: str | Path) -> Station:
    """Read a station's TOML file."""
    return station_from_dict(read_toml(Path(path)), str(path))
