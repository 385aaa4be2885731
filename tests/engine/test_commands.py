"""``engine.commands``: what a controller may ask of a running engine, checked on creation.

Every command's validation with its exact one-line ``SettingError`` (the field and the value
named), bool refused wherever a number is wanted, the limits the module states once
(``MIN_BPM``/``MAX_BPM``, ``MAX_TEMPERATURE``, ``check_temperature``, loop lengths, anchor
slots, humanize fields), that accepted values are normalised (ints to floats where a number
is wanted, whole floats to ints for integer humanize amounts), and that the commands are
frozen, comparable values. No engine runs here.
"""

import dataclasses
import math
import typing

import pytest
from latentjam.engine import commands as cmd
from latentjam.engine.errors import EngineError, SettingError
from latentjam.engine.humanize import HumanizeParams


def refusal(make) -> str:
    with pytest.raises(SettingError) as err:
        make()
    text = str(err.value)
    assert "\n" not in text, "refusals are one line"
    return text


# -- the limits the module states ------------------------------------------------------------


def test_the_stated_limits():
    assert (cmd.MIN_BPM, cmd.MAX_BPM) == (20.0, 300.0)
    assert cmd.MAX_TEMPERATURE == 2.0
    assert cmd.MODES == ("sample", "walk", "interpolate", "hold", "blend", "grid")
    assert typing.get_args(cmd.Mode) == cmd.MODES
    assert cmd.LOOP_BARS == (1, 2, 4, 8, 16)
    assert cmd.ANCHOR_SLOTS == 8
    # every humanize amount but the drum accents table, in HumanizeParams' order
    assert cmd.HUMANIZE_FIELDS == (
        "velocity_spread", "accent_downbeat", "accent_beat", "accent_offbeat",
        "timing_spread_ms", "swing_percent", "push_ms", "length_spread_percent")
    assert set(cmd.HUMANIZE_FIELDS) | {"drum_accents"} == {
        f.name for f in dataclasses.fields(HumanizeParams)}


def test_a_refusal_is_a_setting_error_which_is_a_value_error():
    with pytest.raises(SettingError) as err:
        cmd.SetTempo(0)
    assert isinstance(err.value, EngineError) and isinstance(err.value, ValueError)


@pytest.mark.parametrize("value, expected", [
    (0, 0.0), (0.0, 0.0), (1, 1.0), (0.5, 0.5), (2, 2.0), (cmd.MAX_TEMPERATURE, 2.0)])
def test_check_temperature_takes_0_to_2_and_gives_a_float(value, expected):
    got = cmd.check_temperature(value)
    assert got == expected and type(got) is float


@pytest.mark.parametrize("value, shown", [
    (-0.001, "-0.001"), (2.0001, "2.0001"), (3, "3"), (True, "True"), (False, "False"),
    ("0.5", "'0.5'"), (None, "None"), (math.nan, "nan"), (math.inf, "inf"),
    (-math.inf, "-inf"), ([0.5], "[0.5]")])
def test_check_temperature_refuses_with_its_range(value, shown):
    assert refusal(lambda: cmd.check_temperature(value)) == \
        f"temperature must be a number in 0..2, got {shown}"


# -- transport -------------------------------------------------------------------------------


@pytest.mark.parametrize("bpm", [20, 20.0, 120, 97.5, 299.999, 300])
def test_tempo_takes_the_stated_range_as_a_float(bpm):
    command = cmd.SetTempo(bpm)
    assert command.bpm == bpm and type(command.bpm) is float


@pytest.mark.parametrize("bpm, shown", [
    (19.999, "19.999"), (300.001, "300.001"), (0, "0"), (-120, "-120"), (True, "True"),
    ("120", "'120'"), (None, "None"), (math.nan, "nan"), (math.inf, "inf")])
def test_tempo_outside_the_range_is_refused(bpm, shown):
    assert refusal(lambda: cmd.SetTempo(bpm)) == f"bpm must be a number in 20..300, got {shown}"


def test_transport_commands_without_fields():
    assert cmd.Play() == cmd.Play(resume=False) and cmd.Play(resume=True).resume is True
    assert cmd.Stop() == cmd.Stop() and cmd.Panic() == cmd.Panic()
    assert [f.name for f in dataclasses.fields(cmd.Stop)] == []
    assert [f.name for f in dataclasses.fields(cmd.Panic)] == []


@pytest.mark.parametrize("resume", ["no", 1, None])
def test_play_refuses_a_resume_that_is_not_a_bool(resume):
    with pytest.raises(SettingError, match="resume"):
        cmd.Play(resume=resume)


# -- track names -----------------------------------------------------------------------------

TRACK_COMMANDS = [
    lambda track: cmd.SetMode(track, "hold"),
    lambda track: cmd.SetTemperature(track, 0.5),
    lambda track: cmd.SetWalkStep(track, 0.5),
    lambda track: cmd.SetLoopBars(track, 2),
    lambda track: cmd.SetEvery(track, 2),
    lambda track: cmd.SaveAnchor(track, 0),
    lambda track: cmd.LoadAnchor(track, 0, "a.mid"),
    lambda track: cmd.RecordAnchor(track, 0),
    lambda track: cmd.Interpolate(track, 0, 1),
    lambda track: cmd.Mute(track),
    lambda track: cmd.Solo(track),
    lambda track: cmd.SetHumanize(track, "push_ms", 5.0),
]


@pytest.mark.parametrize("make", TRACK_COMMANDS)
@pytest.mark.parametrize("track, shown", [("", "''"), (None, "None"), (3, "3"),
                                          (b"bass", "b'bass'"), (["bass"], "['bass']")])
def test_every_track_command_refuses_a_track_that_is_not_a_name(make, track, shown):
    assert refusal(lambda: make(track)) == f"track must be a track's name, got {shown}"


@pytest.mark.parametrize("make", TRACK_COMMANDS)
def test_every_track_command_keeps_the_name_it_was_given(make):
    # Whether the set has such a track is the performer's question, not the command's.
    assert make("no such track").track == "no such track"


def test_the_track_is_checked_before_the_other_fields():
    assert refusal(lambda: cmd.SetLoopBars("", 3)) == "track must be a track's name, got ''"


# -- per-track settings ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", cmd.MODES)
def test_each_mode_is_taken(mode):
    assert cmd.SetMode("bass", mode).mode == mode


@pytest.mark.parametrize("mode, shown", [("Sample", "'Sample'"), ("", "''"), (None, "None"),
                                         (0, "0"), (["hold"], "['hold']")])
def test_an_unknown_mode_is_refused_with_the_modes(mode, shown):
    assert refusal(lambda: cmd.SetMode("bass", mode)) == \
        f"mode must be one of sample, walk, interpolate, hold, blend, grid, got {shown}"


def test_temperature_is_checked_as_check_temperature_does():
    assert cmd.SetTemperature("bass", 2).temperature == 2.0
    assert type(cmd.SetTemperature("bass", 1).temperature) is float
    assert refusal(lambda: cmd.SetTemperature("bass", 2.5)) == \
        "temperature must be a number in 0..2, got 2.5"
    assert refusal(lambda: cmd.SetTemperature("bass", True)) == \
        "temperature must be a number in 0..2, got True"


@pytest.mark.parametrize("step", [0, 0.0, 0.25, 1, 1.0])
def test_walk_step_takes_0_to_1(step):
    command = cmd.SetWalkStep("bass", step)
    assert command.step == step and type(command.step) is float


@pytest.mark.parametrize("step, shown", [(-0.01, "-0.01"), (1.01, "1.01"), (True, "True"),
                                         (False, "False"), (math.nan, "nan"), ("1", "'1'")])
def test_walk_step_outside_0_to_1_is_refused(step, shown):
    assert refusal(lambda: cmd.SetWalkStep("bass", step)) == \
        f"step must be a number in 0..1, got {shown}"


@pytest.mark.parametrize("bars", cmd.LOOP_BARS)
def test_each_loop_length_is_taken(bars):
    assert cmd.SetLoopBars("bass", bars).bars == bars
    assert cmd.RecordAnchor("bass", 0, bars).bars == bars


@pytest.mark.parametrize("bars, shown", [(3, "3"), (0, "0"), (32, "32"), (2.0, "2.0"),
                                         (True, "True"), ("2", "'2'"), (None, "None")])
def test_a_loop_length_not_in_the_list_is_refused(bars, shown):
    message = f"bars must be one of 1, 2, 4, 8, 16, got {shown}"
    assert refusal(lambda: cmd.SetLoopBars("bass", bars)) == message
    assert refusal(lambda: cmd.RecordAnchor("bass", 0, bars)) == message


@pytest.mark.parametrize("loops", [1, 2, 64])
def test_every_takes_1_to_64(loops):
    assert cmd.SetEvery("bass", loops).loops == loops


@pytest.mark.parametrize("loops, shown", [(0, "0"), (65, "65"), (-1, "-1"), (2.0, "2.0"),
                                          (True, "True")])
def test_every_outside_1_to_64_is_refused(loops, shown):
    assert refusal(lambda: cmd.SetEvery("bass", loops)) == \
        f"loops must be one of 1..64, got {shown}"


# -- anchors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("slot", [0, 7])
def test_anchor_slots_are_0_to_7(slot):
    assert cmd.SaveAnchor("bass", slot).slot == slot
    assert cmd.LoadAnchor("bass", slot, "intro.mid").slot == slot
    assert cmd.RecordAnchor("bass", slot).slot == slot


@pytest.mark.parametrize("slot, shown", [(8, "8"), (-1, "-1"), (0.0, "0.0"), (True, "True"),
                                         (False, "False"), ("0", "'0'"), (None, "None")])
def test_a_slot_outside_the_anchors_is_refused(slot, shown):
    message = f"slot must be one of 0..7, got {shown}"
    assert refusal(lambda: cmd.SaveAnchor("bass", slot)) == message
    assert refusal(lambda: cmd.LoadAnchor("bass", slot, "intro.mid")) == message
    assert refusal(lambda: cmd.RecordAnchor("bass", slot)) == message


@pytest.mark.parametrize("path, shown", [("", "''"), (None, "None"), (3, "3")])
def test_load_anchor_needs_a_path(path, shown):
    assert refusal(lambda: cmd.LoadAnchor("bass", 0, path)) == \
        f"path must name a MIDI file, got {shown}"


def test_record_anchor_records_two_bars_unless_told():
    assert cmd.RecordAnchor("bass", 1) == cmd.RecordAnchor("bass", 1, 2)


def test_interpolation_takes_two_slots_and_2_to_64_steps():
    assert cmd.Interpolate("bass", 0, 7) == cmd.Interpolate("bass", 0, 7, steps=8)
    assert cmd.Interpolate("bass", 7, 0, steps=2).steps == 2
    assert cmd.Interpolate("bass", 0, 1, steps=64).steps == 64
    assert refusal(lambda: cmd.Interpolate("bass", 8, 0)) == "start must be one of 0..7, got 8"
    assert refusal(lambda: cmd.Interpolate("bass", 0, -1)) == "end must be one of 0..7, got -1"
    assert refusal(lambda: cmd.Interpolate("bass", True, 1)) == \
        "start must be one of 0..7, got True"
    for steps in (1, 65, 8.0, True):
        assert refusal(lambda s=steps: cmd.Interpolate("bass", 0, 1, steps=s)) == \
            f"steps must be one of 2..64, got {steps!r}"


# -- mute, solo ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, word", [(cmd.Mute, "mute"), (cmd.Solo, "solo")])
def test_mute_and_solo_take_only_true_or_false(kind, word):
    assert kind("bass").on is True
    assert kind("bass", False).on is False
    for value, shown in ((1, "1"), (0, "0"), (1.0, "1.0"), ("true", "'true'"), (None, "None")):
        assert refusal(lambda v=value: kind("bass", v)) == \
            f"{word} takes true or false, got {shown}"


# -- humanize --------------------------------------------------------------------------------


@pytest.mark.parametrize("field", cmd.HUMANIZE_FIELDS)
def test_every_humanize_field_takes_zero(field):
    command = cmd.SetHumanize("drums", field, 0)
    assert command.value == 0


def test_humanize_values_are_kept_in_the_type_of_their_field():
    accent = cmd.SetHumanize("drums", "accent_downbeat", 12.0)
    assert accent.value == 12 and type(accent.value) is int  # a whole float, for an int
    assert type(cmd.SetHumanize("drums", "accent_beat", -3).value) is int
    spread = cmd.SetHumanize("drums", "timing_spread_ms", 7.5)
    assert spread.value == 7.5 and type(spread.value) is float
    assert cmd.SetHumanize("drums", "push_ms", -100).value == -100
    assert cmd.SetHumanize("drums", "swing_percent", 100.0).value == 100.0


def test_an_unknown_humanize_field_is_refused_with_the_fields():
    listed = ", ".join(cmd.HUMANIZE_FIELDS)
    assert refusal(lambda: cmd.SetHumanize("drums", "swing", 10)) == \
        f"humanize field must be one of {listed}, got 'swing'"
    # the drum accents are a table, not one amount a knob can set
    assert refusal(lambda: cmd.SetHumanize("drums", "drum_accents", 10)) == \
        f"humanize field must be one of {listed}, got 'drum_accents'"


@pytest.mark.parametrize("field, value", [
    ("velocity_spread", 64.5), ("velocity_spread", -1), ("timing_spread_ms", 51),
    ("swing_percent", 101), ("push_ms", -100.5), ("length_spread_percent", 50.1),
    ("push_ms", True), ("swing_percent", math.nan), ("push_ms", "5")])
def test_humanize_numbers_out_of_range_are_refused_by_the_configs_limits(field, value):
    text = refusal(lambda: cmd.SetHumanize("drums", field, value))
    assert text.startswith(f"humanize {field}")
    assert text.endswith(f"must be a number in {_limits(field)}, got {value!r}")


@pytest.mark.parametrize("field, value", [
    ("accent_downbeat", 127), ("accent_beat", -127), ("accent_offbeat", 10.5),
    ("accent_downbeat", True), ("accent_beat", math.nan)])
def test_humanize_accents_must_be_whole_and_in_range(field, value):
    text = refusal(lambda: cmd.SetHumanize("drums", field, value))
    assert text.endswith(f"{field} must be an int in -126..126, got {value!r}")


def _limits(field: str) -> str:
    return {"velocity_spread": "0..64", "timing_spread_ms": "0..50", "swing_percent": "0..100",
            "push_ms": "-100..100", "length_spread_percent": "0..50"}[field]


def test_a_humanize_refusal_names_its_field_once():
    text = refusal(lambda: cmd.SetHumanize("drums", "push_ms", 200))
    assert text.count("push_ms") == 1, text


# -- commands as values ----------------------------------------------------------------------


def test_commands_are_frozen_hashable_values():
    command = cmd.SetTempo(120)
    with pytest.raises(dataclasses.FrozenInstanceError):
        command.bpm = 90.0
    assert cmd.SetTempo(120) == cmd.SetTempo(120.0)
    assert len({cmd.Mute("bass"), cmd.Mute("bass", True), cmd.Mute("bass", False)}) == 2


def test_the_command_union_names_every_command_of_the_module():
    defined = {value for value in vars(cmd).values()
               if isinstance(value, type) and dataclasses.is_dataclass(value)
               and value.__module__ == cmd.__name__}
    assert set(typing.get_args(cmd.Command)) == defined
    assert len(defined) == 25
