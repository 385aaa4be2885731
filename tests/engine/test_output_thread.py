"""The output thread against in-memory sinks: order, completeness, silencing, resilience.
Timing is measured by benchmarks/bench_emission.py, never asserted here."""

import random
import time

import mido
import pytest
from latentjam.engine.events import DEFAULT_PORT, ScheduledMessage
from latentjam.engine.note_tracker import ALL_NOTES_OFF
from latentjam.engine.output_thread import OutputThread
from latentjam.engine.sinks import MemorySink

MS = 1_000_000


def on(note, channel=0):
    return mido.Message("note_on", note=note, channel=channel, velocity=90)


def off(note, channel=0):
    return mido.Message("note_off", note=note, channel=channel)


def wait_for(predicate, timeout_s=2.0):
    give_up = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < give_up:
        time.sleep(0.005)
    return predicate()


def test_events_submitted_in_any_order_go_out_in_deadline_order():
    sink = MemorySink()
    with OutputThread({DEFAULT_PORT: sink}) as thread:
        start = thread.now_ns() + 200 * MS  # all submitted before the first is due
        events = [ScheduledMessage(start + i * MS // 2, on(30 + i)) for i in range(60)]
        shuffled = events[:]
        random.Random(7).shuffle(shuffled)
        thread.submit_many(shuffled)
        assert wait_for(lambda: len(sink.messages) == len(events))
        assert sink.messages == [e.message for e in events]
        # The thread spins until each deadline: nothing is ever sent early.
        errors = thread.emission_errors_ns()
        assert len(errors) == len(events) == thread.sent_count and min(errors) >= 0
        stamps = [stamp for stamp, _ in sink.timed_messages]
        assert all(stamp >= e.deadline_ns for stamp, e in zip(stamps, events, strict=True))


def test_an_earlier_event_submitted_later_wakes_the_thread():
    sink = MemorySink()
    with OutputThread({DEFAULT_PORT: sink}) as thread:
        thread.submit(ScheduledMessage(thread.now_ns() + 2_000 * MS, on(1)))
        thread.submit(ScheduledMessage(thread.now_ns() + 5 * MS, on(2)))
        assert wait_for(lambda: sink.messages == [on(2)], timeout_s=1.0)


def test_each_event_goes_to_its_own_port():
    drums, bass = MemorySink(), MemorySink()
    with OutputThread({"drums": drums, "bass": bass}) as thread:
        now = thread.now_ns()
        thread.submit(ScheduledMessage(now, on(36, channel=9), "drums"))
        thread.submit(ScheduledMessage(now, on(40, channel=1), "bass"))
        assert wait_for(lambda: drums.messages and bass.messages)
        with pytest.raises(ValueError, match="no port 'lead'"):
            thread.submit(ScheduledMessage(now, on(60), "lead"))
        with pytest.raises(TypeError, match="ScheduledMessage"):
            thread.submit(on(60))
    assert drums.messages[0] == on(36, channel=9) and bass.messages[0] == on(40, channel=1)


def test_stop_releases_every_sounding_note_and_sends_all_notes_off():
    lead, drums = MemorySink(), MemorySink()
    thread = OutputThread({"lead": lead, "drums": drums})
    thread.start()
    now = thread.now_ns()
    plan = [("lead", on(60)), ("lead", on(64, channel=3)), ("drums", on(36, channel=9))]
    for port, message in plan:
        thread.submit(ScheduledMessage(now, message, port))
        thread.submit(ScheduledMessage(now + 10_000 * MS, off(message.note, message.channel), port))
    assert wait_for(lambda: len(lead.messages) == 2 and len(drums.messages) == 1)
    thread.stop()
    thread.stop()  # idempotent
    assert lead.messages[2:] == [
        off(60).copy(velocity=0),
        off(64, channel=3).copy(velocity=0),
        mido.Message("control_change", channel=0, control=ALL_NOTES_OFF, value=0),
        mido.Message("control_change", channel=3, control=ALL_NOTES_OFF, value=0),
    ]
    assert drums.messages[1:] == [
        off(36, channel=9).copy(velocity=0),
        mido.Message("control_change", channel=9, control=ALL_NOTES_OFF, value=0),
    ]


def test_panic_drops_what_is_pending_and_the_thread_plays_on():
    sink = MemorySink()
    with OutputThread({DEFAULT_PORT: sink}) as thread:
        now = thread.now_ns()
        thread.submit(ScheduledMessage(now, on(60)))
        thread.submit(ScheduledMessage(now + 10_000 * MS, on(61)))
        assert wait_for(lambda: len(sink.messages) == 1)
        thread.panic()
        assert wait_for(lambda: len(sink.messages) == 3)
        assert [m.type for m in sink.messages[1:]] == ["note_off", "control_change"]
        thread.submit(ScheduledMessage(thread.now_ns(), on(62)))
        assert wait_for(lambda: len(sink.messages) == 4)
    assert sink.messages[3] == on(62)
    assert 61 not in [getattr(m, "note", None) for m in sink.messages]


class FlakySink(MemorySink):
    """Fails on every note 13, as a port that disappears would."""

    def send(self, message):
        if getattr(message, "note", None) == 13:
            raise OSError("port went away")
        super().send(message)


def test_a_failing_port_is_logged_and_the_rest_still_goes_out(caplog):
    sink = FlakySink()
    with OutputThread({DEFAULT_PORT: sink}) as thread:
        now = thread.now_ns()
        notes = [12, 13, 13, 14, 15]
        thread.submit_many(ScheduledMessage(now + i * MS, on(n)) for i, n in enumerate(notes))
        assert wait_for(lambda: len(sink.messages) == 3)
    assert [m.note for m in sink.messages[:3]] == [12, 14, 15]
    # Logged once while the port keeps failing, not once per message.
    assert sum("port went away" in r.getMessage() for r in caplog.records) == 1
    assert thread.sent_count == 3 and thread.failed_count == 2


def test_stop_without_start_is_harmless():
    sink = MemorySink()
    OutputThread({DEFAULT_PORT: sink}).stop()
    assert sink.messages == []


def test_emission_errors_keep_the_most_recent():
    sink = MemorySink()
    with OutputThread({DEFAULT_PORT: sink}, error_capacity=4) as thread:
        now = thread.now_ns()
        thread.submit_many(ScheduledMessage(now + i * MS, on(i)) for i in range(10))
        assert wait_for(lambda: thread.sent_count == 10)
        assert len(thread.emission_errors_ns()) == 4


def test_realtime_priority_is_optional():
    sink = MemorySink()
    with OutputThread({DEFAULT_PORT: sink}, realtime_priority=10) as thread:
        thread.submit(ScheduledMessage(thread.now_ns(), on(1)))
        assert wait_for(lambda: sink.messages == [on(1)])
    assert thread.realtime in (True, False)


def test_an_output_thread_needs_a_port():
    with pytest.raises(ValueError, match="at least one port"):
        OutputThread({})
