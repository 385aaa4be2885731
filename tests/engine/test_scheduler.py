"""``engine.scheduler.LookaheadQueue``: messages wait in ticks and become deadlines only when
they fall due within the look-ahead, through the timeline of that moment.

Tick order with ties in push order, the horizon inclusive, humanized offsets (a message early
or late by its offset, up to ``MAX_OFFSET_NS`` either side, and a late offset not holding up
later ticks), what is kept for later and what is returned at once however late (dropping is
the performer's job, ``late.drop_late``), deadlines before the clock's zero clamped to 0, and a
tempo change or a follower's corrected estimate moving every message not yet handed over.
"""

from fractions import Fraction

import mido
from latentjam.engine.events import ScheduledMessage, TimedMessage
from latentjam.engine.scheduler import MAX_OFFSET_NS, LookaheadQueue
from latentjam.engine.timeline import Timeline
from latentjam.engine.transport import NS_PER_SECOND, PPQN, TempoMap, bars_to_ticks

BAR = bars_to_ticks(1)
SECOND = NS_PER_SECOND
MS = 1_000_000
AT_120 = Timeline(TempoMap(120), origin_ns=10 * SECOND)  # a beat is 0.5 s from 10 s on


def on(note):
    return mido.Message("note_on", note=note, velocity=100)


def timed(tick, note=60, port="main"):
    return TimedMessage(tick, on(note), port)


def notes(due):
    return [event.message.note for event in due]


def test_a_new_queue_is_empty():
    queue = LookaheadQueue()
    assert len(queue) == 0
    assert queue.pop_due(AT_120, 10 ** 15) == []


def test_messages_come_out_in_tick_order_and_ties_in_push_order():
    queue = LookaheadQueue()
    for tick, note in ((960, 1), (0, 2), (480, 3), (480, 4), (0, 5), (480, 6)):
        queue.push(timed(tick, note))
    due = queue.pop_due(AT_120, AT_120.ns_at(BAR))
    assert notes(due) == [2, 5, 3, 4, 6, 1]
    assert [event.deadline_ns for event in due] == [
        10 * SECOND, 10 * SECOND, 10_500 * MS, 10_500 * MS, 10_500 * MS, 11 * SECOND]
    assert len(queue) == 0


def test_a_due_message_keeps_its_message_and_port():
    queue = LookaheadQueue()
    message = mido.Message("control_change", channel=3, control=7, value=90)
    queue.push(TimedMessage(PPQN, message, "synth"))
    assert queue.pop_due(AT_120, AT_120.ns_at(PPQN)) == [
        ScheduledMessage(10_500 * MS, message, "synth")]


def test_the_horizon_is_inclusive_and_what_lies_beyond_it_waits():
    queue = LookaheadQueue()
    queue.push_many([(timed(0, 1), 0), (timed(PPQN, 2), 0), (timed(PPQN + 1, 3), 0)])
    horizon = AT_120.ns_at(PPQN)
    assert notes(queue.pop_due(AT_120, horizon)) == [1, 2]
    assert len(queue) == 1
    assert queue.pop_due(AT_120, AT_120.ns_at(PPQN + 1) - 1) == []
    assert notes(queue.pop_due(AT_120, AT_120.ns_at(PPQN + 1))) == [3]
    assert len(queue) == 0


def test_popping_twice_never_hands_a_message_over_twice():
    queue = LookaheadQueue()
    queue.push_many([(timed(tick, tick // 120), 0) for tick in range(0, BAR, 120)])
    handed = []
    for horizon in range(AT_120.ns_at(0), AT_120.ns_at(BAR) + 1, 37 * MS):
        handed += notes(queue.pop_due(AT_120, horizon))
    handed += notes(queue.pop_due(AT_120, AT_120.ns_at(BAR)))
    assert handed == list(range(16))


def test_an_offset_moves_the_deadline_both_ways():
    queue = LookaheadQueue()
    queue.push(timed(PPQN, 1), offset_ns=-20 * MS)  # played ahead
    queue.push(timed(PPQN, 2), offset_ns=+20 * MS)  # played behind
    grid = AT_120.ns_at(PPQN)
    due = queue.pop_due(AT_120, grid - 20 * MS)
    assert due == [ScheduledMessage(grid - 20 * MS, on(1), "main")]
    assert queue.pop_due(AT_120, grid + 20 * MS - 1) == []
    assert queue.pop_due(AT_120, grid + 20 * MS) == [
        ScheduledMessage(grid + 20 * MS, on(2), "main")]


def test_the_earliest_offset_is_handed_over_as_soon_as_its_deadline_is_within_the_horizon():
    # A message played the most ahead sits MAX_OFFSET_NS past the horizon on the grid.
    queue = LookaheadQueue()
    queue.push(timed(BAR, 1), offset_ns=-MAX_OFFSET_NS)
    grid = AT_120.ns_at(BAR)
    assert queue.pop_due(AT_120, grid - MAX_OFFSET_NS - 1) == []
    assert queue.pop_due(AT_120, grid - MAX_OFFSET_NS) == [
        ScheduledMessage(grid - MAX_OFFSET_NS, on(1), "main")]


def test_a_late_offset_waits_without_holding_up_later_ticks():
    queue = LookaheadQueue()
    queue.push(timed(0, 1), offset_ns=100 * MS)
    queue.push(timed(10, 2))  # 10 ticks later on the grid, due before the first
    queue.push(timed(20, 3), offset_ns=50 * MS)
    horizon = AT_120.ns_at(20) + 10 * MS
    assert notes(queue.pop_due(AT_120, horizon)) == [2]
    assert len(queue) == 2
    assert notes(queue.pop_due(AT_120, AT_120.ns_at(20) + 50 * MS)) == [3]
    assert notes(queue.pop_due(AT_120, AT_120.ns_at(0) + 100 * MS)) == [1]


def test_a_message_long_past_its_time_is_still_handed_over_with_its_own_deadline():
    queue = LookaheadQueue()
    queue.push(timed(0, 1))
    queue.push(timed(PPQN, 2))
    now = AT_120.ns_at(BAR * 100)  # a stall: 100 bars later
    due = queue.pop_due(AT_120, now)
    assert [(e.message.note, e.deadline_ns) for e in due] == [(1, 10 * SECOND),
                                                             (2, 10_500 * MS)]


def test_a_deadline_before_the_clocks_zero_is_clamped_to_zero():
    queue = LookaheadQueue()
    early = Timeline(TempoMap(120), origin_ns=5 * MS)
    queue.push(timed(0, 1), offset_ns=-20 * MS)
    queue.push(timed(0, 2), offset_ns=-5 * MS)
    assert [(e.message.note, e.deadline_ns) for e in queue.pop_due(early, 0)] == [(1, 0),
                                                                                 (2, 0)]


def test_a_tempo_change_moves_every_message_not_yet_handed_over():
    queue = LookaheadQueue()
    queue.push_many([(timed(tick, tick // PPQN), 0) for tick in range(0, 2 * BAR, PPQN)])
    first = queue.pop_due(AT_120, AT_120.ns_at(BAR - 1))  # bar 0 handed over at 120 BPM
    assert [e.deadline_ns for e in first] == [10 * SECOND + b * 500 * MS for b in range(4)]
    slower = Timeline(AT_120.tempo_map.with_tempo(BAR, 60), AT_120.origin_ns)
    rest = queue.pop_due(slower, slower.ns_at(2 * BAR))
    assert notes(rest) == [4, 5, 6, 7]
    # bar 1 at 60 BPM: a beat a second from the bar line, which did not move (12 s)
    assert [e.deadline_ns for e in rest] == [12 * SECOND + b * SECOND for b in range(4)]


def test_a_followers_corrected_estimate_moves_what_waits():
    queue = LookaheadQueue()
    queue.push(timed(BAR, 1))
    queue.push(timed(2 * BAR, 2))
    estimate = Timeline.steady(120, tick=0, at_ns=10 * SECOND)
    assert notes(queue.pop_due(estimate, estimate.ns_at(BAR))) == [1]
    corrected = Timeline.steady(119, tick=BAR, at_ns=estimate.ns_at(BAR) + 3 * MS)
    # under the old estimate the second bar line was due here; under the new one not yet
    assert queue.pop_due(corrected, estimate.ns_at(2 * BAR)) == []
    due = queue.pop_due(corrected, corrected.ns_at(2 * BAR))
    assert [e.deadline_ns for e in due] == [corrected.ns_at(2 * BAR)]
    assert corrected.ns_at(2 * BAR) == 12 * SECOND + 3 * MS + round(Fraction(2 * SECOND * 120, 119))


def test_clear_forgets_everything_pending():
    queue = LookaheadQueue()
    queue.push_many([(timed(tick), 0) for tick in range(0, BAR, 20)])
    assert len(queue) == 96
    queue.clear()
    assert len(queue) == 0
    assert queue.pop_due(AT_120, 10 ** 15) == []
    queue.push(timed(0, 9))  # usable again, with a fresh start
    assert notes(queue.pop_due(AT_120, AT_120.ns_at(0))) == [9]
