"""What every Magenta and side-by-side benchmark shares: worker processes, statistics, load.

Each measurement runs in a fresh worker process so that start-up, memory and caches of one
measurement never leak into the next. A worker prints exactly one line starting with
``RESULT_MARKER`` followed by a JSON object; everything else it prints (TensorFlow's logs)
is kept only for error messages. This module imports neither TensorFlow nor NumPy, so the
driver scripts run with any python.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

RESULT_MARKER = "BENCH_RESULT "
BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_ROOT = Path("/tmp/lj-bench")
FIXTURES = Path(os.environ.get("LATENTJAM_FIXTURES", "/work/shared/fixtures/magenta"))
DEFAULT_CKPT = FIXTURES / "cat-mel_2bar_small" / "ckpt"
DEFAULT_MELODY_MIDI = FIXTURES / "cat-mel_2bar_small" / "inputs" / "mel_00.mid"
DEFAULT_TRIO_CKPT = DEFAULT_ROOT / "hierdec-trio_16bar_random"
DEFAULT_EXAMPLES = DEFAULT_ROOT / "chorales.tfrecord"
DEFAULT_MAGENTA_PYTHON = Path("/tmp/magenta-ref/.venv/bin/python")
TRAIN_PATCHED = Path("/work/shared/magenta-ref/train_patched.py")


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method), without numpy."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(seconds: Sequence[float]) -> dict:
    """Median, p99, mean, min and max of durations, in milliseconds."""
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "min_ms": round(min(ms), 3),
        "max_ms": round(max(ms), 3),
    }


def load_snapshot() -> dict:
    """1-minute load average and the number of runnable tasks right now."""
    running = None
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("procs_running"):
                running = int(line.split()[1])
    except OSError:
        pass
    return {"loadavg_1m": round(os.getloadavg()[0], 2), "procs_running": running}


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%d %H:%M %Z")}


def emit(result: dict) -> None:
    """Called by a worker: print its result line (stdout, flushed)."""
    print(RESULT_MARKER + json.dumps(result), flush=True)


def run_worker(cmd: Sequence[str], env: dict | None = None, timeout: float = 1800) -> dict:
    """Run one worker process; returns its result plus ``wall_s`` (spawn to exit), the
    spawn time (``spawned_at``, epoch seconds) and the machine load before and after."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    before = load_snapshot()
    spawned_at = time.time()
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    wall = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise RuntimeError(f"worker failed (rc={proc.returncode}): {' '.join(cmd)}\n{tail}")
    result = json.loads(lines[-1][len(RESULT_MARKER):])
    result["wall_s"] = round(wall, 3)
    result["spawned_at"] = spawned_at
    result["load_before"] = before
    result["load_after"] = load_snapshot()
    return result


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def print_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> None:
    """A plain aligned table on stderr."""
    table = [list(header)] + [list(map(str, row)) for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for index, row in enumerate(table):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells), file=sys.stderr)
        if index == 0:
            print("  ".join("-" * width for width in widths), file=sys.stderr)
