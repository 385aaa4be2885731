"""Messages due long after their time: which are dropped, and where the clock goes on."""

import mido
from latentjam.engine.events import ScheduledMessage
from latentjam.engine.late import LATE_DROP_NS, drop_late, resync_messages, resync_tick
from latentjam.engine.midi_clock_out import TICKS_PER_MIDI_BEAT

MS = 1_000_000


def at(ms: int, message: mido.Message) -> ScheduledMessage:
    return ScheduledMessage(ms * MS, message, "main")


def test_late_note_ons_and_pulses_are_dropped_and_everything_else_goes():
    now = 2_000 * MS
    due = [at(10, mido.Message("note_on", note=60, velocity=90)),
           at(11, mido.Message("clock")),
           at(12, mido.Message("note_off", note=60)),
           at(13, mido.Message("note_on", note=61, velocity=0)),  # a note-off in disguise
           at(14, mido.Message("control_change", control=123)),
           at(15, mido.Message("stop")),
           at(1_990, mido.Message("note_on", note=62, velocity=90)),  # 10 ms late: in time
           at(1_995, mido.Message("clock"))]
    kept, notes, pulses = drop_late(due, now)
    assert (notes, pulses) == (1, 1)
    assert [e.message.type for e in kept] == ["note_off", "note_on", "control_change", "stop",
                                              "note_on", "clock"]
    assert drop_late(due, due[0].deadline_ns + LATE_DROP_NS)[1:] == (0, 0)  # just in time


def test_the_clock_resumes_on_the_next_16th_with_stop_position_continue():
    assert resync_tick(0) == TICKS_PER_MIDI_BEAT
    assert resync_tick(TICKS_PER_MIDI_BEAT - 1) == TICKS_PER_MIDI_BEAT
    assert resync_tick(TICKS_PER_MIDI_BEAT) == 2 * TICKS_PER_MIDI_BEAT
    tick = 40 * TICKS_PER_MIDI_BEAT
    messages = resync_messages(tick, "main")
    assert [(m.tick, m.message.type) for m in messages] == [
        (tick - 1, "stop"), (tick - 1, "songpos"), (tick - 1, "continue")]
    assert messages[1].message.pos == 40
