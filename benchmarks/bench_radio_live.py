"""The radio live on a private JACK server for a while (an hour by default): the memory and
CPU share of its processes (the engine and its model workers), late loops and skipped notes,
read from its own /metrics, sampled every --every seconds.

    python benchmarks/bench_radio_live.py --minutes 60
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from jack_server import running_jack_server, wait_for_port  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children.get(current, [])
    return out


def usage(pids: list[int]) -> tuple[float, float, float]:
    """(RSS in MB, PSS in MB, CPU seconds) summed over ``pids``. RSS counts every shared
    page once per process that maps it (JACK's shared memory, about 100 MB, in the engine
    and again in each port's client); PSS divides shared pages among their processes, so
    its sum is what the station costs the machine."""
    rss, pss, cpu = 0.0, 0.0, 0.0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        rss += int(re.search(r"^Rss:\s+(\d+)", rollup, re.M).group(1)) / 1024
        pss += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1)) / 1024
        cpu += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return rss, pss, cpu


def metric(text: str, name: str) -> float:
    match = re.search(rf"^latentjam_{name} (\S+)$", text, re.M)
    return float(match.group(1)) if match else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before", flush=True)
    with running_jack_server(f"latentjam-radio-bench-{os.getpid()}", period=256):
        player = subprocess.Popen(
            [sys.executable, "-m", "latentjam", "radio", "--backend", "jack", "--port",
             "lj-radio-bench", "--no-osc", "--seed", "1", "--status-port", "0"],
            stderr=subprocess.PIPE, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        try:
            wait_for_port("lj-radio-bench")
            url = None
            while url is None:
                line = player.stderr.readline()
                if "/health and /metrics" in line:
                    url = line.split("http://")[1].split("/health")[0]
            began, (_, _, cpu0) = time.monotonic(), usage(tree(player.pid))
            print("minute  RSS MB  PSS MB (all processes)  CPU share  bar  song  late loops  "
                  "skipped notes  load", flush=True)
            while time.monotonic() - began < args.minutes * 60:
                time.sleep(args.every)
                rss, pss, cpu = usage(tree(player.pid))
                with urllib.request.urlopen(f"http://{url}/metrics", timeout=5) as answer:
                    text = answer.read().decode()
                elapsed = time.monotonic() - began
                share = (cpu - cpu0) / elapsed
                print(f"{elapsed / 60:6.1f}  {rss:6.0f}  {pss:6.0f}  {share:9.1%}  "
                      f"{metric(text, 'bar'):5.0f}  {metric(text, 'song'):4.0f}  "
                      f"{metric(text, 'late_loops'):6.0f}  {metric(text, 'skipped_notes'):6.0f}"
                      f"  {os.getloadavg()[0]:.2f}", flush=True)
        finally:
            player.send_signal(signal.SIGTERM)
            try:
                player.wait(15)
            except subprocess.TimeoutExpired:
                player.kill()
        print(f"exit code {player.returncode}")


if __name__ == "__main__":
    main()
