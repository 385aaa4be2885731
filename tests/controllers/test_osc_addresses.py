"""The OSC address map as pure functions: what each message asks for, why a message is
refused, and the feedback messages of a state."""

import dataclasses

import pytest
from latentjam.controllers.osc_addresses import (
    Ignored,
    OscMessageError,
    StateQuery,
    Subscribe,
    Unsubscribe,
    changed,
    feedback,
    parse,
)
from latentjam.engine import commands as cmd
from latentjam.engine.engine_state import EngineState, TrackState
from latentjam.engine.humanize import HumanizeParams

T = "/latentjam/track/bass"


@pytest.mark.parametrize("address, args, expected", [
    ("/latentjam/play", (), cmd.Play()),
    ("/latentjam/play", (1,), cmd.Play()),
    ("/latentjam/play", (True,), cmd.Play()),
    ("/latentjam/play", (0.0,), Ignored()),
    ("/latentjam/continue", (1.0,), cmd.Play(resume=True)),
    ("/latentjam/stop", (), cmd.Stop()),
    ("/latentjam/stop", (False,), Ignored()),
    ("/latentjam/panic", (1.0,), cmd.Panic()),
    ("/latentjam/tempo", (133,), cmd.SetTempo(133.0)),
    ("/latentjam/tempo", (97.5,), cmd.SetTempo(97.5)),
    (f"{T}/mode", ("hold",), cmd.SetMode("bass", "hold")),
    (f"{T}/temperature", (2,), cmd.SetTemperature("bass", 2.0)),
    (f"{T}/walk_step", (0.0,), cmd.SetWalkStep("bass", 0.0)),
    (f"{T}/bars", (16.0,), cmd.SetLoopBars("bass", 16)),
    (f"{T}/every", (64,), cmd.SetEvery("bass", 64)),
    (f"{T}/mute", (), cmd.Mute("bass", True)),
    (f"{T}/mute", (0.0,), cmd.Mute("bass", False)),
    (f"{T}/mute", (True,), cmd.Mute("bass", True)),
    (f"{T}/mute", (False,), cmd.Mute("bass", False)),
    (f"{T}/solo", (1,), cmd.Solo("bass", True)),
    (f"{T}/solo", (0,), cmd.Solo("bass", False)),
    (f"{T}/anchor/save", (7.0,), cmd.SaveAnchor("bass", 7)),
    (f"{T}/anchor/save", (3, 1.0), cmd.SaveAnchor("bass", 3)),
    (f"{T}/anchor/save", (3, 0.0), Ignored()),
    (f"{T}/anchor/load", (0, "/tmp/x.mid"), cmd.LoadAnchor("bass", 0, "/tmp/x.mid")),
    (f"{T}/anchor/record", (5,), cmd.RecordAnchor("bass", 5, 2)),
    (f"{T}/interpolate", (0.0, 1.0), cmd.Interpolate("bass", 0, 1, 8)),
    (f"{T}/interpolate", (2, 6, 32.0), cmd.Interpolate("bass", 2, 6, 32)),
    (f"{T}/blend", (0.25, 1), cmd.SetBlend("bass", 0.25, 1.0)),
    (f"{T}/blend", (0, 0.5, 8.0), cmd.SetBlend("bass", 0.0, 0.5, 8)),
    (f"{T}/blend/path", ("walk",), cmd.SetBlendPath("bass", "walk")),
    (f"{T}/blend/speed", (0.05,), cmd.SetBlendSpeed("bass", 0.05)),
    (f"{T}/grid/cell", (2.0, 4), cmd.SetGridCell("bass", 2, 4)),
    (f"{T}/groove/amount", (50,), cmd.SetGroove("bass", "amount", 50.0)),
    (f"{T}/key", (9, 1), cmd.SetKey("bass", 9, True)),
    (f"{T}/key", (-1.0,), cmd.SetKey("bass", None)),
    (f"{T}/groove/velocity", (0.0,), cmd.SetGroove("bass", "velocity", 0.0)),
    ("/latentjam/state", (), StateQuery()),
    ("/latentjam/state", (1.0,), StateQuery()),
    ("/latentjam/state", (0.0,), Ignored()),
    ("/latentjam/subscribe", (), Subscribe(None)),
    ("/latentjam/subscribe", (1.0,), Subscribe(None)),
    ("/latentjam/subscribe", (0.0,), Ignored()),
    ("/latentjam/subscribe", (9001.0,), Subscribe(9001)),
    ("/latentjam/unsubscribe", (), Unsubscribe()),
])
def test_each_address_and_its_tablet_spellings(address, args, expected):
    assert parse(address, args) == expected


@pytest.mark.parametrize("field", cmd.HUMANIZE_FIELDS)
def test_every_humanize_field_has_an_address_taking_a_float(field):
    value = 3.0  # inside every field's range; a whole float for the int fields
    command = parse(f"{T}/humanize/{field}", (value,))
    assert command == cmd.SetHumanize("bass", field, value)
    assert type(command.value) is type(getattr(HumanizeParams(), field))


@pytest.mark.parametrize("address, args, reason", [
    ("/latentjam/nothing", (), "unknown address"),
    ("/other/play", (), "unknown address"),
    ("/latentjam", (), "unknown address"),
    (f"{T}/volume", (1.0,), "unknown address"),
    (f"{T}/humanize/drum_accents", (1.0,), "humanize field must be one of"),
    ("/latentjam/tempo", (), "takes 1 argument"),
    ("/latentjam/tempo", (120.0, 1.0), "takes 1 argument"),
    ("/latentjam/tempo", ("fast",), "expected a number, got 'fast'"),
    ("/latentjam/tempo", (True,), "expected a number"),
    ("/latentjam/tempo", (500.0,), "bpm must be a number in 20..300, got 500"),
    ("/latentjam/tempo", (float("nan"),), "bpm must be a number"),
    ("/latentjam/play", (1.0, 2.0), "takes 0 to 1 argument"),
    (f"{T}/bars", (3,), "bars must be one of 1, 2, 4, 8, 16, got 3"),
    (f"{T}/bars", (2.5,), "expected a whole number, got 2.5"),
    (f"{T}/bars", ("2",), "expected a number"),
    (f"{T}/mode", (1.0,), "expected a string"),
    (f"{T}/mode", ("jump",), "mode must be one of"),
    (f"{T}/temperature", (-0.1,), "temperature must be a number in 0..2"),
    (f"{T}/mute", ("on",), "expected a number"),
    (f"{T}/mute", (float("nan"),), "expected on/off"),
    (f"{T}/anchor/save", (8,), "slot must be one of 0..7, got 8"),
    (f"{T}/anchor/load", (1,), "takes 2 argument"),
    (f"{T}/interpolate", (0, 1, 1), "steps must be one of 2..64"),
    (f"{T}/blend", (1.5, 0), "x must be a number in 0..1, got 1.5"),
    (f"{T}/blend", (0.5,), "takes 2 to 3 argument"),
    (f"{T}/blend/path", ("spiral",), "blend path must be one of still, circle, walk"),
    (f"{T}/groove/timing", (101,), "timing must be a number in 0..100"),
    (f"{T}/humanize/push_ms", (500.0,), "push_ms must be a number in -100..100"),
    (f"{T}/humanize/accent_beat", (2.5,), "accent_beat must be an int"),
    ("/latentjam/track//mute", (1,), "track must be a track's name"),
    ("/latentjam/subscribe", (70000,), "port must be 1..65535"),
    ("/latentjam/subscribe", (9001.5,), "expected a whole number"),
])
def test_refusals_say_why(address, args, reason):
    with pytest.raises(OscMessageError, match=reason.replace("(", r"\(").replace(".", r"\.")):
        parse(address, args)


def state(**changes):
    track = TrackState("bass", "walk", 0.5, 0.25, 4, 2, False, True, HumanizeParams(), "main",
                       1, 9, 1, (0,))
    base = EngineState(True, "link", "playing", 124.0, 7 * 1920 + 960, 7, 2, (track,))
    return dataclasses.replace(base, **changes)


def test_feedback_of_a_whole_state():
    messages = feedback(state())
    assert messages["/latentjam/playing"] == (1,)
    assert messages["/latentjam/tempo"] == (124.0,)
    assert messages["/latentjam/beat"] == (8, 3)  # counted from 1, as shown
    assert messages["/latentjam/clock"] == ("link", "playing")
    assert messages[f"{T}/mode"] == ("walk",)
    assert messages[f"{T}/temperature"] == (0.5,)
    assert messages[f"{T}/walk_step"] == (0.25,)
    assert messages[f"{T}/bars"] == (4,)
    assert messages[f"{T}/every"] == (2,)
    assert messages[f"{T}/mute"] == (0,)
    assert messages[f"{T}/solo"] == (1,)
    assert messages[f"{T}/loops"] == (9,)
    assert messages[f"{T}/late"] == (1,)
    assert messages[f"{T}/blend"] == (0.5, 0.5)  # where a blend or grid track stands
    assert messages["/latentjam/skipped"] == (0, 0)  # notes, pulses skipped after stalls
    assert messages["/latentjam/xruns"] == (0,)  # the JACK server's missed periods
    assert feedback(state(jack_xruns=7))["/latentjam/xruns"] == (7,)
    assert len(messages) == 6 + 10 + 5 + 8  # the page's: path, size, anchors, rolls, humanize


def test_changed_gives_only_what_differs():
    before = feedback(state())
    after = feedback(state(bar=8, beat=0, bpm=126.0))
    assert changed(before, after) == {"/latentjam/beat": (9, 1), "/latentjam/tempo": (126.0,)}
    assert changed(after, after) == {}
    assert changed({}, after) == after
