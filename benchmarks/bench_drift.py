"""Drift of the internal clock over a long run, simulated: the deadlines the engine computes
for every MIDI clock pulse of an hour (with tempo changes on the way, as a set has them),
against the exact times those pulses should sound at, computed independently in rational
arithmetic. Prints the largest difference in ns and in ticks.

    python benchmarks/bench_drift.py                      # one hour, a tempo change a minute
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction

from latentjam.engine.clocks.internal import InternalClock
from latentjam.engine.midi_clock_out import clock_ticks
from latentjam.engine.transport import NS_PER_SECOND, PPQN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--tempi", default="120,126,90,174,133.33",
                        help="BPMs cycled through, one a minute")
    args = parser.parse_args()
    tempi = [float(t) for t in args.tempi.split(",")]

    clock = InternalClock(tempi[0], pre_roll_ms=0)
    clock.start()
    origin = clock.timeline().ns_at(0)
    # Tempo changes at the first pulse of every simulated minute, as the engine makes them.
    changes, tick, exact_ns, minute = [], 0, Fraction(0), 0
    total_ns = args.minutes * 60 * NS_PER_SECOND
    while exact_ns < total_ns:
        bpm = tempi[minute % len(tempi)]
        if minute:
            clock.set_tempo(bpm, tick)
            changes.append(tick)
        ticks_this_minute = round(Fraction(bpm) * PPQN)  # a minute's worth at this tempo
        tick += ticks_this_minute
        exact_ns += Fraction(ticks_this_minute * 60 * NS_PER_SECOND) / (Fraction(bpm) * PPQN)
        minute += 1
    timeline = clock.timeline()

    began = time.perf_counter()
    worst_ns, pulses, segment_start_tick, segment_start_ns, minute = 0, 0, 0, Fraction(0), 0
    bounds = changes + [tick]
    for end_tick in bounds:
        bpm = Fraction(tempi[minute % len(tempi)])
        for pulse_tick in clock_ticks(segment_start_tick, end_tick):
            exact = segment_start_ns + Fraction((pulse_tick - segment_start_tick) * 60
                                                * NS_PER_SECOND) / (bpm * PPQN)
            worst_ns = max(worst_ns, abs(timeline.ns_at(pulse_tick) - origin - exact))
            pulses += 1
        segment_start_ns += Fraction((end_tick - segment_start_tick) * 60 * NS_PER_SECOND) \
            / (bpm * PPQN)
        segment_start_tick = end_tick
        minute += 1
    end_error_ns = float(abs(timeline.ns_at(tick) - origin - exact_ns))
    ns_per_tick = 60e9 / (float(timeline.bpm_at(tick)) * PPQN)
    print(f"{pulses} clock pulses over {float(exact_ns) / 60e9:.1f} min with {len(changes)} "
          f"tempo changes (checked in {time.perf_counter() - began:.1f} s)")
    print(f"largest |deadline - exact time|: {float(worst_ns):.1f} ns; the run's end off by "
          f"{end_error_ns:.1f} ns = {end_error_ns / ns_per_tick:.6f} ticks")


if __name__ == "__main__":
    main()
