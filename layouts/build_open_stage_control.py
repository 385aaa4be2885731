"""Writes ``layouts/open-stage-control.json``: an Open Stage Control session (its JSON
session file) speaking docs/osc.md, with a tab for the set's transport and one per track of
the default set (``configs/live.toml``).

Run ``python layouts/build_open_stage_control.py`` after the address table or the default
set changes; tests/controllers/test_open_stage_control_layout.py checks every widget's
messages against ``controllers.osc_addresses`` and the file against this script's output.
``python layouts/build_open_stage_control.py my_set.toml my_set.json`` writes a session for
another set's tracks. Widget properties left out take Open Stage Control's defaults.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from latentjam.app.set_file import default_tracks, load_live_set
from latentjam.controllers.osc_addresses import HUMANIZE_FIELDS, ROOT
from latentjam.engine import commands as cmd
from latentjam.engine.blend import BLEND_PATHS

OUT = Path(__file__).resolve().parent / "open-stage-control.json"
SESSION_VERSION = "1.26.0"  # the Open Stage Control release whose session format this follows

# humanize field -> fader range (the engine's limits; HumanizeParams checks them)
HUMANIZE_RANGES = {
    "velocity_spread": (0, 64), "accent_downbeat": (-126, 126), "accent_beat": (-126, 126),
    "accent_offbeat": (-126, 126), "timing_spread_ms": (0, 50), "swing_percent": (0, 100),
    "push_ms": (-100, 100), "length_spread_percent": (0, 50),
}
WHOLE = {"accent_downbeat", "accent_beat", "accent_offbeat"}


def panel(id_: str, widgets: list[dict], layout: str = "vertical", **props) -> dict:
    return {"type": "panel", "id": id_, "layout": layout, "expand": True, "scroll": True,
            "widgets": widgets, **props}


def fader(id_: str, address: str, low: float, high: float, label: str, decimals: int = 2,
          **props) -> dict:
    return {"type": "fader", "id": id_, "label": label, "address": address,
            "range": {"min": low, "max": high}, "decimals": decimals, "horizontal": True,
            "height": 70, "expand": False, **props}


def button(id_: str, address: str, label: str, mode: str, pre_args: list | None = None,
           **props) -> dict:
    return {"type": "button", "id": id_, "label": label, "address": address, "mode": mode,
            "on": 1, "off": 0, "preArgs": pre_args or [], "height": 70, **props}


def dropdown(id_: str, address: str, label: str, values: list) -> dict:
    return {"type": "dropdown", "id": id_, "label": label, "address": address,
            "values": {str(value): value for value in values}, "height": 70}


def display(id_: str, address: str, label: str) -> dict:
    """A feedback-only text widget."""
    return {"type": "text", "id": id_, "label": label, "address": address,
            "interaction": False, "height": 50}


def transport_tab() -> dict:
    buttons = [button("play", f"{ROOT}/play", "play", "tap"),
               button("continue", f"{ROOT}/continue", "continue", "tap"),
               button("stop", f"{ROOT}/stop", "stop", "tap"),
               button("panic", f"{ROOT}/panic", "panic", "tap"),
               button("subscribe", f"{ROOT}/subscribe", "feedback", "tap",
                      comments="press once: the engine sends its state back to this app")]
    info = [display("beat", f"{ROOT}/beat", "bar, beat"),
            display("playing", f"{ROOT}/playing", "playing"),
            display("clock", f"{ROOT}/clock", "clock")]
    return {"type": "tab", "id": "tab_set", "label": "set", "layout": "vertical",
            "widgets": [panel("transport", buttons, "horizontal", height=90, expand=False),
                        fader("tempo", f"{ROOT}/tempo", cmd.MIN_BPM, cmd.MAX_BPM,
                              "tempo (BPM)", decimals=1),
                        panel("info", info, "horizontal", height=70, expand=False)]}


def track_tab(name: str) -> dict:
    base = f"{ROOT}/track/{name}"
    key = name.replace(" ", "_")
    switches = [button(f"{key}_mute", f"{base}/mute", "mute", "toggle"),
                button(f"{key}_solo", f"{base}/solo", "solo", "toggle"),
                dropdown(f"{key}_mode", f"{base}/mode", "mode", list(cmd.MODES)),
                dropdown(f"{key}_bars", f"{base}/bars", "bars", list(cmd.LOOP_BARS))]
    anchors = [button(f"{key}_save_{slot}", f"{base}/anchor/save", f"save {slot}", "push",
                      [slot]) for slot in range(4)]
    faders = [fader(f"{key}_temperature", f"{base}/temperature", 0, cmd.MAX_TEMPERATURE,
                    "temperature"),
              fader(f"{key}_walk_step", f"{base}/walk_step", 0, 1, "walk step"),
              fader(f"{key}_every", f"{base}/every", 1, 64, "every (loops)", decimals=0)]
    humanize = [fader(f"{key}_humanize_{field}", f"{base}/humanize/{field}",
                      *HUMANIZE_RANGES[field], field.replace("_", " "),
                      decimals=0 if field in WHOLE else 1)
                for field in HUMANIZE_FIELDS]
    blend = [{"type": "xy", "id": f"{key}_blend", "label": "blend (corners 0-3)",
              "address": f"{base}/blend", "rangeX": {"min": 0, "max": 1},
              "rangeY": {"min": 0, "max": 1}, "expand": True},
             dropdown(f"{key}_blend_path", f"{base}/blend/path", "path", list(BLEND_PATHS)),
             fader(f"{key}_blend_speed", f"{base}/blend/speed", 0, 1, "speed")]
    info = [display(f"{key}_loops", f"{base}/loops", "loops"),
            display(f"{key}_late", f"{base}/late", "late")]
    return {"type": "tab", "id": f"tab_{key}", "label": name, "layout": "horizontal",
            "widgets": [panel(f"{key}_play", [panel(f"{key}_switches", switches, "horizontal",
                                                    height=90, expand=False),
                                              *faders,
                                              panel(f"{key}_anchors", anchors, "horizontal",
                                                    height=90, expand=False),
                                              panel(f"{key}_info", info, "horizontal",
                                                    height=70, expand=False)]),
                        panel(f"{key}_blend_panel", blend),
                        panel(f"{key}_humanize", humanize)]}


def session(tracks: list[str]) -> dict:
    return {"createdWith": "Open Stage Control", "version": SESSION_VERSION,
            "type": "session",
            "content": {"type": "root", "id": "root",
                        "tabs": [transport_tab(), *(track_tab(name) for name in tracks)]}}


def layout_text(set_file: Path | None = None) -> str:
    """The session file's text for the tracks of ``set_file`` (None: the default set)."""
    if set_file is None:
        tracks = [track["name"] for track in default_tracks()]
    else:
        tracks = [track.name for track in load_live_set(set_file).engine.tracks]
    return json.dumps(session(tracks), indent=2) + "\n"


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    out.write_text(layout_text(source), encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
