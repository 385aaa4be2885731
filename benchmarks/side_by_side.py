"""Our MusicVAE against Google's Magenta 2.1.4, side by side, on the same checkpoint and data.

    python benchmarks/side_by_side.py --magenta-python /tmp/magenta-ref/.venv/bin/python

Run it with the project's python. Each measurement runs in fresh processes, Magenta's
(``magenta_workers.py`` under ``--magenta-python``) and ours (this file with ``--worker``),
alternating which goes first from round to round so that changing machine load hits both.
Prints JSON to stdout and a table of ratios to stderr; ``speedup`` is Magenta's median over
ours (above 1: ours is faster), ``RSS`` is ours over Magenta's peak resident memory.

What is compared (same z, same checkpoint; Magenta decodes at temperature 1e-6, which is
argmax in practice, ours at 0):

* ``startup``: process start to a model ready to decode (Magenta: ``TrainedModel``; ours:
  ``read_tf_checkpoint`` + ``MusicVAE``);
* ``first_midi``: process start to the first MIDI file written, one 2-bar sample at
  temperature 0.5 from the same checkpoint (Magenta: ``TrainedModel.sample`` and
  ``note_seq.sequence_proto_to_midi_file``; ours: ``latentjam sample --num 1``, the CLI run
  in the worker process);
* ``decode``: one 2-bar melody, batch 1 (ours ``MusicVAE.decode`` gives classes, so its
  like-for-like partner is ``decode_to_tensors``; Magenta's ``decode`` also builds
  NoteSequences and is shown too);
* ``sample``: 4 melodies; ``batch32``: 32 melodies in one batch;
* ``encode``: the fixture's ``mel_00.mid`` (``DEFAULT_MELODY_MIDI``), batch 1: ``encode``
  from a NoteSequence read beforehand (converter included), ``encode_tensors`` from the
  converter's tensors;
* ``trio``: one 16-bar full-size ``hierdec-trio_16bar`` decode (the checkpoint that
  ``magenta_make_data.py`` writes: Magenta's own initialisers, never synthetic scales);
* ``train``: cat-mel_2bar_small training steps at batch 64 on the chorale TFRecord, a clock
  on every step on both sides: Magenta's ``music_vae_train`` (a timestamp after every
  ``session.run``), ours ``latentjam train`` run in the worker process with a timestamp after
  every step (its loss read back); the first ``--train-warmup`` steps are not counted, and the
  intervals between the others' ends (data included) are the step times.

Compute threads: ``--blas-threads N`` sets OpenBLAS's threads in our inference workers,
``--magenta-threads N`` TensorFlow's intra- and inter-op pools in Magenta's inference workers;
training runs with each trainer's own settings (ours: intra-op = cores, inter-op 1; Magenta:
TensorFlow's defaults). Every process records the 1-minute load average before and after it.
``--render A.json B.json ...`` prints earlier reports as one Markdown table.
"""

from __future__ import annotations

import time

PROCESS_T0 = time.time()  # before any heavy import: the worker's own start

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from magenta_harness import (  # noqa: E402
    DEFAULT_CKPT,
    DEFAULT_EXAMPLES,
    DEFAULT_MAGENTA_PYTHON,
    DEFAULT_MELODY_MIDI,
    DEFAULT_ROOT,
    DEFAULT_TRIO_CKPT,
    emit,
    machine,
    peak_rss_mb,
    print_table,
    run_worker,
    summarize,
)
from magenta_reference import magenta_versions, worker_cmd  # noqa: E402

MEASUREMENTS = ("startup", "first_midi", "decode", "sample", "encode", "batch32", "trio",
                "train")
# (measurement, Magenta's timing key, our timing key): the pairs whose ratio is printed.
PAIRS = (
    ("decode", "decode_to_tensors", "decode"),
    ("decode", "decode", "decode"),
    ("sample", "sample_n4", "sample_n4"),
    ("encode", "encode", "encode"),
    ("encode", "encode_tensors", "encode_tensors"),
    ("batch32", "decode_to_tensors_b32", "decode_b32"),
    ("trio", "trio_decode_to_tensors", "trio_decode"),
)
NOT_YET = "not yet runnable"


# ------------------------------------------------------------------ our side (workers)


def time_calls(calls: dict, runs: int, warmup: int) -> dict:
    for call in calls.values():
        for _ in range(warmup):
            call()
    durations = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            durations[name].append(time.perf_counter() - start)
    return {name: summarize(values) for name, values in durations.items()}


def load_ours(config_name: str, ckpt: Path):
    from latentjam.models.checkpoints.tf_checkpoint import read_tf_checkpoint
    from latentjam.models.configs import get_config
    from latentjam.models.inference.musicvae import MusicVAE

    start = time.perf_counter()
    vae = MusicVAE(get_config(config_name), read_tf_checkpoint(ckpt))
    return vae, time.perf_counter() - start


def same_latents(batch: int, z_size: int, seed: int):
    import numpy as np  # the same draws as magenta_workers.latents

    return np.random.RandomState(seed).randn(batch, z_size).astype(np.float32)


def ours_startup(args: argparse.Namespace) -> dict:
    load_ours("cat-mel_2bar_small", args.ckpt)
    return {"worker_t0": PROCESS_T0, "ready_at": time.time()}


def ours_first_midi(args: argparse.Namespace) -> dict:
    """``latentjam sample --num 1`` in this process, from its start to the file written."""
    from latentjam.app.cli import main as cli_main

    out = args.work_dir / "ours-first-midi"
    shutil.rmtree(out, ignore_errors=True)
    code = cli_main(["sample", "--model", str(args.ckpt), "--config", "cat-mel_2bar_small",
                     "--num", "1", "--temperature", "0.5", "--seed", str(args.seed),
                     "--out", str(out)])
    written = time.time()
    files = sorted(out.glob("*.mid"))
    if code != 0 or len(files) != 1 or files[0].stat().st_size == 0:
        raise RuntimeError(f"latentjam sample failed (exit {code}, files {files})")
    return {"worker_t0": PROCESS_T0, "ready_at": written, "midi": str(files[0])}


def ours_decode(args: argparse.Namespace) -> dict:
    vae, load_s = load_ours("cat-mel_2bar_small", args.ckpt)
    z = same_latents(1, 256, args.seed)
    stats = time_calls({"decode": lambda: vae.decode(z, length=32, temperature=0.0)},
                       args.runs, args.warmup)
    return {"load_s": round(load_s, 3), "batch": 1, "length": 32, **stats}


def ours_sample(args: argparse.Namespace) -> dict:
    import numpy as np

    vae, load_s = load_ours("cat-mel_2bar_small", args.ckpt)
    rng = np.random.default_rng(args.seed)
    stats = time_calls({"sample_n4": lambda: vae.sample(4, temperature=0.5, rng=rng,
                                                         length=32)}, args.runs, args.warmup)
    return {"load_s": round(load_s, 3), "batch": 4, "length": 32, **stats}


def ours_encode(args: argparse.Namespace) -> dict:
    """Like Magenta's worker: the MIDI file read once; ``encode`` converts and encodes (μ,
    as Magenta's ``encode`` returns it with z and σ), ``encode_tensors`` only encodes."""
    from latentjam.models.configs import get_config
    from latentjam.models.encodings.converters import get_converter
    from latentjam.models.midi_io import read_midi

    vae, load_s = load_ours("cat-mel_2bar_small", args.ckpt)
    converter = get_converter(get_config("cat-mel_2bar_small"))
    sequence = read_midi(DEFAULT_MELODY_MIDI)

    def encode():
        window = converter.to_examples(sequence, training=False).examples[0]
        return vae.encode(converter.encoder_inputs(window[None]))

    inputs = converter.encoder_inputs(converter.to_examples(sequence,
                                                            training=False).examples[0][None])
    stats = time_calls({"encode": encode, "encode_tensors": lambda: vae.encode(inputs)},
                       args.runs, args.warmup)
    return {"load_s": round(load_s, 3), "batch": 1, "midi": str(DEFAULT_MELODY_MIDI), **stats}


def ours_batch32(args: argparse.Namespace) -> dict:
    vae, load_s = load_ours("cat-mel_2bar_small", args.ckpt)
    z = same_latents(32, 256, args.seed)
    stats = time_calls({"decode_b32": lambda: vae.decode(z, length=32, temperature=0.0)},
                       args.runs, args.warmup)
    stats["decode_b32"]["melodies_per_s"] = round(32000.0 / stats["decode_b32"]["median_ms"], 1)
    return {"load_s": round(load_s, 3), "batch": 32, "length": 32, **stats}


def ours_trio(args: argparse.Namespace) -> dict:
    vae, load_s = load_ours("hierdec-trio_16bar", args.trio_ckpt)
    z = same_latents(1, 512, args.seed)
    stats = time_calls({"trio_decode": lambda: vae.decode(z, length=256, temperature=0.0)},
                       args.trio_runs, args.warmup)  # as many calls as Magenta's worker
    return {"load_s": round(load_s, 3), "batch": 1, "length": 256, **stats}


def ours_train(args: argparse.Namespace) -> dict:
    """``latentjam train`` in this process, with a timestamp after every step: the same
    clock as Magenta's worker (``magenta_workers.train``)."""
    import latentjam.models.training.train as train_module
    from latentjam.app.cli import main as cli_main

    step_ends: list[float] = []

    class ClockedSteps(train_module.Steps):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            compiled = self.train  # a tf.function, set per instance

            def train(*args, **kwargs):
                out = compiled(*args, **kwargs)
                float(out["loss"])  # the step has run once its loss is read back
                step_ends.append(time.perf_counter())
                return out

            self.train = train

    train_module.Steps = ClockedSteps
    run_dir = args.work_dir / "ours-train-run"
    shutil.rmtree(run_dir, ignore_errors=True)
    started = time.perf_counter()
    code = cli_main(["train", "--config", "cat-mel_2bar_small", "--examples",
                     str(args.examples), "--run-dir", str(run_dir), "--num-steps",
                     str(args.train_steps), "--batch-size", str(args.train_batch)])
    if code != 0:
        raise RuntimeError(f"latentjam train failed (exit {code})")
    if len(step_ends) <= args.train_warmup + 1:
        raise RuntimeError(f"only {len(step_ends)} steps were timed")
    timed = step_ends[args.train_warmup:]
    stats = summarize([b - a for a, b in zip(timed, timed[1:], strict=False)])
    return {"batch": args.train_batch, "steps": len(step_ends),
            "warmup_steps_excluded": args.train_warmup,
            "start_to_first_step_s": round(step_ends[0] - started, 2),
            "process_to_end_s": round(time.time() - PROCESS_T0, 2),
            "train_step": stats,
            "steps_per_s": round(1000.0 / stats["median_ms"], 3),
            "examples_per_s": round(args.train_batch * 1000.0 / stats["median_ms"], 1)}


def write_expect(args: argparse.Namespace) -> dict:
    """Our greedy decodes of fixed latents, for ``magenta_load_check.py --expect-npz``."""
    import numpy as np

    vae, _ = load_ours(args.expect_config, args.ckpt)
    z = same_latents(args.expect_count, vae.z_size, args.seed)
    classes = vae.decode(z, length=vae.default_length, temperature=0.0)
    np.savez(args.write_expect, z=z, classes=classes)
    return {"written": str(args.write_expect), "z": list(z.shape), "classes": list(classes.shape)}


OUR_WORKERS = {"startup": ours_startup, "first_midi": ours_first_midi,
               "decode": ours_decode, "sample": ours_sample,
               "encode": ours_encode, "batch32": ours_batch32, "trio": ours_trio,
               "train": ours_train}


def ours_runnable(name: str) -> str | None:
    """None when our side of ``name`` can run now, else why not."""
    import importlib.util

    needed = ["latentjam.models.inference.musicvae",
              "latentjam.models.checkpoints.tf_checkpoint"]
    if name == "train":
        needed = ["latentjam.app.cli_train", "latentjam.models.training.train"]
    for module in needed:
        try:
            if importlib.util.find_spec(module) is None:
                return f"{NOT_YET}: {module} does not exist yet"
        except ImportError as err:
            return f"{NOT_YET}: {module}: {err}"
    if name == "train":
        probe = subprocess.run([sys.executable, "-m", "latentjam", "train", "--help"],
                               capture_output=True, text=True)
        missing = [flag for flag in ("--examples", "--run-dir", "--num-steps", "--batch-size")
                   if flag not in probe.stdout]
        if probe.returncode != 0 or missing:
            return f"{NOT_YET}: `latentjam train --help` failed or lacks {missing}"
    return None


# ------------------------------------------------------------------ the driver


def options_for(name: str, args: argparse.Namespace) -> dict:
    return {
        "startup": {}, "first_midi": {"run_dir": args.work_dir / "magenta-first-midi"},
        "decode": {"runs": args.runs}, "sample": {"runs": args.runs},
        "encode": {"runs": args.runs},
        "batch32": {"runs": max(args.runs // 2, 50)},
        "trio": {"runs": args.trio_runs, "warmup": 1},
        "train": {"train_steps": args.train_steps, "train_warmup": args.train_warmup,
                  "train_batch": args.train_batch},
    }[name]


def run_magenta(name: str, args: argparse.Namespace) -> dict:
    options = options_for(name, args)
    if args.magenta_threads and name not in ("train", "startup"):
        options["threads"] = args.magenta_threads
    result = run_worker(worker_cmd(args.magenta_python, name, args, **options),
                        env={"TF_USE_LEGACY_KERAS": "1"})
    result["threads"] = options.get("threads")
    if name in ("startup", "first_midi"):
        result["process_start_to_ready_s"] = round(result["ready_at"] - result["spawned_at"], 3)
    return result


def run_ours(name: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, "--ckpt", str(args.ckpt),
           "--trio-ckpt", str(args.trio_ckpt), "--examples", str(args.examples),
           "--work-dir", str(args.work_dir), "--runs", str(args.runs),
           "--trio-runs", str(args.trio_runs), "--train-batch", str(args.train_batch),
           "--train-steps", str(args.train_steps), "--train-warmup", str(args.train_warmup),
           "--seed", str(args.seed)]
    threads = {} if args.blas_threads is None or name == "train" else {
        "OPENBLAS_NUM_THREADS": str(args.blas_threads), "OMP_NUM_THREADS": str(args.blas_threads)}
    result = run_worker(cmd, env=threads)
    result["threads"] = threads.get("OPENBLAS_NUM_THREADS")
    if name in ("startup", "first_midi"):
        result["process_start_to_ready_s"] = round(result["ready_at"] - result["spawned_at"], 3)
    return result


def ratio_rows(results: dict) -> list[list]:
    rows = []

    def medians(side: str, name: str, key: str) -> list[float]:
        return [r[key]["median_ms"] for r in results[name][side] if key in r]

    for name, magenta_key, our_key in PAIRS:
        if name not in results or isinstance(results[name]["ours"], str):
            continue
        m, o = medians("magenta", name, magenta_key), medians("ours", name, our_key)
        m_p99 = [r[magenta_key]["p99_ms"] for r in results[name]["magenta"]]
        o_p99 = [r[our_key]["p99_ms"] for r in results[name]["ours"]]
        rss = (max(r["peak_rss_mb"] for r in results[name]["ours"])
               / max(r["peak_rss_mb"] for r in results[name]["magenta"]))
        rows.append([f"{name}: {magenta_key} vs {our_key}", f"{min(m):.2f}/{max(m_p99):.2f}",
                     f"{min(o):.3f}/{max(o_p99):.3f}", f"{min(m) / min(o):.1f}x", f"{rss:.2f}"])
    for name in ("startup", "first_midi"):
        if name not in results or isinstance(results[name]["ours"], str):
            continue
        m = [r["process_start_to_ready_s"] for r in results[name]["magenta"]]
        o = [r["process_start_to_ready_s"] for r in results[name]["ours"]]
        rss = (max(r["peak_rss_mb"] for r in results[name]["ours"])
               / max(r["peak_rss_mb"] for r in results[name]["magenta"]))
        rows.append([f"{name} (s, best/worst)", f"{min(m):.2f}/{max(m):.2f}",
                     f"{min(o):.3f}/{max(o):.3f}", f"{min(m) / min(o):.1f}x", f"{rss:.2f}"])
    if "train" in results and not isinstance(results["train"]["ours"], str):
        m = [r["train_step"]["median_ms"] for r in results["train"]["magenta"]]
        o = [r["train_step"]["median_ms"] for r in results["train"]["ours"]]
        m_p99 = [r["train_step"]["p99_ms"] for r in results["train"]["magenta"]]
        o_p99 = [r["train_step"]["p99_ms"] for r in results["train"]["ours"]]
        rss = (max(r["peak_rss_mb"] for r in results["train"]["ours"])
               / max(r["peak_rss_mb"] for r in results["train"]["magenta"]))
        rows.append([f"train step, batch {args_batch(results)}", f"{min(m):.0f}/{max(m_p99):.0f}",
                     f"{min(o):.0f}/{max(o_p99):.0f}", f"{min(m) / min(o):.2f}x", f"{rss:.2f}"])
    return rows


def args_batch(results: dict) -> int:
    return results["train"]["magenta"][0]["batch"]


# (row label, measurement, Magenta's key, our key, unit): the Markdown table's rows, in order.
MARKDOWN_ROWS = (
    ("decode one 2-bar melody, batch 1", "decode", "decode_to_tensors", "decode", "ms"),
    ("decode 32 melodies, batch 32", "batch32", "decode_to_tensors_b32", "decode_b32", "ms"),
    ("sample(n=4)", "sample", "sample_n4", "sample_n4", "ms"),
    ("encode one 2-bar melody (`mel_00.mid`, converter included)", "encode", "encode",
     "encode", "ms"),
    ("same, `encode_tensors` (converter done beforehand)", "encode", "encode_tensors",
     "encode_tensors", "ms"),
    ("full-size hierdec-trio_16bar decode, 16 bars", "trio", "trio_decode_to_tensors",
     "trio_decode", "s"),
    ("process start → model ready", "startup", None, None, "s"),
    ("process start → first MIDI file", "first_midi", None, None, "s"),
    ("training step, cat-mel_2bar_small, batch 64", "train", "train_step", "train_step",
     "ms"),
)


def _value(run: dict, key: str | None) -> float:
    """A process's figure in seconds: its median of ``key``, or its start-to-ready time."""
    return run["process_start_to_ready_s"] if key is None else run[key]["median_ms"] / 1000.0


def _fmt(seconds: float, unit: str) -> str:
    if unit == "s":
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    ms = seconds * 1000.0
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms"


def markdown(results: dict) -> str:
    """One row per path: the median over processes of each process's median (its range
    after it), Magenta's over ours, the pairs, and the load before every process."""
    import statistics

    lines = ["| path | latentjam: median of processes (range) | Magenta: median of processes "
             "(range) | Magenta / ours | pairs | load (1 min) before each process, "
             "Magenta; ours |",
             "| --- | --- | --- | --- | --- | --- |"]
    for label, name, m_key, o_key, unit in MARKDOWN_ROWS:
        entry = results.get(name)
        if not entry or isinstance(entry["ours"], str) or not entry["magenta"]:
            continue
        m = [_value(r, m_key) for r in entry["magenta"]]
        o = [_value(r, o_key) for r in entry["ours"]]
        mm, om = statistics.median(m), statistics.median(o)
        loads = "; ".join(", ".join(f"{r['load_before']['loadavg_1m']:.2f}" for r in entry[side])
                          for side in ("magenta", "ours"))
        lines.append(f"| {label} | {_fmt(om, unit)} ({_fmt(min(o), unit)}–{_fmt(max(o), unit)}) "
                     f"| {_fmt(mm, unit)} ({_fmt(min(m), unit)}–{_fmt(max(m), unit)}) "
                     f"| {mm / om:.2f}× | {min(len(m), len(o))} | {loads} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--magenta-python", type=Path, default=DEFAULT_MAGENTA_PYTHON)
    parser.add_argument("--ckpt", type=Path, default=DEFAULT_CKPT)
    parser.add_argument("--trio-ckpt", type=Path, default=DEFAULT_TRIO_CKPT)
    parser.add_argument("--examples", type=Path, default=DEFAULT_EXAMPLES)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_ROOT / "side-by-side")
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        help=f"comma-separated subset of {', '.join(MEASUREMENTS)}")
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternating Magenta/ours process pairs per measurement")
    parser.add_argument("--heavy-rounds", type=int, default=1, help="... for trio and train")
    parser.add_argument("--runs", type=int, default=200, help="timed calls per process")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trio-runs", type=int, default=3)
    parser.add_argument("--train-steps", type=int, default=30, help="Magenta's run")
    parser.add_argument("--train-warmup", type=int, default=5, help="Magenta steps not timed")
    parser.add_argument("--train-batch", type=int, default=64)
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="OPENBLAS_NUM_THREADS for our inference workers (default: "
                        "inherited)")
    parser.add_argument("--magenta-threads", type=int, default=None,
                        help="TensorFlow intra-/inter-op threads for Magenta's inference "
                        "workers (default: TensorFlow's own)")
    parser.add_argument("--render", type=Path, nargs="+", metavar="JSON",
                        help="print earlier reports (stdout of this script) as one Markdown "
                        "table and exit")
    parser.add_argument("--write-expect", type=Path, metavar="NPZ",
                        help="only write our greedy decodes of --ckpt (config --expect-config) "
                        "for magenta_load_check.py --expect-npz, then exit")
    parser.add_argument("--expect-config", default="cat-mel_2bar_small")
    parser.add_argument("--expect-count", type=int, default=6)
    parser.add_argument("--worker", choices=sorted(OUR_WORKERS), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        merged: dict = {}
        for path in args.render:
            merged.update(json.loads(path.read_text())["results"])
        print(markdown(merged))
        return 0
    if args.write_expect:
        print(json.dumps(write_expect(args)))
        return 0
    if args.worker:
        if args.worker == "trio":
            args.warmup = 1
        result = OUR_WORKERS[args.worker](args)
        result.update(worker=args.worker, peak_rss_mb=peak_rss_mb())
        emit(result)
        return 0
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(MEASUREMENTS))
    if unknown:
        sys.exit(f"unknown measurements {unknown}; choose from {MEASUREMENTS}")
    args.work_dir.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine(), "command": " ".join(sys.argv),
              "magenta_versions": magenta_versions(args.magenta_python),
              "our_blas_threads": args.blas_threads or os.environ.get("OPENBLAS_NUM_THREADS"),
              "magenta_threads": args.magenta_threads,
              "results": {}}
    for name in names:
        why_not = ours_runnable(name)
        entry = {"magenta": [], "ours": why_not or []}
        rounds = args.heavy_rounds if name in ("trio", "train") else args.rounds
        for index in range(rounds):
            order = ("magenta", "ours") if index % 2 == 0 else ("ours", "magenta")
            for side in order:
                if side == "ours" and why_not:
                    continue
                runner = run_magenta if side == "magenta" else run_ours
                entry[side].append(runner(name, args))
                last = entry[side][-1]
                print(f"{name} round {index} {side}: done in {last['wall_s']} s, load "
                      f"{last['load_before']['loadavg_1m']} -> "
                      f"{last['load_after']['loadavg_1m']}", file=sys.stderr, flush=True)
        if why_not:
            print(f"{name}, ours: {why_not}", file=sys.stderr)
        report["results"][name] = entry
    print_table(ratio_rows(report["results"]),
                ["measurement (ms unless said)", "Magenta best median/worst p99",
                 "ours best median/worst p99", "speedup", "RSS ours/Magenta"])
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
