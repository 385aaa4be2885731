"""The shipped Open Stage Control session (layouts/open-stage-control.json) cannot drift from
the address table: every message a widget sends is read by ``osc_addresses.parse``, every
display shows a feedback address, its tabs are the default set's tracks, and the file is
what its builder writes."""

import importlib.util
import json
from pathlib import Path

import pytest
from latentjam.app.set_file import default_tracks
from latentjam.controllers.osc_addresses import Ignored, feedback, parse
from latentjam.engine import commands as cmd
from latentjam.engine.engine_state import EngineState, TrackState
from latentjam.engine.humanize import HumanizeParams

LAYOUTS = Path(__file__).resolve().parents[2] / "layouts"
SESSION = LAYOUTS / "open-stage-control.json"
TRACKS = [track["name"] for track in default_tracks()]


def widgets(node):
    for child in node.get("tabs", []) + node.get("widgets", []):
        yield child
        yield from widgets(child)


def sent(widget):
    """Every argument list the widget can send (its preArgs first): its range's ends, a
    button's on and off, each choice of a dropdown."""
    kind, pre = widget["type"], list(widget.get("preArgs") or [])
    if kind == "fader":
        ends = widget["range"]
        values = [[ends["min"]], [ends["max"]]]
        if widget.get("decimals", 2) == 0:  # whole numbers in between too
            values.append([float(round((ends["min"] + ends["max"]) / 2))])
        else:
            values.append([(ends["min"] + ends["max"]) / 2])
    elif kind == "button":
        values = {"tap": [[widget["on"]]], "toggle": [[widget["on"]], [widget["off"]]],
                  "push": [[widget["on"]], [widget["off"]]]}[widget["mode"]]
    elif kind == "dropdown":
        values = [[value] for value in widget["values"].values()]
    elif kind == "xy":
        x, y = widget["rangeX"], widget["rangeY"]
        values = [[x["min"], y["min"]], [x["max"], y["max"]]]
    else:
        raise AssertionError(f"no messages known for a {kind} widget ({widget['id']})")
    # Open Stage Control sends every number as a float unless typeTags say otherwise
    return [[float(v) if isinstance(v, int | float) and not widget.get("typeTags") else v
             for v in pre + args] for args in values]


def a_state():
    tracks = tuple(TrackState(name, "sample", 0.5, 0.25, 2, 2, False, False, HumanizeParams(),
                              "main", 0, 0, 0, ()) for name in TRACKS)
    return EngineState(True, "internal", "playing", 120.0, 0, 0, 0, tracks)


def test_it_is_an_open_stage_control_session():
    session = json.loads(SESSION.read_text(encoding="utf-8"))
    assert session["type"] == "session" and session["createdWith"] == "Open Stage Control"
    assert session["content"]["type"] == "root"
    ids = [w["id"] for w in widgets(session["content"])]
    assert len(ids) == len(set(ids))  # widgets sharing an id would act as clones


def test_every_widget_sends_what_the_address_table_takes():
    session = json.loads(SESSION.read_text(encoding="utf-8"))
    shown = feedback(a_state())
    checked = 0
    for widget in widgets(session["content"]):
        if widget["type"] in ("tab", "panel"):
            continue
        address = widget["address"]
        if widget.get("interaction") is False:  # a display: it shows feedback
            assert address in shown, widget["id"]
            continue
        for args in sent(widget):
            what = parse(address, args)  # raises OscMessageError naming what is wrong
            assert isinstance(what, cmd.Command | Ignored) or address.endswith("/subscribe"), \
                (widget["id"], args, what)
            checked += 1
    assert checked > 50


def test_its_tabs_are_the_default_sets_tracks_with_every_humanize_fader():
    session = json.loads(SESSION.read_text(encoding="utf-8"))
    tabs = session["content"]["tabs"]
    assert [tab["label"] for tab in tabs] == ["set", *TRACKS]
    addresses = {w.get("address") for w in widgets(session["content"])}
    for track in TRACKS:
        base = f"/latentjam/track/{track}"
        for what in ("mute", "solo", "mode", "temperature", "walk_step", "every", "bars",
                     "blend", "anchor/save",
                     *(f"humanize/{field}" for field in cmd.HUMANIZE_FIELDS)):
            assert f"{base}/{what}" in addresses
    assert {"/latentjam/play", "/latentjam/stop", "/latentjam/tempo"} <= addresses


@pytest.mark.parametrize("widget_type", ["xy"])
def test_the_blend_pad_sends_x_and_y(widget_type):
    session = json.loads(SESSION.read_text(encoding="utf-8"))
    pads = [w for w in widgets(session["content"]) if w["type"] == widget_type]
    assert len(pads) == len(TRACKS)
    for pad in pads:
        assert parse(pad["address"], [0.25, 0.75]) == cmd.SetBlend(
            pad["address"].split("/")[3], 0.25, 0.75)


def test_the_file_is_what_its_builder_writes():
    spec = importlib.util.spec_from_file_location("build_osc_layout",
                                                  LAYOUTS / "build_open_stage_control.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    assert SESSION.read_text(encoding="utf-8") == builder.layout_text(), \
        "run python layouts/build_open_stage_control.py"
