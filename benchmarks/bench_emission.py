"""Emission error of the output thread: send time minus deadline, for a stream of MIDI clock
ticks and notes sent to a real JACK port (a private dummy server) and heard by a receiver in a
process of its own, as a DAW would hear it. Prints median / p99 / max, idle and with one core
kept busy by a spinning process. Targets (DESIGN §7): p99 <= 0.2 ms idle, <= 1 ms loaded.

    python benchmarks/bench_emission.py                 # 60 s per scenario
    python benchmarks/bench_emission.py --seconds 10    # a quick look

The main thread plays the performer's part: every 50 ms it converts the next ticks to
deadlines through the tempo map and submits them, a quarter of a second ahead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import mido
from latentjam.engine import ports
from latentjam.engine.events import DEFAULT_PORT, TimedMessage
from latentjam.engine.output_thread import REALTIME_PRIORITY, OutputThread
from latentjam.engine.transport import PPQN, TICKS_PER_CLOCK, TempoMap, ticks_per_step

# The private JACK server and the receiver process are the tests' own helpers.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from jack_server import MidiReceiver, running_jack_server  # noqa: E402

LOOKAHEAD_NS = 250_000_000  # how far ahead the "performer" submits
FEED_EVERY_S = 0.05
START_DELAY_NS = 200_000_000


def events_between(first_tick: int, end_tick: int) -> list[TimedMessage]:
    """A 120 BPM-style stream: a clock pulse every 20 ticks, a 16th-note melody on channel 1
    (each note off half a step later) and a kick on every beat on channel 10."""
    step = ticks_per_step()
    events = []
    for tick in range(first_tick, end_tick):
        if tick % TICKS_PER_CLOCK == 0:
            events.append(TimedMessage(tick, mido.Message("clock")))
        if tick % step == 0:
            note = 60 + (tick // step) % 12
            events.append(TimedMessage(tick, mido.Message("note_on", note=note, velocity=90)))
            off = mido.Message("note_off", note=note)
            events.append(TimedMessage(tick + step // 2, off))
        if tick % PPQN == 0:
            kick = mido.Message("note_on", channel=9, note=36, velocity=110)
            events.append(TimedMessage(tick, kick))
            events.append(TimedMessage(tick + step // 2, kick.copy(velocity=0)))
    return events


def run_scenario(out, bpm: float, seconds: float, priority: int | None, spin_us: int) -> dict:
    tempo = TempoMap(bpm)
    capacity = int(seconds * (bpm / 60) * 40) + 4096
    thread = OutputThread(
        {DEFAULT_PORT: out},
        realtime_priority=priority,
        spin_ns=spin_us * 1000,
        error_capacity=capacity,
    )
    thread.start()
    origin = thread.now_ns() + START_DELAY_NS
    end_tick = tempo.tick_at(seconds)
    next_tick = 0
    while next_tick < end_tick:
        horizon = min(tempo.tick_at_ns(thread.now_ns() - origin + LOOKAHEAD_NS) + 1, end_tick)
        if horizon > next_tick:
            batch = events_between(next_tick, horizon)
            thread.submit_many(event.scheduled(tempo, origin) for event in batch)
            next_tick = horizon
        time.sleep(FEED_EVERY_S)
    time.sleep(max(tempo.seconds_at(end_tick) - (thread.now_ns() - origin) / 1e9, 0) + 0.1)
    errors = thread.emission_errors_ns()
    sent = thread.sent_count
    thread.stop()
    return {"errors": errors, "sent": sent, "realtime": thread.realtime}


def _is_all_notes_off(data: list[int]) -> bool:
    return len(data) == 3 and data[0] & 0xF0 == 0xB0 and data[1] == 123  # sent by stop()


def summary(name: str, result: dict, received: int) -> str:
    errors_us = sorted(e / 1000 for e in result["errors"])
    p99 = errors_us[min(len(errors_us) - 1, int(0.99 * len(errors_us)))]
    late = sum(e > 1000 for e in errors_us)
    return (
        f"{name:<6} {len(errors_us):>7} {statistics.median(errors_us):>10.1f} {p99:>9.1f} "
        f"{errors_us[-1]:>9.1f} {late:>6}   {received}/{result['sent']}"
        f"{'' if result['realtime'] else '   (no SCHED_FIFO)'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per scenario (default 60)")
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--period", type=int, default=256, help="JACK period in frames")
    parser.add_argument("--spin-us", type=int, default=1000, help="spin before each deadline")
    parser.add_argument(
        "--priority", type=int, default=REALTIME_PRIORITY, help="SCHED_FIFO priority; 0: none"
    )
    parser.add_argument("--scenarios", nargs="+", default=["idle", "busy"])
    args = parser.parse_args()
    priority = args.priority or None

    with running_jack_server(f"latentjam-bench-{os.getpid()}", period=args.period):
        out = ports.open_output("latentjam-bench", backend="jack")
        print(
            f"{args.seconds:g} s per scenario at {args.bpm:g} BPM; JACK dummy 48 kHz, period "
            f"{args.period}; spin {args.spin_us} us; SCHED_FIFO priority {priority}; "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before"
        )
        print("scenario events  median us    p99 us    max us  >1 ms   received/sent")
        for scenario in args.scenarios:
            busy = None
            if scenario == "busy":
                busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                with MidiReceiver("latentjam-bench") as receiver:
                    result = run_scenario(out, args.bpm, args.seconds, priority, args.spin_us)
                    received = sum(not _is_all_notes_off(data) for _, data in receiver.stop())
            finally:
                if busy:
                    busy.kill()
                    busy.wait()
            print(summary(scenario, result, received), flush=True)
        out.close()


if __name__ == "__main__":
    main()
