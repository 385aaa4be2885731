"""MIDI CC learn as a performer does it, on JACK: `latentjam play` with a controller, a JACK
MIDI output of the test's own as the controller's knobs and a JACK input as its LEDs. Learn
is armed over real UDP OSC, the knob moved, the mapping written into the set file; after a
restart the knob still moves the value (once it passes it: soft takeover), and the value
goes back to the LEDs when it changes from elsewhere, never as an echo of the knob."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import tomllib

import pytest
from jack_server import free_udp_port, wait_for_port
from latentjam.controllers.cc_map import scale
from latentjam.controllers.osc_server import encode
from pythonosc.osc_message import OscMessage

BASE = [sys.executable, "-m", "latentjam"]
TEMPERATURE = "/latentjam/track/melody/temperature"

# A process of its own with a virtual JACK MIDI output (the controller's knobs): each line of
# hex bytes on stdin is sent as one message, answered "sent".
KNOBS = textwrap.dedent("""
    import sys, rtmidi
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="latentjam-test-knobs")
    out.open_virtual_port(sys.argv[1])
    print("ready", flush=True)
    for line in sys.stdin:
        out.send_message(bytes.fromhex(line.strip()))
        print("sent", flush=True)
    out.close_port()
""")


# ... and a virtual JACK MIDI input (the controller's LEDs and motor faders): "peek" answers
# every message received so far, as a JSON list of byte lists.
LEDS = textwrap.dedent("""
    import json, sys, rtmidi
    received = []
    midi_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="latentjam-test-leds")
    midi_in.set_callback(lambda event, _: received.append(event[0]))
    midi_in.open_virtual_port(sys.argv[1])
    print("ready", flush=True)
    for line in sys.stdin:
        print(json.dumps(list(received)), flush=True)
    midi_in.close_port()
""")


class Leds:
    def __init__(self, name):
        self._child = subprocess.Popen([sys.executable, "-c", LEDS, name],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._child.stdout.readline().strip() == "ready"

    def received(self):
        self._child.stdin.write("peek\n")
        self._child.stdin.flush()
        return json.loads(self._child.stdout.readline())

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._child.stdin.close()
        self._child.wait(5)


class Knobs:
    def __init__(self, name):
        for _ in range(3):  # the dummy server refuses a client for a moment after one left
            self._child = subprocess.Popen([sys.executable, "-c", KNOBS, name],
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           text=True)
            if self._child.stdout.readline().strip() == "ready":
                return
            self._child.wait(5)
            time.sleep(0.5)
        raise AssertionError(f"the knobs {name!r} did not start")

    def turn(self, cc, *values, channel=0):
        for value in values:
            self._child.stdin.write(bytes([0xB0 | channel, cc, value]).hex() + "\n")
            self._child.stdin.flush()
            assert self._child.stdout.readline().strip() == "sent"
            time.sleep(0.03)  # a hand's pace: the engine reads each move with the state then

    def close(self):
        if self._child.poll() is None:
            self._child.stdin.close()
            self._child.wait(5)


def until(predicate, timeout=20.0, what="the condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def osc_state(client, port):
    """Every feedback message of a /latentjam/state reply: address -> arguments."""
    client.settimeout(0.5)
    client.sendto(encode("/latentjam/state", ()), ("127.0.0.1", port))
    state = {}
    try:
        while True:
            message = OscMessage(client.recv(65536))
            state[message.address] = tuple(message.params)
            if message.address == "/latentjam/learn/mapped":  # the controller's come last
                return state
    except TimeoutError:
        return state


def play(config, osc_port, port):
    return subprocess.Popen(
        BASE + ["play", "--config", str(config), "--backend", "jack", "--port", port,
                "--osc-port", str(osc_port), "--no-web", "--bpm", "240", "--seed", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)


def stop(player):
    player.send_signal(signal.SIGTERM)
    try:
        _, err = player.communicate(timeout=20)
    finally:
        if player.poll() is None:
            player.kill()
            player.wait()
    assert player.returncode == 0, err
    assert "Traceback" not in err
    return err


def test_a_knob_is_mapped_in_two_moves_and_stays_mapped_after_a_restart(jack_server, tmp_path):
    config = tmp_path / "set.toml"
    config.write_text('# my set: the knobs on the left\n'
                      '[controller]\ninput = "lj-knobs"   # the nanoKONTROL\n'
                      'feedback = "lj-leds"\n\n[osc]\nfeedback_hz = 30.0\n')
    osc_port = free_udp_port()
    # one knobs and one LEDs process for both runs: a JACK client torn down in the middle of a
    # test can leave the dummy server refusing new clients for a moment
    knobs, leds = Knobs("lj-knobs"), Leds("lj-leds")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        player = play(config, osc_port, "lj-cc-1")
        try:
            wait_for_port("lj-cc-1")
            until(lambda: osc_state(client, osc_port).get("/latentjam/learn") == ("",),
                  what="the OSC server answering")
            # move 1: arm learning for the melody's temperature
            client.sendto(encode("/latentjam/learn", (TEMPERATURE,)), ("127.0.0.1", osc_port))
            until(lambda: osc_state(client, osc_port).get("/latentjam/learn") == (TEMPERATURE,),
                  what="learning armed")
            # move 2: turn the knob (channel 2, CC 21)
            knobs.turn(21, 10, channel=1)
            state = until(lambda: (s := osc_state(client, osc_port)).get("/latentjam/learn/mapped")
                          == (TEMPERATURE,) and s, what="the knob mapped")
            assert state["/latentjam/learn"] == ("",)
            assert state[TEMPERATURE] == pytest.approx((0.5,))  # learning moved nothing
            saved = until(lambda: tomllib.loads(config.read_text()).get("controller", {})
                          .get("mappings"), what="the mapping saved")
            assert saved == [{"address": TEMPERATURE, "channel": 2, "cc": 21, "min": 0.0,
                              "max": 2.0, "mode": "continuous"}]
            text = config.read_text()
            assert text.startswith('# my set: the knobs on the left\n[controller]\n'
                                   'input = "lj-knobs"   # the nanoKONTROL\n')
            # the value is 0.5 (CC 32): the knob from 10 up to 30 leaves it; past it, moves it
            knobs.turn(21, 20, 30, channel=1)
            assert osc_state(client, osc_port)[TEMPERATURE] == pytest.approx((0.5,))
            knobs.turn(21, 40, 60, 100, channel=1)
            until(lambda: osc_state(client, osc_port)[TEMPERATURE]
                  == pytest.approx((scale(100, 0.0, 2.0),)), what="the knob moving the value")
            # set from elsewhere (OSC): the LEDs are told, the knob must pass it again
            client.sendto(encode(TEMPERATURE, (1.0,)), ("127.0.0.1", osc_port))
            until(lambda: [0xB1, 21, 64] in leds.received(),
                  what="feedback of 1.0 as CC 64")
            knobs.turn(21, 110, 120, channel=1)  # above 64, going away from it: no jump
            assert osc_state(client, osc_port)[TEMPERATURE] == pytest.approx((1.0,))
        finally:
            stop(player)
        fed = leds.received()
    assert [0xB1, 21, 32] in fed  # the value when learned, at the first feedback tick
    assert [0xB1, 21, 64] in fed
    knob_values = {20, 30, 40, 60, 100, 110, 120}
    echoes = [data for data in fed if data[:2] == [0xB1, 21] and data[2] in knob_values]
    assert echoes == []  # the knob was never sent back what it set

    # a restart: the mapping is read from the file; the fresh set plays 0.5 again
    mark = len(fed)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        player = play(config, osc_port, "lj-cc-2")
        try:
            wait_for_port("lj-cc-2")
            state = until(lambda: osc_state(client, osc_port).get("/latentjam/learn/mapped"),
                          what="the OSC server answering")
            assert state == (TEMPERATURE,)
            until(lambda: [0xB1, 21, 32] in leds.received()[mark:],
                  what="the restarted set's feedback of 0.5 as CC 32")
            knobs.turn(21, 120, 90, channel=1)  # the knob is where it was left: no jump
            assert osc_state(client, osc_port)[TEMPERATURE] == pytest.approx((0.5,))
            knobs.turn(21, 50, 31, 20, channel=1)  # down through 32: taken over
            until(lambda: osc_state(client, osc_port)[TEMPERATURE]
                  == pytest.approx((scale(20, 0.0, 2.0),)), what="the knob moving the value")
        finally:
            err = stop(player)
            knobs.close()
            leds.__exit__()
    assert "MIDI controller: " in err and "1 mapping)" in err
    assert tomllib.loads(config.read_text())["controller"]["mappings"] == saved


def test_a_controller_port_that_is_not_there_is_named_in_one_line(jack_server):
    result = subprocess.run(BASE + ["play", "--backend", "jack", "--controller", "no-such-knobs",
                                    "--no-osc", "--no-web", "--bars", "1"],
                            capture_output=True, text=True, timeout=90, env=os.environ)
    assert result.returncode == 2
    assert "latentjam play: error: 'no-such-knobs' matches no MIDI input port" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_controller_unplugged_and_plugged_in_again_steers_again(jack_server, tmp_path):
    """Mappings from the file; the knobs' port vanishes (their process ends) and comes back:
    the engine says so in the feedback, opens it again, and the knob takes over anew."""
    config = tmp_path / "set.toml"
    config.write_text('[controller]\ninput = "lj-knobs-2"\nfeedback = "lj-leds-2"\n\n'
                      f'[[controller.mappings]]\naddress = "{TEMPERATURE}"\ncc = 7\n')
    osc_port = free_udp_port()
    knobs = Knobs("lj-knobs-2")
    with Leds("lj-leds-2") as leds, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        player = play(config, osc_port, "lj-cc-3")
        try:
            wait_for_port("lj-cc-3")
            until(lambda: osc_state(client, osc_port).get("/latentjam/controller")
                  == ("lj-knobs-2", "connected"), what="the controller connected")
            until(lambda: [0xB0, 7, 32] in leds.received(), what="the LEDs told 0.5")
            knobs.close()  # unplugged
            until(lambda: osc_state(client, osc_port).get("/latentjam/controller")
                  == ("lj-knobs-2", "gone"), what="the controller seen gone")
            knobs = Knobs("lj-knobs-2")  # plugged in again
            until(lambda: osc_state(client, osc_port).get("/latentjam/controller")
                  == ("lj-knobs-2", "connected"), what="the controller opened again")
            until(lambda: leds.received().count([0xB0, 7, 32]) == 2,
                  what="the LEDs told every value again")
            knobs.turn(7, 40, 30, 20)  # down through 32: taken over
            until(lambda: osc_state(client, osc_port)[TEMPERATURE]
                  == pytest.approx((scale(20, 0.0, 2.0),)), what="the knob moving the value")
        finally:
            err = stop(player)
            knobs.close()
    assert "is gone; its knobs do nothing until it comes back" in err
    assert "is back" in err
