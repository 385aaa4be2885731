"""What a MIDI controller costs the asyncio loop: one CC from a knob (decoded, soft takeover,
scaled, made into a command through the OSC address table) and one feedback tick (every
mapping's value read from the state and compared), on a state of the default set's two
tracks. The state read itself (``Performer.state``) is left out: it is the same for OSC.

    python benchmarks/bench_cc_map.py               # 20,000 knob moves, 20,000 ticks
    python benchmarks/bench_cc_map.py --mappings 32 --count 50000

Prints the median and p99 in microseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time

from latentjam.controllers.cc_config import CcMapping
from latentjam.controllers.cc_map import CcMap
from latentjam.controllers.controls import addresses, control
from latentjam.engine.engine_state import EngineState, TrackState
from latentjam.engine.humanize import HumanizeParams

TRACKS = ("melody", "drums")


def a_state(temperature: float) -> EngineState:
    tracks = tuple(TrackState(name, "sample", temperature, 0.25, 2, 2, False, False,
                              HumanizeParams(), "main", 0, 0, 0, ()) for name in TRACKS)
    return EngineState(True, "internal", "playing", 120.0, 0, 0, 0, tracks)


def percentiles(samples_ns: list[int]) -> str:
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered) / 1000:.1f} us, p99 {p99 / 1000:.1f} us"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--mappings", type=int, default=16, help="mapped controls (CC 0..)")
    args = parser.parse_args()
    # continuous controls first (every track's), so the knob under test is a temperature
    wanted = [a for a in addresses(TRACKS) if control(a, TRACKS).kind == "continuous"]
    mappings = [CcMapping(address, cc=number)
                for number, address in enumerate(wanted[:args.mappings])]
    knob = next(m for m in mappings if m.address.endswith("melody/temperature"))
    cc_map = CcMap(mappings, TRACKS)
    state = a_state(0.5)
    moves = []
    for k in range(args.count):
        value = 32 + (k % 64)  # up and over the value: picked up at once, then moving
        start = time.perf_counter_ns()
        cc_map.message(0xB0, bytes([knob.cc, value]), state)
        moves.append(time.perf_counter_ns() - start)
    ticks = []
    for k in range(args.count):
        changed = a_state(0.5 + (k % 2) * 0.25)  # a change from elsewhere every other tick
        start = time.perf_counter_ns()
        cc_map.observe(changed)
        ticks.append(time.perf_counter_ns() - start)
    print(f"knob move ({args.mappings} mappings): {percentiles(moves)}")
    print(f"feedback tick ({args.mappings} mappings): {percentiles(ticks)}")


if __name__ == "__main__":
    main()
