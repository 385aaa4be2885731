"""Clock sources on simulated time: the internal master, the MIDI clock it sends, and the
estimator that follows an external clock from timestamped pulses."""

import asyncio

import numpy as np
import pytest
from latentjam.engine.clocks.base import (
    ClockLost,
    ClockRegained,
    Positioned,
    Pulsed,
    Started,
    Stopped,
    TempoChanged,
)
from latentjam.engine.clocks.factory import ClockConfig
from latentjam.engine.clocks.internal import InternalClock
from latentjam.engine.clocks.tempo_follower import TempoFollower
from latentjam.engine.errors import SettingError
from latentjam.engine.midi_clock_out import clock_ticks, song_position, song_position_tick
from latentjam.engine.transport import TICKS_PER_CLOCK

MS = 1_000_000


def drain(queue):
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


def test_clock_pulses_fall_on_the_24_per_beat_grid():
    assert list(clock_ticks(0, 100)) == [0, 20, 40, 60, 80]
    assert list(clock_ticks(41, 100)) == [60, 80]
    assert len(clock_ticks(0, 480 * 4)) == 96


def test_song_position_counts_16ths_and_clamps():
    assert song_position(480 * 4).pos == 16
    assert song_position(130).pos == 1  # rounded down to its 16th
    assert song_position(10 ** 9).pos == 16383
    assert song_position_tick(16) == 480 * 4


def test_internal_clock_starts_changes_tempo_without_a_jump_and_resumes():
    async def run():
        clock, events = InternalClock(120, pre_roll_ms=0), asyncio.Queue()
        await clock.open(events)
        assert clock.timeline() is None and clock.status() == "stopped"
        clock.start()
        before = clock.timeline()
        clock.set_tempo(60, from_tick=960)
        after = clock.timeline()
        await asyncio.sleep(0.3)
        clock.stop()
        clock.start(resume=True)
        resumed = clock.timeline()
        return before, after, resumed, drain(events)

    before, after, resumed, events = asyncio.run(run())
    assert before.ns_at(960) == after.ns_at(960)  # no jump where the change starts
    assert after.ns_at(960 + 480) - after.ns_at(960) == 1_000_000_000  # a beat at 60 BPM
    assert after.ns_at(480) - after.ns_at(0) == 500_000_000  # before it, 120 BPM
    assert [type(e) for e in events] == [Started, TempoChanged, Stopped, Started]
    stopped_at = events[2].tick
    assert 0 < stopped_at < 480 * 2  # 0.3 s at 120 BPM is 288 ticks (and some)
    assert events[3].resumed and events[3].tick == stopped_at // 120 * 120
    assert resumed.bpm_at(events[3].tick) == 60


def test_tempo_and_clock_settings_are_checked():
    with pytest.raises(SettingError, match="tempo must be 20..300 BPM, got 400"):
        InternalClock(400)
    with pytest.raises(SettingError, match="source must be one of internal, midi, link"):
        ClockConfig(source="tap")
    with pytest.raises(SettingError, match="quantum must be 1..16"):
        ClockConfig(quantum=0)


def feed(follower, times):
    events = []
    for at in times:
        events += follower.on_message(0xF8, b"", int(at))
    return events


def pulse_times(bpm, count, start_ns=0, jitter_ns=0, seed=0):
    period = 60e9 / (bpm * 24)
    rng = np.random.default_rng(seed)
    return [start_ns + k * period + rng.uniform(-jitter_ns, jitter_ns) for k in range(count)]


def test_the_follower_finds_tempo_and_phase_through_jitter():
    follower = TempoFollower()
    assert follower.on_message(0xFA, b"", 0) == []  # Start: the next pulse is tick 0
    times = pulse_times(100, 24 * 16, start_ns=5 * MS, jitter_ns=2 * MS, seed=1)
    events = feed(follower, times)
    assert events[0] == Started(0, resumed=False)
    assert follower.bpm == pytest.approx(100, rel=1e-3)
    timeline = follower.timeline()
    next_pulse = 24 * 16 * 600_000_000 / 24 + 5 * MS  # when the master means it
    assert abs(timeline.ns_at(24 * 16 * TICKS_PER_CLOCK) - next_pulse) < 1 * MS


def test_a_tempo_step_is_followed_within_a_beat():
    follower = TempoFollower()
    follower.on_message(0xFA, b"", 0)
    slow = pulse_times(120, 24 * 8, jitter_ns=1 * MS, seed=2)
    period = 60e9 / (150 * 24)
    fast = [slow[-1] + period * (k + 1) for k in range(24)]
    events = feed(follower, slow + fast)
    assert follower.bpm == pytest.approx(150, rel=0.01)
    assert any(isinstance(e, TempoChanged) and abs(e.bpm - 150) < 3 for e in events)


def test_stop_continue_and_song_position():
    follower = TempoFollower()
    follower.on_message(0xFA, b"", 0)
    feed(follower, pulse_times(120, 48))
    assert follower.on_message(0xFC, b"", 1_000 * MS) == [Stopped(47 * TICKS_PER_CLOCK)]
    assert follower.timeline() is None
    # Song Position 8 (two beats: 8 sixteenths), then Continue: the next pulse plays tick 960.
    assert follower.on_message(0xF2, bytes([8, 0]), 1_100 * MS) == [Positioned(960)]
    follower.on_message(0xFB, b"", 1_200 * MS)
    events = feed(follower, [1_210 * MS])
    assert Started(960, resumed=True) in events
    assert follower.timeline().ns_at(960) == pytest.approx(1_210 * MS, abs=1)


def test_a_silent_clock_free_runs_and_is_picked_up_again():
    follower = TempoFollower()
    follower.on_message(0xFA, b"", 0)
    times = pulse_times(120, 48)
    feed(follower, times)
    assert follower.check(int(times[-1]) + 50 * MS) == []
    assert follower.check(int(times[-1]) + 150 * MS) == [ClockLost(pytest.approx(120))]
    assert follower.timeline() is not None  # free-running
    late = times[-1] + 20 * (60e9 / (120 * 24))  # 416 ms later: held up, not lost
    events = feed(follower, [late])
    assert events[0] == ClockRegained()
    # the master's next pulse, however late (a device downstream counts them)
    assert follower.timeline().ns_at(48 * TICKS_PER_CLOCK) == pytest.approx(late, abs=MS)


def test_after_a_long_silence_the_master_is_taken_to_have_kept_time():
    follower = TempoFollower()
    follower.on_message(0xFA, b"", 0)
    times = pulse_times(120, 48)
    feed(follower, times)
    follower.check(int(times[-1]) + 150 * MS)
    late = times[-1] + 60 * (60e9 / (120 * 24))  # 1.25 s: a cable pulled while it ran
    feed(follower, [late])
    assert follower.timeline().ns_at((47 + 60) * TICKS_PER_CLOCK) == pytest.approx(late, abs=MS)


def test_pulses_held_up_and_delivered_in_a_burst_gain_nothing():
    """A loaded machine holds 150 ms of pulses, then delivers them at once: the follower
    counts every one as the master's next (one Pulsed each), keeps the tempo, and is back in
    phase with the master once the pulses flow again."""
    follower = TempoFollower()
    follower.on_message(0xFA, b"", 0)
    period = 60e9 / (120 * 24)
    times = pulse_times(120, 24 * 8)
    burst_at = times[-1] + 8 * period  # pulses 192..198 held up until pulse 199 is due
    held = [burst_at + k * 0.1 * MS for k in range(8)]
    after = [times[-1] + (9 + k) * period for k in range(48)]
    feed(follower, times)
    follower.check(int(times[-1] + 7 * period))  # a silence noticed
    events = feed(follower, held + after)
    pulses = [e.tick for e in [*events] if isinstance(e, Pulsed)]
    assert pulses == [(192 + k) * TICKS_PER_CLOCK for k in range(8 + 48)]
    assert follower.bpm == pytest.approx(120, rel=1e-3)
    last = 192 + 8 + 48 - 1
    assert follower.timeline().ns_at(last * TICKS_PER_CLOCK) == pytest.approx(after[-1], abs=MS)


def test_every_pulse_while_playing_is_reported_once():
    follower = TempoFollower()
    events = feed(follower, pulse_times(120, 5))  # before Start: nothing to forward
    follower.on_message(0xFA, b"", 0)
    events = feed(follower, pulse_times(120, 30, start_ns=100 * MS))
    assert [e.tick for e in events if isinstance(e, Pulsed)] == [
        k * TICKS_PER_CLOCK for k in range(30)]
    follower.on_message(0xFC, b"", 2_000 * MS)
    assert not [e for e in feed(follower, [2_100 * MS]) if isinstance(e, Pulsed)]
