"""A live set played to a real MIDI port (JACK dummy server) and heard by another process:
the clock stream, the notes of the generated loop at their steps on their channels, an OSC
message over real UDP heard at the next bar, and Stop leaving no note hanging.

Positions are read from the stream itself: every note-on is preceded by the MIDI clock
pulses of its tick (a pulse goes out before a note due at the same instant), so the count of
pulses before a note gives its tick exactly, whatever JACK's period does to arrival times.
"""

import asyncio
import socket

import mido
import numpy as np
import pytest
from jack_server import MidiReceiver
from latentjam.controllers.osc_config import OscConfig
from latentjam.controllers.osc_server import OscServer, encode
from latentjam.engine import commands as cmd
from latentjam.engine.note_tracker import ALL_NOTES_OFF
from latentjam.engine.performer import Performer
from latentjam.engine.set_config import set_config_from_dict
from latentjam.engine.transport import TICKS_PER_CLOCK, bars_to_ticks

BAR = bars_to_ticks(1)


def set_config(port: str, **track):
    return set_config_from_dict({
        "backend": "jack",
        "autostart": False,  # Play once the listener is connected
        "clock": {"bpm": 240},  # a bar a second keeps the test short
        "ports": {"main": {"name": port}},
        "tracks": [{"name": "melody", "mode": "hold", "seed": 2, "channel": 3, **track}],
    })


def positions(received):
    """(tick, message) for every message but the clock, the tick counted from Start."""
    out, pulses, started = [], 0, False
    for _, data in received:
        message = mido.Message.from_bytes(data)
        if message.type == "start":
            started, pulses = True, 0
        elif message.type == "clock":
            pulses += 1
        elif started:
            out.append((max(pulses - 1, 0) * TICKS_PER_CLOCK, message))
    return out


async def play(config, port, bars, during=None):
    async with Performer(config) as performer:
        loop = asyncio.get_running_loop()
        with await loop.run_in_executor(None, MidiReceiver, port) as rx:
            performer.command(cmd.Play())
            await asyncio.wait_for(performer.started.wait(), 10)
            if during is not None:
                await during(performer)
            while performer.state().bar < bars:
                await asyncio.sleep(0.01)
            played = performer.tracks[0].current.loop
            await performer.close()  # Stop and silence while the listener listens
            return played, rx.stop(linger_s=0.3)


def test_a_held_loop_arrives_on_its_steps_and_channel_then_stop_silences(jack_server):
    loop, received = asyncio.run(play(set_config("lj-set"), "lj-set", bars=3))
    kinds = [mido.Message.from_bytes(data).type for _, data in received]
    assert kinds[0] == "start"
    assert "stop" in kinds
    stop_at = kinds.index("stop")
    pulses = kinds[:stop_at].count("clock")
    assert pulses >= 3 * 96  # 24 per beat, 4 beats a bar, three bars at least
    notes = [(tick, m) for tick, m in positions(received[:stop_at])
             if m.type == "note_on" and m.velocity > 0]
    expected = [(rep * loop.length_ticks + n.start_tick, n.pitch) for rep in range(2)
                for n in loop.notes if rep * loop.length_ticks + n.start_tick < 3 * BAR]
    assert loop.notes, "the seeded loop has notes"
    assert [(t, m.note) for t, m in notes][:len(expected)] == expected
    assert {m.channel for _, m in notes} == {2}  # channel 3 as musicians count
    # Nothing hanging: every note-on met by a note-off, then all-notes-off on channel 3.
    sounding = {}
    for _, data in received:
        m = mido.Message.from_bytes(data)
        if m.type == "note_on" and m.velocity > 0:
            sounding[m.note] = sounding.get(m.note, 0) + 1
        elif m.type in ("note_off", "note_on"):
            sounding[m.note] = sounding.get(m.note, 0) - 1
    assert all(count <= 0 for count in sounding.values())
    assert any(mido.Message.from_bytes(d) == mido.Message(
        "control_change", channel=2, control=ALL_NOTES_OFF, value=0) for _, d in received)


def test_an_osc_mute_is_heard_at_the_next_bar_and_the_program_comes_first(jack_server):
    async def mute_in_bar_one(performer):
        server = OscServer(OscConfig(port=0), performer.command, performer.state)
        _, port = await server.start()
        while performer.state().bar < 1:
            await asyncio.sleep(0.005)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.sendto(encode("/latentjam/track/melody/mute", (1.0,)), ("127.0.0.1", port))
        await asyncio.sleep(0.1)
        await server.close()

    config = set_config("lj-mute", program=33)
    loop, received = asyncio.run(play(config, "lj-mute", bars=4, during=mute_in_bar_one))
    kinds = [mido.Message.from_bytes(data) for _, data in received]
    program = kinds.index(mido.Message("program_change", channel=2, program=32))
    assert program < min(i for i, m in enumerate(kinds) if m.type == "note_on")
    notes = [t for t, m in positions(received) if m.type == "note_on" and m.velocity > 0]
    assert notes and min(notes) < BAR  # bar 0 played
    assert max(notes) < 3 * BAR  # muted from bar 2 or 3 on (bars are prepared ahead)


def test_a_bad_track_command_is_refused_by_name(jack_server):
    async def run():
        async with Performer(set_config("lj-refuse")) as performer:
            with pytest.raises(Exception) as err:
                performer.command(cmd.Mute("drums"))
            return str(err.value)

    assert asyncio.run(run()) == "no track 'drums' (tracks: melody)"


def test_stop_then_continue_sends_song_position_and_continue(jack_server):
    async def stop_and_continue(performer):
        while performer.state().bar < 1:
            await asyncio.sleep(0.005)
        performer.command(cmd.Stop())
        await asyncio.sleep(0.3)
        performer.command(cmd.Play(resume=True))
        await asyncio.sleep(0.3)

    _, received = asyncio.run(play(set_config("lj-resume"), "lj-resume", bars=2,
                                   during=stop_and_continue))
    messages = [mido.Message.from_bytes(data) for _, data in received]
    kinds = [m.type for m in messages]
    stop = kinds.index("stop")
    assert kinds[stop + 1:].index("songpos") < kinds[stop + 1:].index("continue")
    position = messages[stop + 1 + kinds[stop + 1:].index("songpos")].pos
    assert 16 <= position < 32  # stopped in the second bar, resumed from its 16th note
    sounding = set()
    for m in messages[:stop + 1]:
        if m.type == "note_on" and m.velocity > 0:
            sounding.add(m.note)
        elif m.type in ("note_on", "note_off"):
            sounding.discard(m.note)
    assert not sounding  # Stop released everything before the Continue


def test_loading_a_large_anchor_never_stops_the_clock(jack_server, tmp_path):
    """A 360 KB file of 120,000 events takes seconds to read; it is read in a process of its
    own, so the clock pulses go on the whole time. Paths outside the anchor folders and
    special files are refused at once, in one line."""
    import time

    import mido as _mido
    from latentjam.engine.errors import SettingError

    anchors = tmp_path / "anchors"
    anchors.mkdir()
    big = _mido.MidiFile(type=1, ticks_per_beat=220)
    track = _mido.MidiTrack()
    big.tracks.append(track)
    for i in range(60_000):
        track.append(_mido.Message("note_on", note=60 + i % 12, velocity=80, time=0))
        track.append(_mido.Message("note_on", note=60 + i % 12, velocity=0, time=55))
    big.save(anchors / "big.mid")
    config = set_config_from_dict({
        "backend": "jack", "autostart": False, "clock": {"bpm": 240},
        "ports": {"main": {"name": "lj-anchor"}},
        "anchor_dirs": [str(anchors)],
        "tracks": [{"name": "melody", "mode": "hold", "seed": 2}],
    })

    async def run():
        async with Performer(config) as performer:
            loop = asyncio.get_running_loop()
            with await loop.run_in_executor(None, MidiReceiver, "lj-anchor") as rx:
                performer.command(cmd.Play())
                await asyncio.wait_for(performer.started.wait(), 10)
                refusals = []
                for path in ("/dev/zero", "/etc/shadow", "../big.mid"):
                    with pytest.raises(SettingError) as err:
                        performer.command(cmd.LoadAnchor("melody", 1, path))
                    refusals.append(str(err.value))
                began = time.monotonic_ns()
                performer.command(cmd.LoadAnchor("melody", 0, "big.mid"))
                give_up = time.monotonic() + 60
                while 0 not in performer.tracks[0].anchors and time.monotonic() < give_up:
                    await asyncio.sleep(0.01)
                ended = time.monotonic_ns()
                loaded = 0 in performer.tracks[0].anchors
                await performer.close()
                return refusals, loaded, began, ended, rx.stop(linger_s=0.3)

    refusals, loaded, began, ended, received = asyncio.run(run())
    assert all("outside the anchor folders" in text for text in refusals)
    assert loaded
    seconds = (ended - began) / 1e9
    assert seconds > 1.0, "the file must take long enough to read for the check to mean much"
    pulses = [stamp for stamp, data in received if data == [0xF8] and began <= stamp <= ended]
    # 96 pulses a second at 240 BPM; a loop blocked by the read would send none past the
    # 100 ms lookahead
    assert len(pulses) > 0.5 * 96 * seconds
    assert max(b - a for a, b in zip(pulses, pulses[1:], strict=False)) < 0.5e9


def test_a_blend_track_moves_to_a_corner_sent_over_osc(jack_server):
    """A blend set (its corners fresh samples) plays; ``/blend 1 1`` over UDP puts the point
    on corner 3, and the loop heard from the next boundary is that corner's."""
    heard = {}

    async def to_corner_three(performer):
        server = OscServer(OscConfig(port=0), performer.command, performer.state)
        _, port = await server.start()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.sendto(encode("/latentjam/track/melody/blend", (1.0, 1.0)),
                          ("127.0.0.1", port))
        track = performer.tracks[0]
        while track.state("main", 0).blend_point != (1.0, 1.0):
            await asyncio.sleep(0.01)
        heard["z"], heard["corner"] = track.current.z.copy(), track.anchors[3].copy()
        await server.close()

    config = set_config("lj-blend", mode="blend", every=1, bars=2, temperature=0.0)
    _, received = asyncio.run(play(config, "lj-blend", bars=6, during=to_corner_three))
    np.testing.assert_array_equal(heard["z"], heard["corner"])
    notes = [m for _, m in positions(received) if m.type == "note_on" and m.velocity > 0]
    assert notes and {m.channel for m in notes} == {2}

