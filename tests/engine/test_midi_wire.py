"""Only complete MIDI messages reach a port (issue 10, finding 5): the byte rules, the guard's
counting and rate-limited log, and the output thread refusing a broken message in front of a
sink while the rest of the stream goes out."""

import logging
import time

import mido
import pytest
from latentjam.engine.engine_state import EngineState
from latentjam.engine.events import DEFAULT_PORT, ScheduledMessage
from latentjam.engine.midi_wire import WireGuard, bytes_problem, message_problem
from latentjam.engine.output_thread import OutputThread
from latentjam.engine.sinks import MemorySink


@pytest.mark.parametrize("data", [
    [0x99, 36, 100], [0x89, 36, 0], [0xC3, 5], [0xD0, 127], [0xE0, 0, 64], [0xB9, 123, 0],
    [0xF8], [0xFA], [0xFB], [0xFC], [0xFE], [0xFF], [0xF6], [0xF1, 0x10], [0xF3, 2],
    [0xF2, 0x7F, 0x7F], [0xF0, 0xF7], [0xF0, 0x7E, 0x00, 0x09, 0x01, 0xF7],
])
def test_complete_messages_pass(data):
    assert bytes_problem(data) is None


@pytest.mark.parametrize("data, kind", [
    ([], "empty"),
    ([0x99], "cut message (status 99: 0 of 2"),  # what issue 10 saw on the wire
    ([0x99, 36], "cut message (status 99: 1 of 2"),
    ([0xC0], "cut message (status C0: 0 of 1"),
    ([0xF2, 1], "cut message (status F2: 1 of 2"),
    ([0x90, 60, 100, 0], "too many data bytes"),
    ([0xF8, 0], "too many data bytes"),
    ([36, 100], "no status byte"),
    ([0x99, 200, 64], "data byte of 0x80 or more"),
    ([0x99, 36, 0x99], "data byte of 0x80 or more"),  # a status byte where data belongs
    ([0xF0, 1, 2], "without its end"),
    ([0xF0, 1, 0x90, 0xF7], "data byte of 0x80 or more"),
    ([0xF4], "undefined status byte F4"),
    ([0xF7], "undefined status byte F7"),
    ([0x90, 60, 256], "not a byte"),
    ([0x90, 60, -1], "not a byte"),
])
def test_incomplete_or_malformed_messages_are_named(data, kind):
    problem = bytes_problem(data)
    assert problem is not None and kind in problem.kind


def test_mido_messages_made_without_checks_are_caught():
    assert message_problem(mido.Message("note_on", channel=9, note=36, velocity=90)) is None
    assert message_problem(mido.Message("clock")) is None
    broken = mido.Message("note_on", channel=9, note=200, velocity=64, skip_checks=True)
    assert "0x80 or more" in message_problem(broken).kind
    sysex = mido.Message("sysex", data=[1, 300], skip_checks=True)
    assert "not a byte" in message_problem(sysex).kind
    missing = mido.Message("note_on", note=None, skip_checks=True)
    assert "not a byte" in message_problem(missing).kind


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_guard_counts_every_refusal_and_logs_each_kind_once_then_a_count(caplog):
    clock = FakeClock()
    guard = WireGuard(repeat_log_s=60.0, clock=clock)
    cut = [0x99]
    bad_data = [0x99, 200, 64]
    with caplog.at_level(logging.ERROR, logger="latentjam.engine.midi_wire"):
        assert guard.allows([0x99, 36, 90])
        for _ in range(500):
            assert not guard.allows(cut, "drums")
        assert not guard.allows(bad_data, "drums")
        first = [r.getMessage() for r in caplog.records]
        clock.now = 61.0  # a minute on: one line with the count of that kind since
        assert not guard.allows(cut, "drums")
        later = [r.getMessage() for r in caplog.records][len(first):]
    assert guard.refused == 502
    assert guard.by_kind == {"a cut message (status 99: 0 of 2 data bytes)": 501,
                             "a data byte of 0x80 or more (status 99)": 1}
    assert len(first) == 2 and "[99]" in first[0] and "'drums'" in first[0]
    assert "[99 C8 40]" in first[1]
    assert len(later) == 1 and "refused 500 more" in later[0]


def wait_for(predicate, timeout_s=2.0):
    give_up = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < give_up:
        time.sleep(0.005)
    return predicate()


def test_the_output_thread_refuses_a_broken_message_and_sends_the_rest():
    sink = MemorySink()
    broken = mido.Message("note_on", channel=9, note=200, velocity=64, skip_checks=True)
    good = [mido.Message("note_on", channel=9, note=36, velocity=90),
            mido.Message("note_on", channel=9, note=38, velocity=90)]
    with OutputThread({DEFAULT_PORT: sink}) as thread:
        now = thread.now_ns()
        thread.submit_many([ScheduledMessage(now, good[0]), ScheduledMessage(now + 1, broken),
                            ScheduledMessage(now + 2, good[1])])
        assert wait_for(lambda: len(sink.messages) >= 2 and thread.refused_count == 1)
        assert thread.refused_by_kind() == {"a data byte of 0x80 or more (status 99)": 1}
        assert thread.sent_count == 2
    # the broken note never reached the sink, and was never taken for a sounding note: the
    # stop sends note-offs for the two good ones only
    sent = sink.messages
    assert broken not in sent
    assert sent[:2] == good
    assert {m.note for m in sent if m.type == "note_off"} == {36, 38}


def test_engine_state_has_room_for_the_count():
    state = EngineState(True, "internal", "playing", 120.0, 0, 0, 0, (), refused_messages=3)
    assert state.refused_messages == 3 and EngineState(True, "internal", "playing", 120.0,
                                                       0, 0, 0, ()).refused_messages == 0
