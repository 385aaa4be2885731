"""The MIDI controller's side that is not MIDI I/O: learn requests from real UDP OSC, the
message bound, and saves one at a time with the latest mappings."""

import asyncio
import threading

import pytest
from latentjam.controllers.cc_config import CcMapping, ControllerConfig
from latentjam.controllers.cc_map import MessageBound
from latentjam.controllers.midi_controller import MidiController
from latentjam.controllers.osc_addresses import CancelLearn, Forget, Learn, parse
from latentjam.controllers.osc_config import OscConfig
from latentjam.controllers.osc_server import OscServer
from latentjam.engine import commands as cmd
from latentjam.engine.errors import SettingError
from test_cc_map import TEMPERATURE, TRACKS, cc, state
from test_osc_server import Client, FakeEngine, until


def test_learn_messages_parse():
    assert parse("/latentjam/learn", [TEMPERATURE]) == Learn(TEMPERATURE)
    assert parse("/latentjam/learn/cancel", []) == CancelLearn()
    assert parse("/latentjam/learn/forget", [TEMPERATURE]) == Forget(TEMPERATURE)


def controller(save=None, **config):
    engine = FakeEngine()
    made = MidiController(ControllerConfig(input="knobs", **config), TRACKS,
                          submit=engine.command, state=state, save=save)
    return made, engine


def test_learn_over_udp_reaches_the_controller_and_is_refused_without_one():
    async def run():
        made, engine = controller()
        with_learn = OscServer(OscConfig(port=0), engine.command, engine.state,
                               learn=made.learn, extra=made.feedback)
        without = OscServer(OscConfig(port=0), engine.command, engine.state)
        _, port = await with_learn.start()
        _, other = await without.start()
        Client(port).send("/latentjam/learn", TEMPERATURE)
        armed = await until(lambda: made.map.learning == TEMPERATURE)
        Client(port).send("/latentjam/learn", "/latentjam/track/bass/temperature")
        Client(other).send("/latentjam/learn", TEMPERATURE)
        refused = await until(lambda: with_learn.rejected == 1 and without.rejected == 1)
        client, shown = Client(port), {}
        client.send("/latentjam/state")
        await until(lambda: shown.update(client.received()) or "/latentjam/learn/mapped" in shown)
        await with_learn.close()
        await without.close()
        return armed, refused, shown

    armed, refused, shown = asyncio.run(run())
    assert armed and refused
    assert shown["/latentjam/learn"] == (TEMPERATURE,) and shown["/latentjam/learn/mapped"] == ()


def test_a_learned_knob_moves_the_engine_and_saves_come_one_at_a_time():
    saves, release = [], threading.Event()

    def slow_save(mappings):
        saves.append(mappings)
        release.wait(5)  # the first save takes long; learns meanwhile are written after it

    async def run():
        made, engine = controller(save=slow_save)
        made.learn(Learn(TEMPERATURE))
        made._handle(*cc(21, 32))  # mapped: a save starts
        await until(lambda: len(saves) == 1)
        made.learn(Learn("/latentjam/tempo"))
        made._handle(*cc(22, 64))
        made.learn(Forget(TEMPERATURE))
        release.set()
        await until(lambda: len(saves) == 2)
        await made._saving
        made._handle(*cc(22, 65))  # the tempo's knob, picked up at 120 (CC 64)
        return engine.commands, made.saved

    commands, saved = asyncio.run(run())
    assert saves[0] == (CcMapping(TEMPERATURE, cc=21, min=0.0, max=2.0),)
    assert saves[1] == (CcMapping("/latentjam/tempo", cc=22, min=60.0, max=180.0),)
    assert saved == 2
    assert commands == [cmd.SetTempo(60.0 + 120.0 * 65 / 127)]


def test_learn_refuses_what_is_no_control():
    made, _ = controller()
    with pytest.raises(SettingError, match="no track 'bass'"):
        made.learn(Learn("/latentjam/track/bass/temperature"))


def test_the_bound_holds_the_latest_of_each_control_past_it():
    bound = MessageBound(per_second=3)
    moves = [(0xB0, bytes([1, v])) for v in range(10)] + [(0xB0, bytes([2, 5]))]
    admitted = [m for m in moves if bound.admit(*m, now=100.0)]
    assert admitted == moves[:3]
    assert bound.release(100.5) == []  # the window is full
    assert bound.release(101.0) == [(0xB0, bytes([1, 9])), (0xB0, bytes([2, 5]))]
    assert bound.held_back == 8 and bound.release(101.1) == []


def test_a_port_back_under_another_number_is_found_by_its_name():
    from latentjam.controllers.midi_controller import _listed

    opened = "nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0"
    assert _listed("nanoKONTROL2", opened, [opened, "Midi Through:0"])
    assert _listed("nanoKONTROL2", opened, ["nanoKONTROL2:nanoKONTROL2 MIDI 1 24:0"])
    assert not _listed("nanoKONTROL2", opened, ["Midi Through:0"])
    assert not _listed("nano", opened, ["nanoKONTROL2:a 24:0", "nanoPAD:b 28:0"])  # which?
