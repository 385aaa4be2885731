"""Reference figures for Google's Magenta MusicVAE (2.1.4) on this machine.

Every measurement runs in its own fresh process (``magenta_workers.py``) so that timings and
peak RSS do not mix. Prints a JSON report to stdout and a readable table to stderr::

    python benchmarks/magenta_reference.py --magenta-python /tmp/magenta-ref/.venv/bin/python

(the driver itself needs no TensorFlow; any python 3.11 runs it). Needs the benchmark data
from ``magenta_make_data.py`` for ``trio`` and ``train``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from magenta_harness import (  # noqa: E402
    BENCH_DIR,
    DEFAULT_CKPT,
    DEFAULT_EXAMPLES,
    DEFAULT_MAGENTA_PYTHON,
    DEFAULT_ROOT,
    DEFAULT_TRIO_CKPT,
    machine,
    print_table,
    run_worker,
    summarize,
)

MEASUREMENTS = ("startup", "decode", "sample", "encode", "batch32", "trio", "train")
VERSION_PACKAGES = ("magenta", "tensorflow", "tf-keras", "tensorflow-probability", "note-seq",
                    "numpy")


def magenta_versions(python: Path) -> dict:
    code = ("import importlib.metadata as m, json, sys; print(json.dumps({p: m.version(p) "
            f"for p in {list(VERSION_PACKAGES)!r}}} | {{'python': sys.version.split()[0]}}))")
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def worker_cmd(python: Path, worker: str, args: argparse.Namespace, **extra) -> list[str]:
    cmd = [str(python), str(BENCH_DIR / "magenta_workers.py"), worker,
           "--ckpt", str(args.ckpt), "--trio-ckpt", str(args.trio_ckpt),
           "--examples", str(args.examples), "--run-dir", str(args.work_dir / "train-run")]
    for key, value in extra.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


def run_startup(args: argparse.Namespace) -> list[dict]:
    """One discarded run (it may meet a cold file cache), then ``startup_runs`` timed ones."""
    results = []
    for index in range(args.startup_runs + 1):
        result = run_worker(worker_cmd(args.magenta_python, "startup", args),
                            env={"TF_USE_LEGACY_KERAS": "1"})
        result["process_start_to_ready_s"] = round(result["ready_at"] - result["spawned_at"], 3)
        result["discarded_warmup"] = index == 0
        results.append(result)
        print(f"startup {index}: {result['process_start_to_ready_s']} s", file=sys.stderr)
    return results


def run_measurement(name: str, args: argparse.Namespace) -> list[dict]:
    if name == "startup":
        return run_startup(args)
    options = {
        "decode": {"runs": args.runs}, "sample": {"runs": args.runs},
        "encode": {"runs": args.runs}, "batch32": {"runs": max(args.runs // 2, 50)},
        "trio": {"runs": args.trio_runs, "warmup": 1},
        "train": {"train_steps": args.train_steps, "train_warmup": args.train_warmup,
                  "train_batch": args.train_batch},
    }[name]
    repeats = args.heavy_repeats if name in ("trio", "train") else args.repeats
    results = []
    for index in range(repeats):
        result = run_worker(worker_cmd(args.magenta_python, name, args, **options),
                            env={"TF_USE_LEGACY_KERAS": "1"})
        results.append(result)
        print(f"{name} {index}: done in {result['wall_s']} s", file=sys.stderr)
    return results


def table_rows(results: dict) -> list[list[str]]:
    rows = []
    for name, runs in results.items():
        if name == "startup":
            timed = [r["process_start_to_ready_s"] for r in runs if not r["discarded_warmup"]]
            stats = summarize(timed)
            rows.append(["startup: process start -> TrainedModel ready", "all",
                         f"{stats['median_ms'] / 1000:.2f} s", f"{stats['max_ms'] / 1000:.2f} s "
                         "(max)", stats["n"], max(r["peak_rss_mb"] for r in runs),
                         " ".join(str(r["load_before"]["loadavg_1m"]) for r in runs)])
            continue
        for index, run in enumerate(runs):
            for key, stats in run.items():
                if not isinstance(stats, dict) or "median_ms" not in stats:
                    continue
                label = f"train step (batch {run['batch']})" if key == "train_step" else key
                rows.append([label, index, f"{stats['median_ms']:.1f} ms",
                             f"{stats['p99_ms']:.1f} ms", stats["n"], run["peak_rss_mb"],
                             run["load_before"]["loadavg_1m"]])
    return rows


def markdown(report: dict) -> str:
    """The report as the Markdown table docs/benchmarks.md uses (one row per process)."""
    lines = ["| measurement | process | median | p99 | n | peak RSS MB | load (1 min) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in table_rows(report["results"]):
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--magenta-python", type=Path, default=DEFAULT_MAGENTA_PYTHON)
    parser.add_argument("--ckpt", type=Path, default=DEFAULT_CKPT,
                        help="cat-mel_2bar_small checkpoint (dir or prefix)")
    parser.add_argument("--trio-ckpt", type=Path, default=DEFAULT_TRIO_CKPT,
                        help="full-size hierdec-trio_16bar checkpoint (magenta_make_data.py)")
    parser.add_argument("--examples", type=Path, default=DEFAULT_EXAMPLES,
                        help="NoteSequence TFRecord for training (magenta_make_data.py)")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_ROOT / "magenta-reference")
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        help=f"comma-separated subset of {', '.join(MEASUREMENTS)}")
    parser.add_argument("--repeats", type=int, default=2,
                        help="fresh processes per light measurement")
    parser.add_argument("--heavy-repeats", type=int, default=1, help="... for trio and train")
    parser.add_argument("--runs", type=int, default=200, help="timed calls per process")
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--trio-runs", type=int, default=3)
    parser.add_argument("--train-steps", type=int, default=30)
    parser.add_argument("--train-warmup", type=int, default=5)
    parser.add_argument("--train-batch", type=int, default=64)
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="print an earlier report as Markdown and exit (measures nothing)")
    args = parser.parse_args(argv)
    if args.render:
        print(markdown(json.loads(args.render.read_text())))
        return 0
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(MEASUREMENTS))
    if unknown:
        parser.error(f"unknown measurements {unknown}; choose from {MEASUREMENTS}")
    args.work_dir.mkdir(parents=True, exist_ok=True)

    report = {"machine": machine(), "magenta_python": str(args.magenta_python),
              "versions": magenta_versions(args.magenta_python),
              "command": " ".join(sys.argv), "results": {}}
    for name in names:
        report["results"][name] = run_measurement(name, args)
    print_table(table_rows(report["results"]),
                ["measurement", "proc", "median", "p99", "n", "peak RSS MB", "load1m"])
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
