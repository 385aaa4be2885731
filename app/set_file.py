"""A live set's TOML file (``configs/live.toml`` is the documented example): what the engine
plays (``engine.set_config.SetConfig``) and how controllers reach it (``[osc]``, ``[web]``).

A file without ``[[tracks]]`` plays the example's tracks, so the defaults are stated once, in
the file a user reads. Errors name the file and the key's path.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentjam.app.groove_file import read_groove
from latentjam.controllers.cc_config import (
    ControllerConfig,
    check_mappings,
    controller_config_from_dict,
)
from latentjam.controllers.osc_config import OscConfig
from latentjam.controllers.web.config import WebConfig, check_reach
from latentjam.engine.errors import SettingError
from latentjam.engine.groove import GrooveTemplate
from latentjam.engine.set_config import SetConfig, build, set_config_from_dict

EXAMPLE_SET = Path(__file__).resolve().parent.parent / "configs" / "live.toml"


@dataclass(frozen=True)
class LiveSet:
    engine: SetConfig
    osc: OscConfig = field(default_factory=OscConfig)
    grooves: Mapping[str, GrooveTemplate] = field(default_factory=dict)  # by track name
    web: WebConfig = field(default_factory=WebConfig)  # the control page (docs/web.md)
    controller: ControllerConfig = field(default_factory=ControllerConfig)  # MIDI CC
    path: Path | None = None  # the file it was read from (learned mappings are saved there)


def default_tracks() -> list[dict[str, Any]]:
    """What a set without ``[[tracks]]`` plays: the tracks of the documented example (the
    default melody on channel 1 and the default drums on channel 10 walking slowly, both
    humanized)."""
    try:
        tracks = tomllib.loads(EXAMPLE_SET.read_text(encoding="utf-8"))["tracks"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as err:
        raise SettingError(f"{EXAMPLE_SET}: the default set cannot be read ({err}); "
                           f"reinstall latentjam or give --config") from None
    return tracks


def live_set_from_dict(data: Mapping[str, Any], where: str = "") -> LiveSet:
    """A ``LiveSet`` from parsed TOML; errors name ``where`` (the file) and the key."""
    engine = {key: value for key, value in data.items() if key not in ("osc", "web",
                                                                        "controller")}
    engine.setdefault("tracks", default_tracks())
    config = set_config_from_dict(engine, where)
    prefix = f"{where}: " if where else ""
    try:
        osc = build(OscConfig, data.get("osc", {}), "osc")
        web = build(WebConfig, data.get("web", {}), "web")
        check_reach(web, osc)
        controller = controller_config_from_dict(data.get("controller", {}))
        check_mappings(controller, [track.name for track in config.tracks])
    except SettingError as err:
        raise SettingError(f"{prefix}{err}") from None
    grooves = {}
    for index, track in enumerate(config.tracks):
        if track.groove is not None:
            try:
                grooves[track.name] = read_groove(track.groove)
            except SettingError as err:
                raise SettingError(f"{prefix}tracks[{index}].groove: {err}") from None
    return LiveSet(config, osc, grooves, web, controller)


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables; a SettingError naming the file says why not."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SettingError(f"{path}: cannot read: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise SettingError(f"{path}: not valid TOML: {err}") from None


def load_live_set(path: str | Path) -> LiveSet:
    """Read a live set's TOML file."""
    live = live_set_from_dict(read_toml(Path(path)), str(path))
    return dataclasses.replace(live, path=Path(path))
