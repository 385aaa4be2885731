"""The whole engine playing a live set to a real JACK port: emission error of clock pulses and
notes (send time minus deadline), start to first note, memory of all the engine's processes,
and how the model keeps up. Idle, and with one core kept busy by a spinning process.

    python benchmarks/bench_play.py                   # 60 s per scenario, melody track
    python benchmarks/bench_play.py --seconds 10 --scenarios idle

The set: the default tracks (or --config), sample mode with a new loop every loop, so the
model worker decodes all through the run. Targets (DESIGN §7): emission p99 <= 0.2 ms idle,
<= 1 ms loaded; start to first note <= 1.5 s; RSS of all processes <= 250 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from latentjam.app.set_file import live_set_from_dict, load_live_set
from latentjam.engine.performer import Performer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from jack_server import MidiReceiver, running_jack_server  # noqa: E402

PORT = "latentjam-bench-play"


def engine_rss_mb(pid: int) -> float:
    """Resident memory (MB) of ``pid`` and the engine's processes under it (those started by
    multiprocessing: model workers, the clock input), from /proc. The JACK server, the
    listener and the busy process are this script's, not the engine's, and are left out."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines()
                              if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                for child in (task / "children").read_text().split():
                    command = Path(f"/proc/{child}/cmdline").read_bytes()
                    if b"multiprocessing" in command:
                        todo.append(int(child))
        except (OSError, StopIteration):
            continue
    return total / 1024


def process_age_s() -> float:
    """Seconds since this process started (kernel's start time; CLOCK_BOOTTIME)."""
    start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


FLOOD = """
import socket, sys, time
from latentjam.controllers.osc_server import encode
port, count = int(sys.argv[1]), int(sys.argv[2])
messages = [encode("/latentjam/track/melody/temperature", (0.3 + (i % 7) / 10,)) if i % 2
            else encode("/latentjam/no/such/address", (i,)) for i in range(count)]
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    began = time.perf_counter()
    for message in messages:
        sock.sendto(message, ("127.0.0.1", port))
    print(f"{count} messages in {time.perf_counter() - began:.2f} s", file=sys.stderr)
"""


async def flood(performer, count: int) -> tuple[int, int]:
    """Send ``count`` OSC messages back to back from another process (half of them valid
    temperature changes, each dropping and re-asking the track's next loop; half unknown
    addresses) at a server in front of ``performer``; returns (handled, rejected)."""
    from latentjam.controllers.osc_config import OscConfig
    from latentjam.controllers.osc_server import OscServer

    server = OscServer(OscConfig(port=0), performer.command, performer.state)
    _, port = await server.start()
    sender = await asyncio.create_subprocess_exec(sys.executable, "-c", FLOOD, str(port),
                                                  str(count))
    await sender.wait()
    await asyncio.sleep(0.5)
    await server.close()
    return server.handled, server.rejected


async def run_set(config, seconds: float, flood_count: int = 0) -> dict:
    began = time.perf_counter_ns()
    process_began = began - round(process_age_s() * 1e9)
    rss = []
    async with Performer(config) as performer:
        await asyncio.wait_for(performer.started.wait(), 30)
        ready = time.perf_counter_ns()
        # A listener in a process of its own, as a DAW (it connects to the port by name).
        port = next(iter(config.ports.values())).name
        receiver = await asyncio.get_running_loop().run_in_executor(None, MidiReceiver, port)
        with receiver:
            end = time.monotonic() + seconds
            handled = rejected = 0
            if flood_count:
                await asyncio.sleep(seconds / 4)
                handled, rejected = await flood(performer, flood_count)
            while time.monotonic() < end:
                await asyncio.sleep(1.0)
                rss.append(engine_rss_mb(os.getpid()))
            errors = performer.output.emission_errors_ns()
            state = performer.state()
            first_note = performer.first_note_ns
            received = receiver.count()
    return {
        "errors_us": [e / 1000 for e in errors],
        "start_to_started_s": (ready - began) / 1e9,
        "start_to_first_note_s": (first_note - began) / 1e9 if first_note else float("nan"),
        "process_to_first_note_s": (first_note - process_began) / 1e9 if first_note
        else float("nan"),
        "rss_mb": rss,
        "loops": sum(t.loops_played for t in state.tracks),
        "late": sum(t.late_answers for t in state.tracks),
        "bars": state.bar,
        "received": received,
        "sent": len(errors),
        "osc": (handled, rejected),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--config", type=Path, help="a live set (default: one melody track)")
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--period", type=int, default=256, help="JACK period in frames")
    parser.add_argument("--scenarios", nargs="+", default=["idle", "busy"],
                        help="idle, busy (a process spinning on one core), flood (OSC)")
    parser.add_argument("--flood", type=int, default=20_000, help="OSC messages in 'flood'")
    args = parser.parse_args()
    base = (load_live_set(args.config) if args.config else live_set_from_dict({
        "tracks": [{"name": "melody", "every": 1, "seed": 1,
                    "humanize": {"velocity_spread": 6, "timing_spread_ms": 3}}]})).engine
    config = dataclasses.replace(
        base, backend="jack",
        clock=dataclasses.replace(base.clock, bpm=args.bpm, source="internal"),
        ports={key: dataclasses.replace(p, name=f"{PORT}-{key}", virtual=True)
               for key, p in base.ports.items()})
    with running_jack_server(f"latentjam-bench-{os.getpid()}", period=args.period):
        print("first note: from the Performer's start (and from this process's start, imports "
              "included) to the first note's deadline")
        print(f"{args.seconds:g} s per scenario at {args.bpm:g} BPM, tracks "
              f"{', '.join(t.name for t in config.tracks)}; JACK dummy period {args.period}; "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before")
        print("scenario  events  median us  p99 us  max us  >1 ms  first note s (process)  "
              "RSS MB (max)  loops  late  received")
        for scenario in args.scenarios:
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) \
                if scenario == "busy" else None
            try:
                result = asyncio.run(run_set(config, args.seconds,
                                             args.flood if scenario == "flood" else 0))
            finally:
                if busy:
                    busy.kill()
                    busy.wait()
            errors = result["errors_us"]
            print(f"{scenario:<8} {len(errors):>7} {statistics.median(errors):>10.1f} "
                  f"{percentile(errors, 0.99):>7.1f} {max(errors):>7.1f} "
                  f"{sum(e > 1000 for e in errors):>6} {result['start_to_first_note_s']:>13.2f} "
                  f"({result['process_to_first_note_s']:.2f})    "
                  f"{max(result['rss_mb']):>13.0f} {result['loops']:>6} {result['late']:>5}  "
                  f"{result['received']}/{result['sent']}"
                  + (f"  OSC handled {result['osc'][0]}, ignored {result['osc'][1]}"
                     if scenario == "flood" else ""), flush=True)
        print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
