"""Loops in ticks: a decoded window -> notes, first bars, chained windows, a bar's messages."""

from __future__ import annotations

import numpy as np
import pytest
from latentjam.engine.errors import SettingError
from latentjam.engine.loops import (
    DEFAULT_ROUTES,
    Loop,
    LoopNote,
    Route,
    bar_messages,
    bar_notes,
    chain,
    first_bars,
    loop_from_steps,
    note_messages,
)
from latentjam.models.configs import get_config
from latentjam.models.encodings.converters import get_converter
from latentjam.models.service import InputError, StepLoop
from latentjam.models.service.answer import step_loop

STEP = 120  # ticks of a 16th at 480 PPQN
BAR = 16 * STEP
HOLD, OFF = 0, 1  # melody classes: no event, note off


def pitch_class(pitch: int) -> int:
    return pitch - 21 + 2  # cat-mel configs: classes 2.. are MIDI 21..108


def loop_from_classes(classes: np.ndarray, converter) -> Loop:
    """One decoded window as the service sends it (notes on steps), as the engine plays it."""
    return loop_from_steps(step_loop(classes, converter), converter.config.steps_per_quarter)


def melody_converter():
    return get_converter(get_config("cat-mel_2bar_small"))


def two_bar_melody() -> np.ndarray:
    classes = np.zeros(32, np.int64)
    classes[0] = pitch_class(60)  # C4 for 4 steps
    classes[4] = OFF
    classes[8] = pitch_class(64)  # E4 held to the end of the window
    return classes


def test_melody_classes_become_ticks_on_the_grid():
    loop = loop_from_classes(two_bar_melody(), melody_converter())
    assert loop.bars == 2 and loop.length_ticks == 2 * BAR
    assert loop.notes == (
        LoopNote("melody", 60, 80, 0, 4 * STEP),
        LoopNote("melody", 64, 80, 8 * STEP, 32 * STEP),
    )


def test_drum_classes_hit_one_step_each():
    classes = np.zeros(32, np.int64)
    classes[0] = 0b101  # kick and closed hi-hat
    classes[6] = 0b010  # snare
    loop = loop_from_classes(classes, get_converter(get_config("cat-drums_2bar_small")))
    assert [(n.part, n.pitch, n.start_tick, n.end_tick, n.is_drum) for n in loop.notes] == [
        ("drums", 36, 0, STEP, True),
        ("drums", 42, 0, STEP, True),
        ("drums", 38, 6 * STEP, 7 * STEP, True),
    ]


def test_trio_classes_give_three_parts():
    steps = 256  # 16 bars
    classes = np.zeros((steps, 3), np.int64)
    classes[0, 0] = pitch_class(72)
    classes[2, 0] = OFF
    classes[16, 1] = pitch_class(36)
    classes[20, 1] = OFF
    classes[17, 2] = 0b1
    loop = loop_from_classes(classes, get_converter(get_config("hierdec-trio_16bar")))
    assert loop.bars == 16
    assert [(n.part, n.pitch, n.start_tick, n.end_tick) for n in loop.notes] == [
        ("melody", 72, 0, 2 * STEP),
        ("bass", 36, BAR, BAR + 4 * STEP),
        ("drums", 36, BAR + STEP, BAR + 2 * STEP),
    ]


def test_classes_must_cover_whole_bars():
    with pytest.raises(InputError, match="whole bars"):
        step_loop(np.zeros(20, np.int64), melody_converter())
    with pytest.raises(SettingError, match="whole bars"):
        loop_from_steps(StepLoop((), 20), 4)


def test_first_bars_cuts_a_held_note_at_the_cut():
    loop = loop_from_classes(two_bar_melody(), melody_converter())
    one = first_bars(loop, 1)
    assert one.bars == 1
    assert one.notes == (LoopNote("melody", 60, 80, 0, 4 * STEP),
                         LoopNote("melody", 64, 80, 8 * STEP, BAR))
    assert first_bars(loop, 2) == loop
    with pytest.raises(SettingError, match="bars must be 1..2"):
        first_bars(loop, 3)


def test_chain_plays_windows_one_after_the_other():
    a = Loop((LoopNote("melody", 60, 80, 0, STEP),), 2)
    b = Loop((LoopNote("melody", 62, 90, BAR, BAR + STEP),), 2)
    chained = chain([a, b])
    assert chained.bars == 4
    assert chained.notes == (LoopNote("melody", 60, 80, 0, STEP),
                             LoopNote("melody", 62, 90, 3 * BAR, 3 * BAR + STEP))
    with pytest.raises(SettingError, match="meter"):
        chain([a, Loop((), 1, beats_per_bar=3)])


def test_bar_notes_are_placed_at_the_performance_tick():
    loop = Loop((LoopNote("melody", 60, 80, 0, BAR + STEP),
                 LoopNote("melody", 62, 80, BAR + 2 * STEP, BAR + 3 * STEP)), 2)
    at = 10 * BAR
    assert bar_notes(loop, 0, at) == (LoopNote("melody", 60, 80, at, at + BAR + STEP),)
    assert bar_notes(loop, 1, at) == (LoopNote("melody", 62, 80, at + 2 * STEP,
                                               at + 3 * STEP),)
    with pytest.raises(SettingError, match="bar must be 0..1"):
        bar_notes(loop, 2)


def test_bar_messages_route_each_part_to_its_channel():
    notes = (LoopNote("melody", 60, 80, 0, STEP), LoopNote("bass", 36, 70, 0, 2 * STEP),
             LoopNote("drums", 36, 100, STEP, 2 * STEP, is_drum=True))
    loop = Loop(notes, 1)
    messages = bar_messages(loop, 0, BAR)
    got = [(m.tick, m.message.type, m.message.channel, m.message.note, m.message.velocity)
           for m in messages]
    assert sorted(got) == sorted([
        (BAR, "note_on", 1, 36, 70), (BAR + 2 * STEP, "note_off", 1, 36, 0),
        (BAR, "note_on", 0, 60, 80), (BAR + STEP, "note_off", 0, 60, 0),
        (BAR + STEP, "note_on", 9, 36, 100), (BAR + 2 * STEP, "note_off", 9, 36, 0),
    ])
    assert [m.tick for m in messages] == sorted(m.tick for m in messages)
    assert all(m.port == "default" for m in messages)


def test_a_repeated_note_is_released_before_it_is_struck_again():
    notes = (LoopNote("melody", 60, 80, 0, STEP), LoopNote("melody", 60, 80, STEP, 2 * STEP))
    kinds = [(m.tick, m.message.type) for m, _ in note_messages(notes)]
    assert kinds == [(0, "note_on"), (STEP, "note_off"), (STEP, "note_on"),
                     (2 * STEP, "note_off")]


def test_messages_carry_each_note_offset_and_port():
    note = LoopNote("melody", 60, 80, 0, STEP, offset_ns=-3_000_000)
    routes = {"melody": Route(4, port="synth")}
    pairs = note_messages([note], routes)
    assert [(m.port, m.message.channel, offset) for m, offset in pairs] == [
        ("synth", 4, -3_000_000), ("synth", 4, -3_000_000)]
    with pytest.raises(SettingError, match="no route for part 'melody'"):
        note_messages([note], {"drums": DEFAULT_ROUTES["drums"]})


@pytest.mark.parametrize("kwargs, field", [
    (dict(pitch=128), "pitch"), (dict(velocity=0), "velocity"),
    (dict(start_tick=-1), "start"), (dict(end_tick=0), "end after"),
    (dict(part=""), "part"),
])
def test_invalid_notes_are_refused_naming_the_field(kwargs, field):
    values = dict(part="melody", pitch=60, velocity=80, start_tick=0, end_tick=STEP)
    values.update(kwargs)
    with pytest.raises(SettingError, match=field):
        LoopNote(**values)


def test_a_loop_refuses_notes_past_its_end_and_bad_routes():
    with pytest.raises(SettingError, match="ends after"):
        Loop((LoopNote("melody", 60, 80, 0, BAR + 1),), 1)
    with pytest.raises(SettingError, match="channel"):
        Route(16)
