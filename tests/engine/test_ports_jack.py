"""Real MIDI ports through a private JACK dummy server (DESIGN §6).

What we send is heard by a receiver in a process of its own, as a DAW would hear it. JACK
hands MIDI over once per period, so these tests check what arrives and in which order, never
how precisely (benchmarks/bench_emission.py measures that at the sender).
"""

import threading

import mido
import pytest
from jack_server import MidiReceiver
from latentjam.engine import ports
from latentjam.engine.errors import PortError
from latentjam.engine.events import ScheduledMessage, TimedMessage
from latentjam.engine.note_tracker import ALL_NOTES_OFF
from latentjam.engine.output_thread import OutputThread
from latentjam.engine.transport import TICKS_PER_CLOCK, TempoMap, steps_to_ticks

JACK = "jack"
MS = 1_000_000


def messages(received):
    return [mido.Message.from_bytes(data) for _, data in received]


def all_notes_off(channel):
    return mido.Message("control_change", channel=channel, control=ALL_NOTES_OFF, value=0)


def test_virtual_output_appears_in_the_listing(jack_server):
    with ports.open_output("lj-listed", backend=JACK):
        listing = ports.list_ports(JACK)
    assert listing.backend == ports.BACKEND_ALIASES[JACK]
    assert any(name.endswith(":lj-listed") for name in listing.inputs)


def test_clock_and_notes_arrive_complete_and_in_order(jack_server):
    tempo = TempoMap(240)  # fast, to keep the test short: a beat is 250 ms
    beats = 2
    timed = [TimedMessage(0, mido.Message("start"))]
    timed += [
        TimedMessage(tick, mido.Message("clock"))
        for tick in range(0, beats * 480, TICKS_PER_CLOCK)
    ]
    for step in range(4 * beats):
        note = mido.Message("note_on", channel=step % 3, note=60 + step, velocity=100)
        timed.append(TimedMessage(steps_to_ticks(step), note))
        timed.append(TimedMessage(steps_to_ticks(step + 1), note.copy(velocity=0)))
    timed.append(TimedMessage(beats * 480, mido.Message("stop")))
    with ports.open_output("lj-stream", backend=JACK) as out, MidiReceiver("lj-stream") as rx:
        with OutputThread({"default": out}) as thread:
            origin = thread.now_ns() + 100 * MS
            thread.submit_many(event.scheduled(tempo, origin) for event in reversed(timed))
            rx.wait_for(len(timed))
        received = messages(rx.stop())
    # The order the output thread promises: by tick; at one tick Stop, Start, the clock pulse,
    # note-offs, note-ons.
    expected = sorted(timed, key=lambda e: (e.tick, rank(e.message)))
    assert received[: len(expected)] == [e.message for e in expected]
    # Stopping had no note to release (each was off already): all-notes-off per channel.
    assert received[len(expected) :] == [all_notes_off(ch) for ch in range(3)]


def rank(message):
    kind = "note_off" if message.type == "note_on" and not message.velocity else message.type
    return ["stop", "start", "clock", "note_off", "note_on"].index(kind)


def test_stop_leaves_no_note_hanging_at_the_other_end(jack_server):
    chords = [(0, 60), (0, 64), (9, 36), (9, 42), (4, 50), (0, 64)]  # 64 struck twice
    with ports.open_output("lj-panic", backend=JACK) as out, MidiReceiver("lj-panic") as rx:
        with OutputThread({"default": out}) as thread:
            start = thread.now_ns() + 20 * MS
            for i, (channel, note) in enumerate(chords):
                on = mido.Message("note_on", channel=channel, note=note, velocity=80)
                thread.submit(ScheduledMessage(start + i * MS, on))
                off = mido.Message("note_off", channel=channel, note=note)
                thread.submit(ScheduledMessage(start + 60_000 * MS, off))  # a minute away
            rx.wait_for(len(chords))
        received = messages(rx.stop())
    sounding: dict[tuple[int, int], int] = {}
    for message in received:
        key = (getattr(message, "channel", None), getattr(message, "note", None))
        if message.type == "note_on" and message.velocity > 0:
            sounding[key] = sounding.get(key, 0) + 1
        elif message.type in ("note_on", "note_off"):
            sounding[key] -= 1
    assert len([m for m in received if m.type == "note_on"]) == len(chords)
    assert all(count == 0 for count in sounding.values())
    assert received[-3:] == [all_notes_off(ch) for ch in (0, 4, 9)]


def test_an_existing_port_is_opened_by_name(jack_server):
    arrived = threading.Event()
    with ports.open_input("lj-daw-in", backend=JACK) as daw_in:
        daw_in.callback = lambda message: arrived.set()
        with ports.open_output("lj-daw-in", virtual=False, backend=JACK) as out:
            out.send(mido.Message("program_change", channel=2, program=5))
            assert arrived.wait(5)


def test_an_unknown_port_name_lists_what_is_there(jack_server):
    with ports.open_input("lj-present", backend=JACK):
        with pytest.raises(PortError, match="'no-such-synth' matches no MIDI output.*lj-present"):
            ports.open_output("no-such-synth", virtual=False, backend=JACK)


def test_a_name_matching_several_ports_is_refused(jack_server):
    with ports.open_input("lj-twin-a", backend=JACK), ports.open_input("lj-twin-b", backend=JACK):
        with pytest.raises(PortError, match="matches several"):
            ports.open_output("lj-twin", virtual=False, backend=JACK)
