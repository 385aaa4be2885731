"""Musical time: exact tick arithmetic and the tempo map (no drift, no jumps)."""

from fractions import Fraction

import pytest
from latentjam.engine import transport as tr
from latentjam.engine.transport import PPQN, TempoMap


def test_ppqn_holds_clock_steps_and_triplets_exactly():
    assert tr.TICKS_PER_CLOCK * tr.CLOCK_PPQN == PPQN
    for steps_per_beat in (1, 2, 3, 4, 6, 8, 12, 24):
        assert tr.ticks_per_step(steps_per_beat) * steps_per_beat == PPQN
    assert tr.beats_to_ticks(Fraction(1, 3)) * 3 == PPQN  # 8th-note triplet
    with pytest.raises(ValueError, match="steps_per_beat"):
        tr.ticks_per_step(7)
    with pytest.raises(ValueError, match="whole number of ticks"):
        tr.beats_to_ticks(Fraction(1, 7))


def test_conversions_between_ticks_steps_beats_and_bars():
    assert tr.steps_to_ticks(16) == tr.bars_to_ticks(1)
    assert tr.ticks_to_steps(tr.steps_to_ticks(37)) == 37
    assert tr.ticks_to_steps(tr.TICKS_PER_CLOCK) == Fraction(1, 6)
    assert tr.ticks_to_beats(tr.beats_to_ticks(5)) == 5
    assert tr.ticks_to_bars(tr.bars_to_ticks(3, beats_per_bar=7), beats_per_bar=7) == 3
    assert tr.bar_and_beat(tr.bars_to_ticks(2) + tr.beats_to_ticks(3) + 1) == (2, 3)
    assert tr.bar_and_beat(tr.bars_to_ticks(1, beats_per_bar=3), beats_per_bar=3) == (1, 0)


def test_next_boundary_quantizes_up():
    bar = tr.bars_to_ticks(1)
    assert tr.next_boundary(0, bar) == 0
    assert tr.next_boundary(1, bar) == bar
    assert tr.next_boundary(bar, bar) == bar
    assert tr.next_boundary(bar + 1, bar) == 2 * bar
    with pytest.raises(ValueError, match="quantum"):
        tr.next_boundary(5, 0)


def test_an_hour_of_midi_clock_at_120_bpm_ends_at_exactly_3600_seconds():
    tempo = TempoMap(120)
    clocks = 3600 * 2 * tr.CLOCK_PPQN  # 2 beats per second
    last_tick = clocks * tr.TICKS_PER_CLOCK
    assert tempo.seconds_at(last_tick) == 3600.0
    assert tempo.ns_at(last_tick) == 3600 * tr.NS_PER_SECOND
    # Every tick's deadline is within half a nanosecond of the exact one: nothing accumulates.
    clock_ns = Fraction(tr.NS_PER_SECOND, 2 * tr.CLOCK_PPQN)
    worst = max(
        abs(tempo.ns_at(k * tr.TICKS_PER_CLOCK) - k * clock_ns) for k in range(0, clocks + 1, 997)
    )
    assert worst <= Fraction(1, 2)


def test_awkward_tempo_lands_exactly_on_the_hour():
    tempo = TempoMap(133)
    assert tempo.seconds_at(tr.beats_to_ticks(133 * 60)) == 3600.0


def test_tempo_change_is_continuous_and_leaves_the_past_alone():
    before = TempoMap(120)
    change_at = tr.bars_to_ticks(4) + 7
    after = before.with_tempo(change_at, 90)
    for tick in (0, 1, change_at - 1, change_at):
        assert after.ns_at(tick) == before.ns_at(tick)
    beat_at_90 = Fraction(60 * tr.NS_PER_SECOND, 90)
    assert after.exact_ns_at(change_at + PPQN) - after.exact_ns_at(change_at) == beat_at_90
    assert after.bpm_at(change_at - 1) == 120 and after.bpm_at(change_at) == 90


def test_several_tempo_changes_add_up_exactly():
    bar = tr.bars_to_ticks(1)
    tempo = TempoMap(120).with_tempo(4 * bar, 140).with_tempo(8 * bar, 100)
    expected = 4 * Fraction(240, 120) + 4 * Fraction(240, 140) + 4 * Fraction(240, 100)
    assert abs(tempo.exact_ns_at(12 * bar) - expected * tr.NS_PER_SECOND) <= 1


def test_a_change_replaces_later_ones():
    bar = tr.bars_to_ticks(1)
    tempo = TempoMap(120).with_tempo(8 * bar, 60).with_tempo(4 * bar, 100)
    assert [s.start_tick for s in tempo.segments] == [0, 4 * bar]
    assert tempo.bpm_at(9 * bar) == 100
    assert TempoMap(120).with_tempo(0, 75).segments == TempoMap(75).segments


def test_tick_at_inverts_ns_at_across_tempo_changes():
    tempo = TempoMap(Fraction(1237, 10)).with_tempo(1000, 87.5).with_tempo(5000, 171)
    for tick in list(range(0, 7000, 13)) + [999, 1000, 1001, 4999, 5000, 5001]:
        ns = tempo.ns_at(tick)
        assert tempo.tick_at_ns(ns) == tick
        assert tempo.tick_at_ns(ns - 1) == tick - 1
    assert tempo.tick_at(tempo.seconds_at(4321)) == 4321
    assert TempoMap(120).tick_at(0.5) == PPQN


def test_since_forgets_old_segments_but_keeps_the_present():
    tempo = TempoMap(120).with_tempo(1000, 90).with_tempo(2000, 150)
    trimmed = tempo.since(1500)
    assert len(trimmed.segments) == 2
    for tick in (1500, 2000, 9000):
        assert trimmed.ns_at(tick) == tempo.ns_at(tick)


@pytest.mark.parametrize("bpm", [0, -120, float("nan"), float("inf")])
def test_bad_tempo_is_refused(bpm):
    with pytest.raises(ValueError, match="tempo"):
        TempoMap(bpm)


def test_tempo_must_be_a_number():
    with pytest.raises(TypeError, match="tempo"):
        TempoMap("120")
    with pytest.raises(TypeError, match="tempo"):
        TempoMap(120).with_tempo(10, True)
