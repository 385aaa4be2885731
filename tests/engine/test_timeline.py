"""``engine.timeline.Timeline``: the bridge from integer ticks to deadlines on the output
thread's clock and back.

Its origin (tick 0 sounds at ``origin_ns``), the round trip ``tick_at_ns(ns_at(t)) == t`` with
the nanosecond either side, ticks before the origin, ``steady`` (one tempo through a given
point, as a follower makes it), tempo changes seen through a timeline (at a bar line, inside a
bar: no jump, the bars after it stretched exactly), and that it is an immutable value. The
tempo map's own arithmetic is tested in tests/engine/test_transport.py.
"""

import dataclasses
from fractions import Fraction

import pytest
from latentjam.engine.timeline import Timeline
from latentjam.engine.transport import NS_PER_SECOND, PPQN, TempoMap, bars_to_ticks

BAR = bars_to_ticks(1)  # 1920
SECOND = NS_PER_SECOND


def test_tick_zero_sounds_at_the_origin_and_a_beat_follows_the_tempo():
    timeline = Timeline(TempoMap(120), origin_ns=5 * SECOND)
    assert timeline.ns_at(0) == 5 * SECOND
    assert timeline.ns_at(PPQN) == 5 * SECOND + SECOND // 2  # a beat at 120 BPM
    assert timeline.ns_at(BAR) == 7 * SECOND
    assert timeline.ns_at(1) == 5 * SECOND + 1_041_667  # 1/960 s, to the nearest ns
    assert Timeline(TempoMap(120)).origin_ns == 0


def test_deadlines_and_ticks_are_integers():
    timeline = Timeline(TempoMap(Fraction(1237, 10)), origin_ns=123_456_789)
    for tick in (0, 1, 7, 479, 480, 100_001):
        assert type(timeline.ns_at(tick)) is int
        assert type(timeline.tick_at_ns(timeline.ns_at(tick) + 3)) is int


@pytest.mark.parametrize("bpm", [120, 97.5, Fraction(1237, 10), 300, 20])
def test_tick_at_ns_inverts_ns_at_to_the_nanosecond(bpm):
    timeline = Timeline(TempoMap(bpm), origin_ns=987_654_321)
    for tick in (0, 1, 2, 19, 20, 479, 480, BAR - 1, BAR, 10 * BAR + 7):
        ns = timeline.ns_at(tick)
        assert timeline.tick_at_ns(ns) == tick
        assert timeline.tick_at_ns(ns - 1) == tick - 1  # a nanosecond early: the tick before
        assert timeline.tick_at_ns(timeline.ns_at(tick + 1) - 1) == tick  # the last ns of it


def test_before_the_origin_ticks_are_negative():
    timeline = Timeline(TempoMap(120), origin_ns=SECOND)
    assert timeline.tick_at_ns(SECOND - 1) == -1
    assert timeline.tick_at_ns(0) == -PPQN * 2  # a second before tick 0 at 120 BPM
    assert timeline.ns_at(-PPQN) == SECOND // 2


def test_steady_puts_the_given_tick_at_the_given_time():
    at_ns = 42 * SECOND + 17
    timeline = Timeline.steady(90, tick=3 * BAR + 5, at_ns=at_ns)
    assert timeline.origin_ns == 0
    assert timeline.ns_at(3 * BAR + 5) == at_ns
    assert timeline.tick_at_ns(at_ns) == 3 * BAR + 5
    assert timeline.tick_at_ns(at_ns - 1) == 3 * BAR + 4
    assert timeline.ns_at(3 * BAR + 5 + PPQN) - at_ns == round(Fraction(60, 90) * SECOND)
    # the same tempo holds before the anchor
    assert at_ns - timeline.ns_at(3 * BAR + 5 - PPQN) == round(Fraction(60, 90) * SECOND)
    assert timeline.bpm_at(0) == timeline.bpm_at(10 ** 6) == 90


def test_bpm_at_is_exact():
    timeline = Timeline(TempoMap(97.5).with_tempo(BAR, Fraction(400, 3)))
    assert timeline.bpm_at(BAR - 1) == Fraction(195, 2)
    assert timeline.bpm_at(BAR) == Fraction(400, 3)
    assert isinstance(timeline.bpm_at(0), Fraction)


def test_a_tempo_change_at_a_bar_line_keeps_the_bar_line_and_stretches_what_follows():
    before = Timeline(TempoMap(120), origin_ns=3 * SECOND)
    after = Timeline(before.tempo_map.with_tempo(2 * BAR, 60), before.origin_ns)
    for tick in (0, BAR, 2 * BAR - 1, 2 * BAR):
        assert after.ns_at(tick) == before.ns_at(tick)  # the past and the bar line stay
    assert after.ns_at(3 * BAR) - after.ns_at(2 * BAR) == 4 * SECOND  # a 4/4 bar at 60
    assert after.ns_at(2 * BAR) - after.ns_at(BAR) == 2 * SECOND  # the bar before, at 120
    assert after.tick_at_ns(after.ns_at(2 * BAR) - 1) == 2 * BAR - 1
    assert after.tick_at_ns(after.ns_at(2 * BAR)) == 2 * BAR
    assert after.tick_at_ns(after.ns_at(2 * BAR) + SECOND) == 2 * BAR + PPQN
    assert after.bpm_at(2 * BAR - 1) == 120 and after.bpm_at(2 * BAR) == 60


def test_a_tempo_change_inside_a_bar_moves_the_next_bar_line_by_the_rest_of_the_bar():
    change = BAR + 3 * PPQN + 7  # an odd tick inside the second bar
    before = Timeline(TempoMap(120))
    after = Timeline(before.tempo_map.with_tempo(change, 180))
    assert after.ns_at(change) == before.ns_at(change)  # no jump
    rest = 2 * BAR - change
    expected = Fraction(before.tempo_map.exact_ns_at(change)) + \
        Fraction(rest * 60 * SECOND, 180 * PPQN)
    assert abs(after.ns_at(2 * BAR) - expected) <= 1
    # every tick in the new tempo is still found again from its deadline
    for tick in range(change - 3, change + 500, 11):
        assert after.tick_at_ns(after.ns_at(tick)) == tick


def test_a_timeline_is_an_immutable_value():
    timeline = Timeline(TempoMap(120), 10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        timeline.origin_ns = 0
    moved = dataclasses.replace(timeline, origin_ns=10 + SECOND)
    assert moved.ns_at(PPQN) - timeline.ns_at(PPQN) == SECOND
    assert timeline.ns_at(0) == 10
