"""An OSC flood against the server in front of a fake engine: how many messages arrive and are
handled, how long each takes, and how late a 1 ms ticker on the same asyncio loop runs while
the flood lasts (the loop must stay responsive: DESIGN §3).

    python benchmarks/bench_osc_flood.py                        # 10,000 messages, 3 kinds
    python benchmarks/bench_osc_flood.py --count 20000 --kinds valid --runs 3
    python benchmarks/bench_osc_flood.py --default-buffer       # the kernel's default SO_RCVBUF

Another process sends the messages back to back over 127.0.0.1. Kinds: ``valid`` (track
settings and tempo, each submitted to the engine), ``mixed`` (half of them unknown addresses
or values out of range: refused and logged, rate-limited), ``bundled`` (bundles of 8 valid
messages). One subscriber gets feedback at 25 Hz all along (the fake state's bar moves).
Lateness is measured over the ticks due between the first and the last datagram handled,
against a quiet baseline taken first: asyncio's timers wake through epoll, whose timeout has
1 ms granularity, so even an idle ticker is up to about 1 ms late.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from latentjam.controllers import osc_server
from latentjam.controllers.osc_config import OscConfig
from latentjam.controllers.osc_server import OscServer
from latentjam.engine.engine_state import EngineState, TrackState
from latentjam.engine.humanize import HumanizeParams

SENDER = """
import socket, sys, time
from latentjam.controllers.osc_server import encode
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
port, count, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
valid = [("/latentjam/track/melody/temperature", (0.3 + (i % 7) / 10,)) for i in range(7)] + [
    ("/latentjam/track/melody/walk_step", (0.25,)), ("/latentjam/tempo", (121.0,)),
    ("/latentjam/track/melody/mute", (1.0,)), ("/latentjam/track/melody/bars", (4.0,))]
refused = [("/latentjam/no/such/address", (1,)), ("/latentjam/tempo", (999.0,))]
def message(i):
    if kind == "mixed" and i % 2:
        return refused[i // 2 % len(refused)]
    return valid[i % len(valid)]
if kind == "bundled":
    datagrams = []
    for first in range(0, count, 8):
        bundle = OscBundleBuilder(IMMEDIATELY)
        for i in range(first, min(first + 8, count)):
            builder = OscMessageBuilder(message(i)[0])
            for arg in message(i)[1]:
                builder.add_arg(arg)
            bundle.add_content(builder.build())
        datagrams.append(bundle.build().dgram)
else:
    datagrams = [encode(*message(i)) for i in range(count)]
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    began = time.perf_counter()
    for data in datagrams:
        sock.sendto(data, ("127.0.0.1", port))
    print(f"{len(datagrams)}", f"{time.perf_counter() - began:.4f}")
"""


class FakeEngine:
    """Commands go to a list; the state is fixed but for the bar, which moves with time."""

    def __init__(self) -> None:
        self.commands = []
        self._track = TrackState("melody", "sample", 0.5, 0.25, 2, 1, False, False,
                                 HumanizeParams(), "main", 0, 0, 0, ())

    def command(self, command) -> None:
        self.commands.append(command)

    def state(self) -> EngineState:
        bar = int(time.monotonic() * 2)  # 120 BPM: a bar every 2 s, a beat every 0.5 s
        beat = int(time.monotonic() * 2) % 4
        return EngineState(True, "internal", "playing", 120.0, bar * 1920, bar // 4, beat,
                           (self._track,))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def udp_receive_errors() -> int:
    """The kernel's count of UDP datagrams dropped for a full receive buffer (all sockets)."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()
             if line.startswith("Udp:")]
    return int(dict(zip(lines[0], lines[1], strict=True))["RcvbufErrors"])


async def ticker(period_ns: int, lateness: list[tuple[int, int]], stop: asyncio.Event) -> None:
    """Wake every ``period_ns`` at absolute deadlines; record (deadline, lateness) in ns."""
    deadline = time.perf_counter_ns() + period_ns
    while not stop.is_set():
        await asyncio.sleep(max(0, deadline - time.perf_counter_ns()) / 1e9)
        now = time.perf_counter_ns()
        lateness.append((deadline, now - deadline))
        deadline += period_ns
        while deadline < now:  # a tick missed whole is counted in the lateness above
            deadline += period_ns


async def run_flood(count: int, kind: str, default_buffer: bool) -> dict:
    engine = FakeEngine()
    if default_buffer:
        osc_server._enlarge_receive_buffer = lambda sock: sock.getsockopt(
            socket.SOL_SOCKET, socket.SO_RCVBUF)
    server = OscServer(OscConfig(port=0), engine.command, engine.state)
    _, port = await server.start()
    handling_ns: list[int] = []
    handling_cpu_ns: list[int] = []  # the thread's CPU time: wall minus being descheduled
    handled_at: list[int] = []  # when each datagram's handling began
    handle = server.datagram

    def timed(data, sender):
        began, began_cpu = time.perf_counter_ns(), time.thread_time_ns()
        handle(data, sender)
        handling_ns.append(time.perf_counter_ns() - began)
        handling_cpu_ns.append(time.thread_time_ns() - began_cpu)
        handled_at.append(began)

    server.datagram = timed
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as subscriber:
        subscriber.bind(("127.0.0.1", 0))
        subscriber.setblocking(False)
        subscriber.sendto(osc_server.encode("/latentjam/subscribe", ()), ("127.0.0.1", port))
        lateness: list[tuple[int, int]] = []
        stop = asyncio.Event()
        tick_task = asyncio.create_task(ticker(1_000_000, lateness, stop))
        await asyncio.sleep(1.0)  # the quiet baseline
        drops_before = udp_receive_errors()
        first = len(handled_at)  # the subscription came before
        sender = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SENDER, str(port), str(count), kind,
            stdout=subprocess.PIPE)
        out, _ = await sender.communicate()
        datagrams, send_s = out.split()
        last_total, last_change = -1, time.perf_counter_ns()
        while time.perf_counter_ns() - last_change < 300_000_000:  # settled: 0.3 s unchanged
            total = server.handled + server.rejected
            if total != last_total:
                last_total, last_change = total, time.perf_counter_ns()
            await asyncio.sleep(0.01)
        flood_began, flood_ended = handled_at[first], handled_at[-1] + handling_ns[-1]
        drops = udp_receive_errors() - drops_before
        stop.set()
        await tick_task
        feedback_received = 0
        while True:
            try:
                subscriber.recv(65536)
                feedback_received += 1
            except BlockingIOError:
                break
    await server.close()
    quiet = [late for deadline, late in lateness if deadline < flood_began]
    during = [late for deadline, late in lateness if flood_began <= deadline <= flood_ended]
    return {
        "kind": kind, "sent": count, "datagrams": int(datagrams), "send_s": float(send_s),
        "handled": server.handled, "rejected": server.rejected, "submitted": len(engine.commands),
        "kernel_drops": drops, "buffer": server.receive_buffer_bytes,
        "handling_us": [ns / 1000 for ns in handling_ns[first:]],
        "handling_cpu_us": [ns / 1000 for ns in handling_cpu_ns[first:]],
        "flood_s": (flood_ended - flood_began) / 1e9,
        "quiet_ms": [ns / 1e6 for ns in quiet], "during_ms": [ns / 1e6 for ns in during],
        "feedback": feedback_received,
    }


def report(result: dict) -> None:
    handling, quiet, during = result["handling_us"], result["quiet_ms"], result["during_ms"]
    cpu = result["handling_cpu_us"]
    per_message = result["datagrams"] / result["sent"]  # a bundle's time covers 8 messages
    print(f"{result['kind']:>8}: {result['sent']:,} messages in {result['datagrams']:,} "
          f"datagrams sent in {result['send_s'] * 1000:.0f} ms; buffer "
          f"{result['buffer'] // 1024} KiB; kernel dropped {result['kernel_drops']:,}")
    print(f"          handled {result['handled']:,} (submitted {result['submitted']:,}), "
          f"refused {result['rejected']:,}; first to last handled in "
          f"{result['flood_s'] * 1000:.0f} ms; "
          f"{result['feedback']} feedback datagrams to the subscriber")
    print(f"          handling per datagram p50 {percentile(handling, 0.5):.1f} µs, "
          f"p99 {percentile(handling, 0.99):.1f} µs, max {max(handling, default=0):.1f} µs"
          + (f" (per message p50 {percentile(handling, 0.5) * per_message:.1f} µs)"
             if per_message < 1 else ""))
    print(f"          of which CPU time p50 {percentile(cpu, 0.5):.1f} µs, "
          f"p99 {percentile(cpu, 0.99):.1f} µs, max {max(cpu, default=0):.1f} µs "
          f"(the rest: the process descheduled)")
    for name, values in (("quiet", quiet), ("flood", during)):
        print(f"          1 ms ticker lateness, {name:>5}: {len(values):>5} ticks, "
              f"p50 {percentile(values, 0.5):.3f} ms, p99 {percentile(values, 0.99):.3f} ms, "
              f"max {max(values, default=float('nan')):.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="messages per flood")
    parser.add_argument("--kinds", nargs="+", default=["valid", "mixed", "bundled"],
                        choices=["valid", "mixed", "bundled"])
    parser.add_argument("--runs", type=int, default=1, help="floods of each kind")
    parser.add_argument("--default-buffer", action="store_true",
                        help="leave SO_RCVBUF at the kernel's default (to compare)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before")
    for kind in args.kinds:
        for _ in range(args.runs):
            report(asyncio.run(run_flood(args.count, kind, args.default_buffer)))
    print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
