"""Following an external MIDI clock: phase error and lock time of the tempo estimate, fed
with timestamped pulses (JACK would quantize real arrival times to its period, so the
estimator is measured on the times a precise MIDI interface would give).

    python benchmarks/bench_clock_follow.py               # 120 BPM, ±2 ms jitter, 60 s
    python benchmarks/bench_clock_follow.py --jitter-ms 0.5 --seconds 600

Phase error: at each pulse, when the estimate says the *next* pulse is due, minus when the
master actually meant it (its time without the jitter): what a note scheduled on that tick
would be off by. Lock time: after a tempo step, the pulses until the phase error stays within
1 ms for a whole beat (24 pulses). Target (DESIGN §7): p99 <= 1 ms; a step locked within a beat.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from latentjam.engine.clocks.tempo_follower import DEFAULT_WINDOW, TempoFollower
from latentjam.engine.transport import CLOCK_PPQN, TICKS_PER_CLOCK

LOCK_NS = 1_000_000


def master_times(segments: list[tuple[float, float]]) -> list[int]:
    """Ideal pulse times (ns) of a master playing ``(bpm, seconds)`` segments in turn."""
    times, now = [], 0.0
    for bpm, seconds in segments:
        period = 60e9 / (bpm * CLOCK_PPQN)
        for _ in range(round(seconds * 1e9 / period)):
            times.append(round(now))
            now += period
    return times


def follow(ideal: list[int], jitter_ns: float, window: int, seed: int) -> list[float]:
    """Phase error (ns) of the prediction of each next pulse."""
    rng = np.random.default_rng(seed)
    follower = TempoFollower(window=window)
    follower.on_message(0xFA, b"", 0)
    errors = []
    for k, true_ns in enumerate(ideal[:-1]):
        arrived = true_ns + int(rng.uniform(-jitter_ns, jitter_ns))
        follower.on_message(0xF8, b"", arrived)
        timeline = follower.timeline()
        errors.append(timeline.ns_at((k + 1) * TICKS_PER_CLOCK) - ideal[k + 1])
    return errors


def lock_pulses(errors: list[float], start: int) -> int | None:
    for k in range(start, len(errors) - CLOCK_PPQN):
        if all(abs(e) <= LOCK_NS for e in errors[k:k + CLOCK_PPQN]):
            return k - start
    return None


def summary(name: str, errors_ns: list[float]) -> str:
    ms = sorted(abs(e) / 1e6 for e in errors_ns)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    return (f"{name:<34} pulses {len(ms):>6}  |phase error| median {statistics.median(ms):.3f}"
            f" ms  p99 {p99:.3f} ms  max {ms[-1]:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--jitter-ms", type=float, default=2.0, help="uniform ± jitter")
    parser.add_argument("--window", type=int, default=DEFAULT_WINDOW)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    jitter = args.jitter_ms * 1e6
    print(f"window {args.window} pulses, jitter ±{args.jitter_ms:g} ms uniform, seed {args.seed}")

    steady = follow(master_times([(args.bpm, args.seconds)]), jitter, args.window, args.seed)
    settled = steady[2 * CLOCK_PPQN:]  # from the third beat on
    print(summary(f"steady {args.bpm:g} BPM, {args.seconds:g} s", settled))

    steps = [(args.bpm, 10.0), (90.0, 10.0), (140.0, 10.0), (args.bpm, 10.0)]
    ideal = master_times(steps)
    errors = follow(ideal, jitter, args.window, args.seed + 1)
    boundaries, count = [], 0
    for bpm, seconds in steps[:-1]:
        count += round(seconds * bpm * CLOCK_PPQN / 60)
        boundaries.append(count)
    print(summary("tempo steps 120>90>140>120 BPM", errors[2 * CLOCK_PPQN:]))
    for boundary, (before, after) in zip(boundaries, zip(steps, steps[1:], strict=False),
                                         strict=True):
        pulses = lock_pulses(errors, boundary)
        shown = "never" if pulses is None else f"{pulses} pulses ({pulses / CLOCK_PPQN:.2f} beats)"
        print(f"  step {before[0]:g} -> {after[0]:g} BPM: locked within 1 ms after {shown}")
        between = errors[boundary + CLOCK_PPQN: boundary + 10 * CLOCK_PPQN]
        print("  " + summary("    from one beat after the step", between))


if __name__ == "__main__":
    main()
