"""Timed events, the deadline heap's sending order and the note tracker (pure logic)."""

import random

import mido
import pytest
from latentjam.engine.event_heap import EventHeap, send_rank
from latentjam.engine.events import ScheduledMessage, TimedMessage
from latentjam.engine.note_tracker import ALL_NOTES_OFF, NoteTracker
from latentjam.engine.transport import PPQN, TempoMap
from mido.frozen import FrozenMessage


def on(note, channel=0, velocity=100):
    return mido.Message("note_on", note=note, channel=channel, velocity=velocity)


def off(note, channel=0):
    return mido.Message("note_off", note=note, channel=channel)


def test_events_hold_a_frozen_copy_of_the_message():
    message = on(60)
    event = TimedMessage(0, message, "drums")
    message.note = 61
    assert isinstance(event.message, FrozenMessage) and event.message.note == 60
    hash(event)
    with pytest.raises(AttributeError):
        event.tick = 5


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((-1, on(60)), ValueError, "tick"),
        ((1.5, on(60)), TypeError, "tick"),
        ((True, on(60)), TypeError, "tick"),
        ((0, mido.MetaMessage("set_tempo")), TypeError, "mido.Message"),
        ((0, "note_on"), TypeError, "mido.Message"),
        ((0, on(60), ""), ValueError, "port"),
    ],
)
def test_timed_message_is_validated(args, error, match):
    with pytest.raises(error, match=match):
        TimedMessage(*args)


def test_scheduled_message_is_validated():
    with pytest.raises(ValueError, match="deadline_ns"):
        ScheduledMessage(-5, on(60))


def test_timed_message_is_scheduled_through_the_tempo_map():
    event = TimedMessage(PPQN, on(60), "lead")
    scheduled = event.scheduled(TempoMap(120), origin_ns=1_000, offset_ns=-300)
    assert scheduled == ScheduledMessage(1_000 + 500_000_000 - 300, on(60), "lead")


def test_heap_sends_by_deadline_then_kind_then_arrival():
    at_100 = [
        ScheduledMessage(100, on(60)),  # other, pushed first
        ScheduledMessage(100, off(60)),  # note-off
        ScheduledMessage(100, mido.Message("clock")),  # system
        ScheduledMessage(100, on(60, velocity=0)),  # a note-off too
        ScheduledMessage(100, mido.Message("control_change", control=7)),  # other
    ]
    others = [ScheduledMessage(deadline, on(40)) for deadline in (5, 50, 99, 101, 400)]
    heap = EventHeap()
    random.Random(3).shuffle(others)
    for event in at_100 + others:
        heap.push(event)
    assert heap.next_deadline_ns() == 5
    due = heap.pop_due(100)
    assert [e.deadline_ns for e in due] == [5, 50, 99, 100, 100, 100, 100, 100]
    assert due[3:] == [at_100[i] for i in (2, 1, 3, 0, 4)]
    assert len(heap) == 2 and heap.pop_due(100) == []
    assert [e.deadline_ns for e in heap.clear()] == [101, 400]
    assert heap.next_deadline_ns() is None


def test_send_rank_orders_transport_then_note_offs_then_the_rest():
    kinds = [
        mido.Message("stop"),
        mido.Message("songpos", pos=16),
        mido.Message("continue"),
        mido.Message("clock"),
        mido.Message("sysex", data=[1]),
        off(1),
        on(1),
    ]
    ranks = [send_rank(m) for m in kinds]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert send_rank(mido.Message("start")) == send_rank(mido.Message("continue"))
    assert send_rank(on(1, velocity=0)) == send_rank(off(1))


def test_tracker_matches_note_offs_per_port_channel_and_note():
    tracker = NoteTracker()
    for port, message in [
        ("a", on(60)),
        ("a", on(60, channel=9)),
        ("b", on(60)),
        ("a", on(64)),
        ("a", off(60)),
        ("b", on(60, velocity=0)),  # running-status style note-off
        ("a", mido.Message("clock")),
    ]:
        tracker.observe(port, message)
    assert tracker.sounding() == [("a", 0, 64), ("a", 9, 60)]


def test_tracker_counts_stacked_note_ons():
    tracker = NoteTracker()
    for message in (on(50), on(50), off(50)):
        tracker.observe("p", message)
    assert tracker.sounding() == [("p", 0, 50)]
    tracker.observe("p", off(50))
    assert tracker.sounding() == []
    tracker.observe("p", off(50))  # a stray note-off is harmless
    assert tracker.pending_offs() == []


def test_panic_messages_release_every_note_then_all_notes_off_per_used_channel():
    tracker = NoteTracker()
    tracker.observe("p", on(50, channel=2))
    tracker.observe("p", on(50, channel=2))
    tracker.observe("q", mido.Message("control_change", channel=5, control=1, value=3))
    panic = tracker.panic_messages()
    assert panic[:2] == [("p", mido.Message("note_off", channel=2, note=50, velocity=0))] * 2
    assert [(port, m.channel, m.control) for port, m in panic[2:]] == [
        ("p", 2, ALL_NOTES_OFF),
        ("q", 5, ALL_NOTES_OFF),
    ]
    tracker.clear()
    assert tracker.pending_offs() == [] and tracker.used_channels() == [("p", 2), ("q", 5)]
