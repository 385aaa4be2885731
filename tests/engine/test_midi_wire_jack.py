"""On a real JACK port (DESIGN §6): a broken message handed to the output thread never reaches
the receiver, and every byte sequence that does is one complete MIDI message (issue 10,
finding 5). Order and completeness only; JACK's timing is the benchmarks' business."""

import mido
from jack_server import MidiReceiver
from latentjam.engine import ports
from latentjam.engine.events import ScheduledMessage
from latentjam.engine.midi_wire import bytes_problem
from latentjam.engine.output_thread import OutputThread

JACK = "jack"
MS = 1_000_000


def test_only_complete_messages_arrive_at_the_other_end(jack_server):
    drums = [mido.Message("note_on", channel=9, note=36 + i, velocity=100) for i in range(4)]
    broken = [mido.Message("note_on", channel=9, note=200, velocity=64, skip_checks=True),
              mido.Message("program_change", channel=9, program=300, skip_checks=True),
              mido.Message("sysex", data=[0x7E, 0x99], skip_checks=True)]
    plan = [drums[0], broken[0], drums[1], broken[1], drums[2], broken[2], drums[3]]
    with ports.open_output("lj-wire", backend=JACK) as out, MidiReceiver("lj-wire") as rx:
        with OutputThread({"default": out}) as thread:
            start = thread.now_ns() + 20 * MS
            thread.submit_many(ScheduledMessage(start + i * MS, message)
                               for i, message in enumerate(plan))
            rx.wait_for(len(drums))
            refused = thread.refused_count
        received = [data for _, data in rx.stop()]
    assert refused == len(broken)
    assert all(bytes_problem(data) is None for data in received), received
    notes = [mido.Message.from_bytes(data) for data in received if data[0] == 0x99]
    assert notes == drums
