"""The engine under faults, from outside, as a user's setup meets them: a real `latentjam
play` process on a private JACK server, a MIDI clock master of our own (with held-up pulses,
a crash and a restart), a listener on the engine's port, hostile OSC, SIGSTOP/SIGCONT, kill -9
of the model workers, and the memory of the whole process tree. Prints one figure a line.

    python benchmarks/bench_faults.py                  # the long form: RSS over an hour
    python benchmarks/bench_faults.py --rss-minutes 20
    python benchmarks/bench_faults.py --quick          # about a minute (CI runs it, JACK present)

Figures (docs/benchmarks.md): pulses forwarded against pulses the master sent (must be equal);
phase error of the engine's notes against the master's grid after held-up input (p50/p99);
the master's crash and restart (its Stop obeyed); the longest gap between the engine's clock
pulses while it loads a 1 MB anchor (against the pulse interval) and after hostile OSC; the
burst after a 2 s stall; the longest gap while its model workers are killed; RSS of the tree.
Timing on JACK is quantized to its period (-p 256 here: 5.3 ms), so phase figures carry that
much; what counts is that they stay within it.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mido
from latentjam.controllers.osc_server import encode
from latentjam.engine.transport import TICKS_PER_CLOCK

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from jack_server import (  # noqa: E402
    ClockMaster,
    MidiReceiver,
    free_udp_port,
    running_jack_server,
    wait_for_port,
)

PLAY = [sys.executable, "-m", "latentjam", "play", "--backend", "jack", "--seed", "2"]
GRID_SET = """\
anchor_dirs = ["{anchors}"]
[osc]
port = {osc}
[[tracks]]
name = "melody"
mode = "hold"
seed = 2
"""  # no humanize: the notes' phase is the engine's, not a random spread


ENGINE_LOG: str | None = None  # --follow-log: where the following engine's log goes


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def process_tree(pid: int) -> list[tuple[int, int, int]]:
    """(pid, RSS kB, shared-memory kB) of ``pid`` and its descendants."""
    rows = [line.split() for line in subprocess.run(
        ["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout.splitlines()]
    tree, grew = {pid}, True
    while grew:
        grew = False
        for child, parent in rows:
            if int(parent) in tree and int(child) not in tree:
                tree.add(int(child))
                grew = True
    out = []
    for member in sorted(tree):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if "VmRSS" not in fields:  # a zombie not yet reaped holds no memory
            continue
        out.append((member, int(fields["VmRSS"].split()[0]),
                    int(fields.get("RssShmem", "0 kB").split()[0])))
    return out


def pss_kb(pids: list[int]) -> int:
    """Proportional set size of ``pids`` together: JACK's shared memory counted once."""
    total = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        found = re.search(r"^Pss:\s+(\d+)", rollup, re.M)
        total += int(found[1]) if found else 0
    return total


def pulses_and_notes(received) -> tuple[list[int], list[tuple[int, int]]]:
    """Arrival ns of every clock pulse, and (arrival ns, tick) of every note-on, the tick
    counted from the pulses since the last Start."""
    pulses, notes, count = [], [], 0
    for stamp, data in received:
        message = mido.Message.from_bytes(data)
        if message.type == "start":
            count = 0
        elif message.type == "clock":
            pulses.append(stamp)
            count += 1
        elif message.type == "note_on" and message.velocity > 0:
            notes.append((stamp, max(count - 1, 0) * TICKS_PER_CLOCK))
    return pulses, notes


def xruns(log: str) -> int:
    """The xruns an engine's log told (the first alone, then counts "(N in all)")."""
    counts = [int(n) for n in re.findall(r"xruns in the last \d+ s \((\d+) in all\)", log)]
    return max(counts, default=int("JACK reported an xrun" in log))


def longest_gap_ms(stamps: list[int], start: int, end: int) -> float:
    inside = [s for s in stamps if start <= s <= end]
    return max((b - a for a, b in zip(inside, inside[1:], strict=False)), default=0) / 1e6


class Engine:
    """A `latentjam play` process and a listener on its port."""

    def __init__(self, port: str, *extra: str, listen: bool = True) -> None:
        self.port = port
        self.process = subprocess.Popen([*PLAY, "--port", port, *extra],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True)
        wait_for_port(port)
        self.listener = MidiReceiver(port) if listen else None

    def stop(self) -> tuple[list, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=30)
        return (self.listener.stop(linger_s=0.3) if self.listener else []), err


def follow(seconds: float) -> dict:
    """The engine follows our master, whose pulses are held up (30 ms every 48th pulse);
    then the master is killed and restarted, and its Stop must stop the engine. The pulses
    are counted at each hop: the master's own count, a listener on the master's port (what
    JACK delivers from it), the engine's input and the engine's forwarding (its log at the
    master's Stop), and the listener on the engine's port."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "set.toml"
        config.write_text(GRID_SET.format(anchors=folder, osc=free_udp_port()))
        with ClockMaster("lj-bench-master") as master:
            engine = Engine("lj-bench-follower", "--config", str(config), "--clock", "midi",
                            "--clock-in", "lj-bench-master", "--no-osc")
            at_master = MidiReceiver("lj-bench-master")
            time.sleep(3)  # its clock input opens after its output port
            bpm, count = 126.0, int(seconds * 126 / 60 * 24)
            master.send("start")
            grid_ns = master.send(f"pulses {count} {bpm} 48 30")
            master.send("stop")
            time.sleep(0.5)
            heard_at_master = sum(data == [0xF8] for _, data in at_master.stop(linger_s=0))
            killed_at = time.monotonic_ns()
            master.kill()
            time.sleep(1.5)
        with ClockMaster("lj-bench-master") as again:
            time.sleep(2.0)  # the engine opens its input anew
            again.send("start")
            again.send(f"pulses 96 {bpm}")
            again.send("stop")
            time.sleep(1.0)
        received, err = engine.stop()
    if ENGINE_LOG:
        Path(ENGINE_LOG).write_text(err)
    pulses, notes = pulses_and_notes([(t, d) for t, d in received if t < killed_at])
    period_ns = 60e9 / (bpm * 24)
    errors = []
    for stamp, _ in notes:  # against the nearest 16th of the master's grid
        sixteenths = round((stamp - grid_ns) / (6 * period_ns))
        if sixteenths >= 16:  # after the first bar, which starts on a held-up pulse
            errors.append(abs(stamp - (grid_ns + sixteenths * 6 * period_ns)) / 1e6)
    kinds = [mido.Message.from_bytes(d).type for _, d in received]
    before_restart = err.split("is back; following it again")[0]
    skipped = max((int(n) for n in re.findall(r"(\d+) clock pulses in all were too late",
                                             before_restart)), default=0)
    heard = re.search(r"the master's Stop: (\d+) pulses heard", err)
    sent_on = re.search(r"(\d+) of the master's pulses forwarded since its start", err)
    return {"master pulses": count, "forwarded pulses": len(pulses),
            "pulses heard by a listener on the master's port": heard_at_master,
            "pulses heard by the engine's clock input": int(heard[1]) if heard else -1,
            "pulses the engine forwarded (its count)": int(sent_on[1]) if sent_on else -1,
            "clock input opened anew while the master ran": err[:err.find("master's Stop")]
                .count("is back; following it again"),
            "JACK xruns while following (the engine's count)": xruns(err),
            "pulses skipped in stalls": skipped,
            "pulses gained or lost": len(pulses) + skipped - count,
            "phase p50 ms": statistics.median(errors) if errors else float("nan"),
            "phase p99 ms": percentile(errors, 0.99) if errors else float("nan"),
            "restarted master's Stop obeyed": kinds.count("stop") >= 2,
            "followed again": "is back; following it again" in err}


def hostile_and_faults(stall_s: float) -> dict:
    """The internal clock at 120 BPM: a 1 MB anchor, hostile OSC, a stall, killed workers."""
    with tempfile.TemporaryDirectory() as folder:
        anchors = Path(folder)
        big = mido.MidiFile(type=1, ticks_per_beat=220)
        track = mido.MidiTrack()
        big.tracks.append(track)
        while len(track) < 330_000:  # about 1 MB of running-status note events
            track.append(mido.Message("note_on", note=60 + len(track) % 12, velocity=80))
            track.append(mido.Message("note_on", note=60 + len(track) % 12, velocity=0, time=3))
        big.save(anchors / "big.mid")
        size = (anchors / "big.mid").stat().st_size
        osc_port = free_udp_port()
        config = anchors / "set.toml"
        config.write_text(GRID_SET.format(anchors=anchors, osc=osc_port))
        engine = Engine("lj-bench-engine", "--config", str(config), "--bpm", "120")
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        time.sleep(3)
        load_at = time.monotonic_ns()
        for path in ("big.mid", "/dev/zero", "/etc/shadow", "../../etc/passwd"):
            client.sendto(encode("/latentjam/track/melody/anchor/load", (0, path)),
                          ("127.0.0.1", osc_port))
        for _ in range(2000):  # a burst of valid messages
            client.sendto(encode("/latentjam/track/melody/temperature", (0.5,)),
                          ("127.0.0.1", osc_port))
        time.sleep(8)
        load_end = time.monotonic_ns()
        engine.process.send_signal(signal.SIGSTOP)
        time.sleep(stall_s)
        engine.process.send_signal(signal.SIGCONT)
        resumed = time.monotonic_ns()
        time.sleep(2)
        workers = [pid for pid, _, _ in process_tree(engine.process.pid)
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        kill_at = time.monotonic_ns()
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        time.sleep(6)
        kill_end = time.monotonic_ns()
        alive = engine.process.poll() is None
        received, err = engine.stop()
        client.close()
    pulses, _ = pulses_and_notes(received)
    after = [(s, mido.Message.from_bytes(d)) for s, d in received if s >= resumed]
    first = after[0][0] if after else resumed
    burst = [m for s, m in after if s - first < 100_000_000]
    return {"anchor file bytes": size,
            "longest pulse gap during the anchor load and hostile OSC ms":
                longest_gap_ms(pulses, load_at, load_end),
            "pulse interval ms": 60e3 / (120 * 24),
            "anchor refused or loaded, one line each": err.count("anchor") >= 1,
            "pulses in the 100 ms after a stall": sum(m.type == "clock" for m in burst),
            "notes in the 100 ms after a stall": sum(m.type == "note_on" and m.velocity > 0
                                                     for m in burst),
            "stall resynced with Song Position": any(m.type == "songpos" for _, m in after),
            "child processes killed": len(workers),
            "longest pulse gap while they were killed ms":
                longest_gap_ms(pulses, kill_at, kill_end),
            "engine alive after the kills": alive}


def memory(seconds: float, every_s: float) -> dict:
    # no listener: an hour of messages kept by one is its memory, not the engine's
    engine = Engine("lj-bench-rss", listen=False)
    time.sleep(5)
    samples = []
    began = time.monotonic()
    end = began + seconds
    while time.monotonic() < end:
        tree = process_tree(engine.process.pid)
        samples.append((sum(r for _, r, _ in tree), sum(r - s for _, r, s in tree),
                        pss_kb([pid for pid, _, _ in tree])))
        print(f"memory at {(time.monotonic() - began) / 60:.1f} min: RSS "
              f"{samples[-1][0] / 1024:.1f} MB, PSS {samples[-1][2] / 1024:.1f} MB, "
              f"{len(tree)} processes", file=sys.stderr, flush=True)
        time.sleep(every_s)
    engine.stop()
    return {"processes": len(tree), "RSS first MB": samples[0][0] / 1024,
            "RSS last MB": samples[-1][0] / 1024,
            "RSS max MB": max(r for r, _, _ in samples) / 1024,
            "RSS without JACK's shared memory, last MB": samples[-1][1] / 1024,
            "PSS first MB": samples[0][2] / 1024, "PSS last MB": samples[-1][2] / 1024,
            "PSS max MB": max(p for _, _, p in samples) / 1024,
            "minutes": seconds / 60}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about a minute)")
    parser.add_argument("--rss-minutes", type=float, default=60.0,
                        help="how long the memory is watched in the long form (default 60)")
    parser.add_argument("--only", choices=("follow", "faults", "memory"), action="append",
                        help="run only this part (repeatable)")
    parser.add_argument("--follow-log", metavar="FILE",
                        help="keep the following engine's log in FILE")
    args = parser.parse_args()
    global ENGINE_LOG
    ENGINE_LOG = args.follow_log
    follow_s, rss_s = (10.0, 20.0) if args.quick else (60.0, 60 * args.rss_minutes)
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    parts = (("follow", lambda: follow(follow_s)),
             ("faults", lambda: hostile_and_faults(2.0)),
             ("memory", lambda: memory(rss_s, 5.0 if args.quick else 60.0)))
    with running_jack_server(period=256):
        for title, measure in parts:
            if args.only and title not in args.only:
                continue
            for key, value in measure().items():
                shown = f"{value:.2f}" if isinstance(value, float) else value
                print(f"{title}: {key}: {shown}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
