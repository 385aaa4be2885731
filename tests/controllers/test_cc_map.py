"""MIDI CC learn, scaling, soft takeover and feedback (controllers.cc_map), on plain states."""

import dataclasses

import pytest
from latentjam.controllers.cc_config import (
    CcMapping,
    ControllerConfig,
    check_mappings,
    controller_config_from_dict,
)
from latentjam.controllers.cc_map import CcMap, decode, scale, unscale
from latentjam.controllers.controls import addresses, control
from latentjam.engine import commands as cmd
from latentjam.engine.engine_state import EngineState, TrackState
from latentjam.engine.errors import SettingError
from latentjam.engine.humanize import HumanizeParams

TRACKS = ("melody", "drums")
TEMPERATURE = "/latentjam/track/melody/temperature"


def state(bpm=120.0, temperature=0.5, muted=False, blend=(0.5, 0.5), **track_changes):
    tracks = tuple(
        dataclasses.replace(
            TrackState(name, "sample", temperature if name == "melody" else 0.5, 0.25, 2, 2,
                       muted if name == "melody" else False, False, HumanizeParams(), "main",
                       0, 0, 0, (), blend_point=blend),
            **(track_changes if name == "melody" else {}))
        for name in TRACKS)
    return EngineState(True, "internal", "playing", bpm, 0, 0, 0, tracks)


def cc(number, value, channel=0):
    return 0xB0 | channel, bytes([number, value])


def note(number, velocity, channel=0):
    return 0x90 | channel, bytes([number, velocity])


def commands(outcome):
    return [command for _, command in outcome.commands]


def test_scaling_both_ways():
    assert scale(0, 0.0, 2.0) == 0.0 and scale(127, 0.0, 2.0) == 2.0
    assert scale(64, 60.0, 180.0) == pytest.approx(120.47, abs=0.01)
    assert [unscale(v, 0.0, 2.0) for v in (-1.0, 0.0, 1.0, 2.0, 5.0)] == [0, 0, 64, 127, 127]
    assert unscale(scale(37, 0.0, 1.0), 0.0, 1.0) == 37
    assert unscale(1.0, 2.0, 0.0) == 64  # an inverted range


def test_decode_cc_and_notes_only():
    assert decode(*cc(7, 100, channel=3)) == ((3, "cc", 7), 100)
    assert decode(*note(36, 90)) == ((0, "note", 36), 90)
    assert decode(0x80, bytes([36, 64])) == ((0, "note", 36), 0)  # note-off: 0
    assert decode(0xE0, bytes([0, 64])) is None  # pitch bend
    assert decode(0xB0, bytes([7])) is None


def test_learn_in_two_moves_then_the_knob_takes_over_at_the_value():
    cc_map = CcMap((), TRACKS)
    cc_map.learn(TEMPERATURE)  # move 1: arm
    learned = cc_map.message(*cc(21, 10, channel=1), state())  # move 2: the knob
    assert learned.learned == CcMapping(TEMPERATURE, channel=2, cc=21, min=0.0, max=2.0)
    assert not learned.commands and cc_map.learning is None
    # soft takeover: 0.5 is CC 32; the knob at 10..30 does nothing
    assert commands(cc_map.message(*cc(21, 20, channel=1), state())) == []
    assert commands(cc_map.message(*cc(21, 30, channel=1), state())) == []
    # it passes 32: from there it moves the value
    taken = commands(cc_map.message(*cc(21, 34, channel=1), state()))
    assert taken == [cmd.SetTemperature("melody", scale(34, 0.0, 2.0))]
    after = state(temperature=scale(34, 0.0, 2.0))
    assert commands(cc_map.message(*cc(21, 90, channel=1), after)) == [
        cmd.SetTemperature("melody", scale(90, 0.0, 2.0))]
    # another channel's CC 21 is another control
    assert commands(cc_map.message(*cc(21, 90), after)) == []


def test_a_change_from_elsewhere_drops_the_pickup_and_a_jump_is_ignored():
    mapping = CcMapping(TEMPERATURE, cc=1)
    cc_map = CcMap((mapping,), TRACKS)
    assert commands(cc_map.message(*cc(1, 32), state()))  # at the value: taken over
    ours = scale(40, 0.0, 2.0)
    assert commands(cc_map.message(*cc(1, 40), state(temperature=scale(32, 0.0, 2.0))))
    cc_map.observe(state(temperature=ours))  # our own change: still ours
    assert commands(cc_map.message(*cc(1, 41), state(temperature=ours)))
    elsewhere = state(temperature=1.8)  # an OSC message set 1.8 (CC 114)
    cc_map.observe(elsewhere)
    assert commands(cc_map.message(*cc(1, 42), elsewhere)) == []  # no jump to 0.66
    assert commands(cc_map.message(*cc(1, 100), elsewhere)) == []
    assert commands(cc_map.message(*cc(1, 120), elsewhere)) == [  # 100 -> 120 passes 114
        cmd.SetTemperature("melody", scale(120, 0.0, 2.0))]


def test_a_change_from_elsewhere_is_seen_at_the_message_too():
    """Between two feedback ticks: the message itself reads the state and sees the change."""
    cc_map = CcMap((CcMapping(TEMPERATURE, cc=1),), TRACKS)
    assert commands(cc_map.message(*cc(1, 32), state()))
    assert commands(cc_map.message(*cc(1, 33), state(temperature=scale(32, 0.0, 2.0))))
    assert commands(cc_map.message(*cc(1, 34), state(temperature=1.8))) == []


def test_a_state_that_lags_behind_the_knob_is_not_a_change_from_elsewhere():
    """The tempo heard changes a look-ahead later: the state shows values the knob sent a
    moment ago, which must not cost the knob its pickup."""
    cc_map = CcMap((CcMapping("/latentjam/tempo", cc=7),), TRACKS)
    at = unscale(120.0, 60.0, 180.0)
    assert commands(cc_map.message(*cc(7, at), state(bpm=120.0)))
    values = [scale(at + k, 60.0, 180.0) for k in range(1, 6)]
    for k, value in enumerate(values):
        lagging = state(bpm=values[k - 2] if k >= 2 else 120.0)
        cc_map.observe(lagging)
        assert commands(cc_map.message(*cc(7, at + k + 1), lagging)) == [cmd.SetTempo(value)]


def test_whole_numbers_choices_and_a_users_range():
    every = CcMapping("/latentjam/track/drums/every", cc=2)
    bars = CcMapping("/latentjam/track/melody/bars", cc=3)
    tempo = CcMapping("/latentjam/tempo", cc=4, min=100.0, max=140.0)
    cc_map = CcMap((every, bars, tempo), TRACKS)
    now = state()
    # every is 2 now: CC 8 (1 + 15 * 8/127 = 1.94 -> 2)
    assert commands(cc_map.message(*cc(2, 8), now)) == []  # the same value: nothing to send
    assert commands(cc_map.message(*cc(2, 127), now)) == [cmd.SetEvery("drums", 16)]
    assert commands(cc_map.message(*cc(3, 32), now)) == []  # 2 bars, as now
    assert commands(cc_map.message(*cc(3, 64), now)) == [cmd.SetLoopBars("melody", 4)]
    assert commands(cc_map.message(*cc(3, 127), now)) == [cmd.SetLoopBars("melody", 16)]
    assert commands(cc_map.message(*cc(4, 64), now)) == [cmd.SetTempo(scale(64, 100, 140))]


def test_blend_x_keeps_y_where_the_point_is():
    cc_map = CcMap((CcMapping("/latentjam/track/melody/blend/x", cc=5),), TRACKS)
    now = state(blend=(0.0, 0.75))
    assert commands(cc_map.message(*cc(5, 0), now)) == []  # the same x: nothing to send
    assert commands(cc_map.message(*cc(5, 1), now)) == [
        cmd.SetBlend("melody", 1 / 127, 0.75)]


@pytest.mark.parametrize("mode, messages, wanted", [
    ("toggle", [note(40, 100), note(40, 0), note(40, 100), note(40, 0)], [True, False]),
    ("toggle", [cc(40, 127), cc(40, 127), cc(40, 0), cc(40, 127)], [True, False]),
    ("momentary", [cc(40, 127), cc(40, 0)], [True, False]),
    ("momentary", [note(40, 90), (0x80, bytes([40, 0]))], [True, False]),
    ("continuous", [cc(40, 10), cc(40, 70), cc(40, 100), cc(40, 20)], [True, False]),
])
def test_buttons(mode, messages, wanted):
    kind = "note" if messages[0][0] & 0xF0 == 0x90 else "cc"
    mapping = CcMapping("/latentjam/track/melody/mute", **{kind: 40}, mode=mode)
    cc_map = CcMap((mapping,), TRACKS)
    muted, got = False, []
    for message in messages:
        for command in commands(cc_map.message(*message, state(muted=muted))):
            muted = command.on
            got.append(command.on)
    assert got == wanted


def test_a_trigger_acts_on_the_press():
    cc_map = CcMap((CcMapping("/latentjam/stop", note=1, mode="momentary"),), TRACKS)
    assert commands(cc_map.message(*note(1, 127), state())) == [cmd.Stop()]
    assert commands(cc_map.message(0x80, bytes([1, 0]), state())) == []
    assert commands(cc_map.message(*note(1, 127), state())) == [cmd.Stop()]


def test_feedback_at_the_start_on_a_change_from_elsewhere_and_never_an_echo():
    temperature = CcMapping(TEMPERATURE, cc=1, channel=3)
    mute = CcMapping("/latentjam/track/melody/mute", note=60, mode="toggle")
    cc_map = CcMap((temperature, mute), TRACKS)
    assert cc_map.observe(state()) == [bytes([0xB2, 1, 32]), bytes([0x90, 60, 0])]
    assert cc_map.observe(state()) == []  # nothing changed
    cc_map.observe(state(temperature=1.0))  # from elsewhere: fed back
    assert cc_map.observe(state(temperature=2.0)) == [bytes([0xB2, 1, 127])]
    # the knob picks it up at the top and moves it: the knob is not sent its own value
    assert commands(cc_map.message(*cc(1, 127, channel=2), state(temperature=2.0))) == []
    assert commands(cc_map.message(*cc(1, 100, channel=2), state(temperature=2.0)))
    ours = scale(100, 0.0, 2.0)
    assert cc_map.observe(state(temperature=ours)) == []
    # a pad's light follows the engine, whoever changed it
    assert commands(cc_map.message(*note(60, 127), state(temperature=ours))) == [
        cmd.Mute("melody", True)]
    assert cc_map.observe(state(temperature=ours, muted=True)) == [bytes([0x90, 60, 127])]


def test_learning_a_note_for_a_knob_is_refused_and_stays_armed():
    cc_map = CcMap((), TRACKS)
    cc_map.learn(TEMPERATURE)
    outcome = cc_map.message(*note(36, 100), state())
    assert "a note moves a button" in outcome.refused and cc_map.learning == TEMPERATURE
    assert cc_map.message(*cc(3, 64), state()).learned.cc == 3


def test_learning_again_replaces_and_forget_removes():
    cc_map = CcMap((CcMapping(TEMPERATURE, cc=1), CcMapping("/latentjam/tempo", cc=2)),
                   TRACKS)
    cc_map.learn(TEMPERATURE)
    cc_map.message(*cc(9, 0), state())
    assert [(m.address, m.cc) for m in cc_map.mappings] == [("/latentjam/tempo", 2),
                                                            (TEMPERATURE, 9)]
    cc_map.learn("/latentjam/track/drums/solo")
    cc_map.message(*cc(2, 127), state())  # the tempo's knob now solos the drums
    assert [(m.address, m.cc, m.mode) for m in cc_map.mappings] == [
        (TEMPERATURE, 9, "continuous"), ("/latentjam/track/drums/solo", 2, "toggle")]
    assert cc_map.forget(TEMPERATURE) == 1 and cc_map.forget(TEMPERATURE) == 0
    cc_map.learn("/latentjam/tempo")
    assert cc_map.cancel() and not cc_map.cancel()
    assert cc_map.message(*cc(5, 3), state()).learned is None


@pytest.mark.parametrize("address, reason", [
    ("/latentjam/track/bass/temperature", "no track 'bass'"),
    ("/latentjam/track/melody/anchor/save", "no control"),
    ("/latentjam/state", "no control"),
    ("tempo", "start with /latentjam/"),
])
def test_learn_refuses_what_is_no_control(address, reason):
    with pytest.raises(SettingError, match=reason):
        CcMap((), TRACKS).learn(address)


def test_every_control_makes_a_command_the_address_table_takes_at_both_ends():
    for address in addresses(TRACKS):
        found = control(address, TRACKS)
        values = found.choices or ((1.0, 0.0) if found.kind in ("toggle", "trigger")
                                   else (found.low, found.high))
        for value in values:
            assert isinstance(found.command(value, state()), cmd.Command), address
    assert {a.rsplit("/", 1)[1] for a in addresses(TRACKS) if "/humanize/" in a} \
        == set(cmd.HUMANIZE_FIELDS)


def test_the_set_files_table_and_its_checks():
    config = controller_config_from_dict({
        "input": "nanoKONTROL2", "feedback": "nanoKONTROL2",
        "mappings": [{"channel": 1, "cc": 16, "address": TEMPERATURE, "min": 0.2, "max": 1.2},
                     {"note": 41, "address": "/latentjam/play", "mode": "momentary"}]})
    assert config.mappings[0] == CcMapping(TEMPERATURE, 1, cc=16, min=0.2, max=1.2)
    check_mappings(config, TRACKS)
    for table, reason in [
        ({"mappings": [{"address": TEMPERATURE}]}, r"mappings\[0\].*give cc or note"),
        ({"mappings": [{"address": TEMPERATURE, "cc": 128}]}, r"mappings\[0\].*cc must"),
        ({"mappings": [{"address": TEMPERATURE, "cc": 1, "knob": 2}]}, "knob: unknown key"),
        ({"mappings": {"a": 1}}, r"\[\[controller.mappings\]\]"),
        ({"feedback_hz": 0}, "feedback_hz"),
    ]:
        with pytest.raises(SettingError, match=reason):
            controller_config_from_dict(table)
    for mapping, reason in [
        (CcMapping(TEMPERATURE, cc=1, max=9.0), r"max 9 is refused.*temperature"),
        (CcMapping(TEMPERATURE, note=1), "a note moves a toggle"),
        (CcMapping(TEMPERATURE, cc=1, mode="toggle"), "takes mode \"continuous\""),
        (CcMapping("/latentjam/track/melody/mute", cc=1, min=0.0), "has no range"),
        (CcMapping("/latentjam/track/melody/bars", cc=1, max=4.0), "all its choices"),
        (CcMapping("/latentjam/track/keys/mute", cc=1), "no track 'keys'"),
    ]:
        with pytest.raises(SettingError, match=reason):
            check_mappings(ControllerConfig(mappings=(mapping,)), TRACKS)
    twice = ControllerConfig(mappings=(CcMapping(TEMPERATURE, cc=1),
                                       CcMapping("/latentjam/tempo", cc=1)))
    with pytest.raises(SettingError, match=r"mappings\[1\]: channel 1 cc 1 is mapped already"):
        check_mappings(twice, TRACKS)
