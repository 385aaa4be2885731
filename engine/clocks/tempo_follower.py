"""Tempo and phase of an external MIDI clock, estimated from the arrival times of its pulses.

Pure (no I/O): the follower process feeds it timestamped messages; it answers with the
transport events they mean and a ``Timeline`` for the scheduler.

The estimate is a least-squares line through the last ``window`` pulses (time against pulse
number): its slope is the pulse period, and the line's value at a pulse number is when that
pulse is due, with the jitter of single pulses averaged away (±2 ms of uniform jitter gives
about 0.2 ms of median phase error with a bar of pulses). A raw average of
the last few intervals would pass most of the jitter on. A tempo change shows as pulses
arriving consistently early or late against the line: after ``STEP_PULSES`` pulses beyond
``STEP_THRESHOLD_NS`` on the same side, the window restarts from those pulses, so a new
tempo is locked within a few pulses rather than after a whole window. The threshold grows
with the jitter measured on the input, so a MIDI system that delivers in bursts does not
look like a tempo change at every burst.

MIDI's rules: after Start (0xFA) or Continue (0xFB) the next clock pulse is the first beat
played (from 0, or from the Song Position Pointer's 16th note for Continue); Stop (0xFC)
stops; a Song Position Pointer is only acted on while stopped. Every pulse while playing is
reported (``Pulsed``) for the engine to forward. When pulses stop arriving while playing, the
clock free-runs at the last tempo (``ClockLost``) and picks the phase up again from the next
pulse (``ClockRegained``). A pulse is the master's next one, however late: pulses held up by a
loaded machine or a MIDI system's buffer and then delivered in a burst are the master's count,
not a jump ahead. Only after a silence of ``RENUMBER_MIN_NS`` and two beats (a cable pulled
while the master ran) is the pulse numbered by when it came.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction

from latentjam.engine.clocks.base import (
    ClockLost,
    ClockRegained,
    Positioned,
    Pulsed,
    Started,
    Stopped,
    TempoChanged,
    TransportEvent,
)
from latentjam.engine.midi_clock_out import song_position_tick
from latentjam.engine.timeline import Timeline
from latentjam.engine.transport import CLOCK_PPQN, NS_PER_SECOND, TICKS_PER_CLOCK, TempoMap


def _period_ns_at(bpm: float) -> float:
    return 60 * NS_PER_SECOND / (bpm * CLOCK_PPQN)


DEFAULT_WINDOW = 96  # a bar of pulses
STEP_THRESHOLD_NS = 3_000_000  # beyond ±2 ms of jitter plus margin: the tempo has moved ...
STEP_SIGMAS = 3.0  # ... or beyond this many times the jitter measured on the input
STEP_PULSES = 3
LOST_AFTER_PULSES = 4  # this many periods without a pulse (and at least LOST_MIN_NS)...
LOST_MIN_NS = 100_000_000  # ... means the clock has stopped ticking
MIN_PERIOD_NS, MAX_PERIOD_NS = _period_ns_at(400.0), _period_ns_at(10.0)
TEMPO_REPORT_BPM = 0.5  # a tempo change smaller than this is not reported as an event
HOLD_PERIOD_PULSES = 12  # after a silence, the period is kept until the window has this many
RENUMBER_MIN_NS = 1_000_000_000  # a silence this long (and two beats) lost pulses: the next
RENUMBER_MIN_PULSES = 48  # one is numbered by the line, as the master kept time




class TempoFollower:
    def __init__(self, initial_bpm: float = 120.0, window: int = DEFAULT_WINDOW) -> None:
        self._window = window
        self._pulses: deque[tuple[int, int]] = deque(maxlen=window)  # (pulse number, ns)
        self._period = _period_ns_at(initial_bpm)  # ns per pulse
        self._intercept = 0.0  # ns of pulse 0 on the fitted line
        self._last_pulse: int | None = None  # number of the last pulse received
        self._last_ns = 0
        self._outliers: list[int] = []  # signs of consecutive residuals beyond the threshold
        self._residuals: deque[float] = deque(maxlen=window)  # |pulse - line| recently
        self.playing = False
        self._armed: tuple[int, bool] | None = None  # Start/Continue seen: (tick, resumed)
        self._origin: tuple[int, int] | None = None  # (pulse number, tick) while playing
        self._position = 0  # where Continue resumes (tick)
        self._reported_bpm = initial_bpm
        self._hold_period = False  # after a silence: keep the period until pulses spread out
        self.lost = False

    @property
    def last_pulse_ns(self) -> int | None:
        """When the last pulse arrived (``perf_counter_ns``), None before the first."""
        return None if self._last_pulse is None else self._last_ns

    @property
    def bpm(self) -> float:
        return 60 * NS_PER_SECOND / (self._period * CLOCK_PPQN)

    def on_message(self, status: int, data: bytes, at_ns: int) -> list[TransportEvent]:
        """One received message (status byte, data bytes) that arrived at ``at_ns``."""
        if status == 0xF8:
            return self._pulse(at_ns)
        if status in (0xFA, 0xFB):  # Start, Continue: the next pulse plays
            self._armed = (0, False) if status == 0xFA else (self._position, True)
            return []
        if status == 0xFC:
            self._armed = None
            if not self.playing:
                return []
            self.playing = False
            self._position = self._tick_of(self._last_pulse) if self._last_pulse is not None \
                else self._position
            self._origin = None
            return [Stopped(self._position)]
        if status == 0xF2 and len(data) >= 2 and not self.playing:
            self._position = song_position_tick(data[0] | (data[1] << 7))
            return [Positioned(self._position)]
        return []

    def check(self, now_ns: int) -> list[TransportEvent]:
        """Call regularly: reports a clock that stopped ticking while playing."""
        if self.lost or not self.playing or self._last_pulse is None:
            return []
        if self._silent_for(now_ns):
            self.lost = True
            return [ClockLost(self.bpm)]
        return []

    def timeline(self) -> Timeline | None:
        if not self.playing or self._last_pulse is None:
            return None
        pulse = self._last_pulse
        at_ns = round(self._intercept + self._period * pulse)
        bpm = Fraction(60 * NS_PER_SECOND) / (Fraction(self._period) * CLOCK_PPQN)
        return Timeline(TempoMap(bpm, start_tick=self._tick_of(pulse), start_ns=at_ns))

    # -- pulses -----------------------------------------------------------------------------

    def _tick_of(self, pulse: int) -> int:
        origin_pulse, origin_tick = self._origin
        return origin_tick + (pulse - origin_pulse) * TICKS_PER_CLOCK

    def _silent_for(self, at_ns: int) -> bool:
        return at_ns - self._last_ns > max(LOST_AFTER_PULSES * self._period, LOST_MIN_NS)

    def _number(self, at_ns: int) -> int:
        """The number of a pulse arriving at ``at_ns``: the next one; after a gap while
        playing, the one the line puts nearest (the master kept time). After a pause while
        stopped, the line starts again from this pulse at the tempo it had."""
        if self._last_pulse is None:
            return 0
        silence = at_ns - self._last_ns
        if self.lost and silence >= max(RENUMBER_MIN_NS, RENUMBER_MIN_PULSES * self._period):
            return max(round((at_ns - self._intercept) / self._period), self._last_pulse + 1)
        if self.lost or self._silent_for(at_ns):  # held up: the line starts from this pulse
            self._restart_line()
        return self._last_pulse + 1

    def _restart_line(self) -> None:
        """Fit the line anew from the next pulse, at the tempo it had: pulses that come in a
        burst after a silence say nothing of the tempo until they spread out again."""
        self._pulses.clear()
        self._outliers = []
        self._hold_period = True

    def _pulse(self, at_ns: int) -> list[TransportEvent]:
        events: list[TransportEvent] = []
        number = self._number(at_ns)
        if self.lost:
            self.lost = False
            events.append(ClockRegained())
        self._add(number, at_ns)
        self._last_pulse, self._last_ns = number, at_ns
        if self._armed is not None:
            tick, resumed = self._armed
            self._origin = (number, tick)
            events.append(Started(tick, resumed=resumed))
            self._armed = None
            self.playing = True
        if self.playing:
            events.append(Pulsed(self._tick_of(number), at_ns))
        if abs(self.bpm - self._reported_bpm) >= TEMPO_REPORT_BPM:
            self._reported_bpm = self.bpm
            events.append(TempoChanged(self.bpm))
        return events

    def _add(self, number: int, at_ns: int) -> None:
        if len(self._pulses) >= 2:
            residual = at_ns - (self._intercept + self._period * number)
            threshold = self._step_threshold()
            self._residuals.append(abs(residual))
            if abs(residual) > threshold:
                sign = 1 if residual > 0 else -1
                self._outliers = [s for s in self._outliers if s == sign] + [sign]
                if len(self._outliers) >= STEP_PULSES:
                    # The tempo moved: keep only the pulses since it did.
                    recent = list(self._pulses)[-(STEP_PULSES - 1):]
                    self._pulses.clear()
                    self._pulses.extend(recent)
                    self._outliers = []
            else:
                self._outliers = []
        self._pulses.append((number, at_ns))
        self._fit()

    def _step_threshold(self) -> float:
        """How far off a pulse must be to suggest a new tempo: a MIDI system that delivers in
        bursts (JACK, once per period) shows jitter of several ms, a serial port far less."""
        if len(self._residuals) < 8:
            return STEP_THRESHOLD_NS
        ordered = sorted(self._residuals)
        sigma = 1.4826 * ordered[len(ordered) // 2]  # from the median absolute residual
        return max(STEP_THRESHOLD_NS, STEP_SIGMAS * sigma)

    def _fit(self) -> None:
        n = len(self._pulses)
        if n == 1 or self._hold_period and n < HOLD_PERIOD_PULSES:
            # Keep the period; the line goes through the pulse that came earliest against it
            # (pulses are held up, never early, so the earliest is the truest)
            self._intercept = min(at_ns - self._period * number for number, at_ns in self._pulses)
            return
        self._hold_period = False
        base_number, base_ns = self._pulses[0]
        xs = [number - base_number for number, _ in self._pulses]
        ys = [at_ns - base_ns for _, at_ns in self._pulses]
        mean_x, mean_y = sum(xs) / n, sum(ys) / n
        sxx = sum((x - mean_x) ** 2 for x in xs)
        sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
        if sxx > 0:
            # Pulses delivered in bursts (a MIDI system's buffer period) can make a short
            # window's slope absurd: keep it within the tempi a clock can have.
            self._period = min(max(sxy / sxx, MIN_PERIOD_NS), MAX_PERIOD_NS)
        self._intercept = base_ns + mean_y - self._period * (mean_x + base_number)
