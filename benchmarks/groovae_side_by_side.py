"""GrooVAE decode time, ours against Google's Magenta 2.1.4, on the same checkpoint.

    python benchmarks/groovae_side_by_side.py --magenta-python /tmp/magenta-ref/.venv/bin/python

Run it with the project's python. First (once) it has Magenta write a full-size
``groovae_2bar_humanize`` checkpoint with Magenta's own initialisers (``--work-dir``, a folder
named after the config so that ours settles the config from it, as it does for Magenta's
published ``groovae_2bar_humanize.tar``). Then each round runs two fresh processes,
Magenta's and ours, alternating which goes first, so that changing machine load hits both;
each loads the checkpoint and decodes one 2-bar window (32 steps x 27) at batch 1 from the
same z ``--repeats`` times after a warm-up: Magenta's ``decode_to_tensors`` (temperature
1e-6: greedy) and ``decode`` (NoteSequences too), ours ``MusicVAE.decode`` (rows) and
``TrainedModel.decode`` (NoteSequences). Prints JSON to stdout and a table to stderr, with
the 1-minute load average before and after each process.

``--train``: training steps instead, at the same batch (``--train-batch``) on both sides,
each in its own process, alternating: Magenta's ``music_vae_train`` (through
``train_patched.py``, a timestamp after every step) and ``latentjam train`` (a timestamp
after every step, its loss read back), ``--train-steps`` steps of which the first
``--train-warmup`` are not counted, on the GrooVAE fixture's drum files (``latentjam
convert``; the files whose pitches all lie in Magenta's training drum map, since Magenta's
converter stops at any other).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from magenta_harness import (  # noqa: E402
    DEFAULT_MAGENTA_PYTHON,
    DEFAULT_ROOT,
    TRAIN_PATCHED,
    emit,
    machine,
    peak_rss_mb,
    print_table,
    run_worker,
    summarize,
)

CONFIG = "groovae_2bar_humanize"
STEPS = 32  # 2 bars of 16 steps
SEED = 11


def z_vector(size: int):
    import numpy as np

    return np.random.default_rng(SEED).standard_normal((1, size)).astype(np.float32)


def make_checkpoint(folder: Path) -> None:
    """Magenta's inference graph of the full-size config, its own initialisers, saved."""
    import copy

    import tensorflow.compat.v1 as tf
    from magenta.models.music_vae import configs

    tf.disable_v2_behavior()
    config = copy.deepcopy(configs.CONFIG_MAP[CONFIG])
    config.hparams.batch_size = 1
    with tf.Graph().as_default():
        tf.set_random_seed(SEED)
        model = config.model
        model.build(config.hparams, config.data_converter.output_depth, is_training=False)
        depth = config.data_converter.input_depth
        model.sample(1, max_length=tf.placeholder(tf.int32, shape=()),
                     z=tf.placeholder(tf.float32, shape=[1, config.hparams.z_size]),
                     temperature=tf.placeholder(tf.float32, shape=()))
        model.encode(tf.placeholder(tf.float32, shape=[1, None, depth]),
                     tf.placeholder(tf.int32, shape=[1]),
                     tf.placeholder(tf.float32, shape=[1, None, 0]))
        tf.train.get_or_create_global_step()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            folder.mkdir(parents=True, exist_ok=True)
            tf.train.Saver(save_relative_paths=True).save(
                sess, str(folder / "model.ckpt"), global_step=0, write_meta_graph=False)


def magenta_worker(ckpt: Path, repeats: int) -> dict:
    t0 = time.perf_counter()
    from magenta.models.music_vae import TrainedModel, configs

    model = TrainedModel(configs.CONFIG_MAP[CONFIG], batch_size=1,
                         checkpoint_dir_or_path=str(ckpt))
    load_s = time.perf_counter() - t0
    z = z_vector(configs.CONFIG_MAP[CONFIG].hparams.z_size)
    timings: dict[str, list[float]] = {"decode_to_tensors": [], "decode": []}
    for name in timings:
        call = getattr(model, name)
        call(z, length=STEPS, temperature=1e-6)  # warm-up
        for _ in range(repeats):
            began = time.perf_counter()
            call(z, length=STEPS, temperature=1e-6)
            timings[name].append(time.perf_counter() - began)
    return {"side": "magenta", "load_s": round(load_s, 3), "peak_rss_mb": peak_rss_mb(),
            "timings": {k: summarize(v) for k, v in timings.items()},
            "raw": {k: v for k, v in timings.items()}}


def our_worker(ckpt: Path, repeats: int) -> dict:
    t0 = time.perf_counter()
    from latentjam.models.trained_model import TrainedModel

    model = TrainedModel.load(ckpt)
    assert model.config.name == CONFIG, model.config.name
    load_s = time.perf_counter() - t0
    z = z_vector(model.vae.z_size)
    calls = {"decode": lambda: model.vae.decode(z, length=STEPS),
             "decode_to_sequences": lambda: model.decode(z, length=STEPS)}
    timings: dict[str, list[float]] = {name: [] for name in calls}
    for name, call in calls.items():
        call()
        for _ in range(repeats):
            began = time.perf_counter()
            call()
            timings[name].append(time.perf_counter() - began)
    return {"side": "ours", "load_s": round(load_s, 3), "peak_rss_mb": peak_rss_mb(),
            "timings": {k: summarize(v) for k, v in timings.items()},
            "raw": {k: v for k, v in timings.items()}}


TRAIN_FILES = ("groove_00.mid", "groove_01.mid", "groove_02.mid")  # Roland pitches only


def _step_stats(step_ends: list[float], warmup: int, batch: int, started: float) -> dict:
    if len(step_ends) <= warmup + 1:
        raise RuntimeError(f"only {len(step_ends)} steps were timed")
    timed = step_ends[warmup:]
    stats = summarize([b - a for a, b in zip(timed, timed[1:], strict=False)])
    return {"batch": batch, "steps": len(step_ends), "warmup_steps_excluded": warmup,
            "start_to_first_step_s": round(step_ends[0] - started, 2),
            "train_step": stats, "peak_rss_mb": peak_rss_mb(),
            "examples_per_s": round(batch * 1000.0 / stats["median_ms"], 1)}


def magenta_train(examples: Path, run_dir: Path, steps: int, warmup: int, batch: int) -> dict:
    import runpy
    import shutil

    import tensorflow.compat.v1 as tf

    step_ends: list[float] = []

    class StepClockHook(tf.train.LoggingTensorHook):
        def after_run(self, run_context, run_values):
            step_ends.append(time.perf_counter())
            super().after_run(run_context, run_values)

    tf.train.LoggingTensorHook = StepClockHook
    shutil.rmtree(run_dir, ignore_errors=True)
    sys.argv = [str(TRAIN_PATCHED), f"--config={CONFIG}", f"--run_dir={run_dir}",
                "--mode=train", f"--examples_path={examples}", f"--num_steps={steps}",
                f"--hparams=batch_size={batch}", "--log=WARN"]
    started = time.perf_counter()
    try:
        runpy.run_path(str(TRAIN_PATCHED), run_name="__main__")
    except SystemExit as done:  # absl's app.run ends with sys.exit
        if done.code not in (None, 0):
            raise
    return dict(_step_stats(step_ends, warmup, batch, started), side="magenta")


def our_train(examples: Path, run_dir: Path, steps: int, warmup: int, batch: int) -> dict:
    import shutil

    from latentjam.app.cli import main as cli_main
    from latentjam.models.training import train as train_module

    step_ends: list[float] = []

    class ClockedSteps(train_module.Steps):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            compiled = self.train

            def train(*args, **kwargs):
                out = compiled(*args, **kwargs)
                float(out["loss"])  # the step has run once its loss is read back
                step_ends.append(time.perf_counter())
                return out

            self.train = train

    train_module.Steps = ClockedSteps
    shutil.rmtree(run_dir, ignore_errors=True)
    started = time.perf_counter()
    code = cli_main(["train", "--config", CONFIG, "--examples", str(examples), "--run-dir",
                     str(run_dir), "--num-steps", str(steps), "--batch-size", str(batch),
                     "--eval-fraction", "0"])
    if code != 0:
        raise RuntimeError(f"latentjam train failed (exit {code})")
    return dict(_step_stats(step_ends, warmup, batch, started), side="ours")


def drive_train(args: argparse.Namespace) -> None:
    import shutil
    import subprocess
    import tempfile

    fixture = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "magenta" / \
        "groovae_2bar_humanize_tiny" / "inputs"
    args.work_dir.mkdir(parents=True, exist_ok=True)
    examples = args.work_dir / "drums.tfrecord"
    with tempfile.TemporaryDirectory() as folder:
        for name in TRAIN_FILES:
            shutil.copy(fixture / name, folder)
        subprocess.run([sys.executable, "-m", "latentjam", "convert", folder, str(examples)],
                       check=True, capture_output=True)
    common = ["--examples", str(examples), "--train-steps", str(args.train_steps),
              "--train-warmup", str(args.train_warmup), "--train-batch", str(args.train_batch)]
    ours_cmd = [sys.executable, __file__, "--worker", "ours-train", "--ckpt",
                str(args.work_dir / "ours-train-run"), *common]
    magenta_cmd = [str(args.magenta_python), __file__, "--worker", "magenta-train", "--ckpt",
                   str(args.work_dir / "magenta-train-run"), *common]
    rounds = []
    for index in range(args.rounds):
        order = [ours_cmd, magenta_cmd] if index % 2 else [magenta_cmd, ours_cmd]
        rounds.append([run_worker(cmd, env={"TF_USE_LEGACY_KERAS": "1"}) for cmd in order])
    print(json.dumps({"machine": machine(), "config": CONFIG, "rounds": rounds}, indent=1))
    rows = [(r["side"], r["batch"], f"{r['train_step']['median_ms']:.0f}",
             f"{r['train_step']['p99_ms']:.0f}", r["load_before"]["loadavg_1m"],
             r["load_after"]["loadavg_1m"], r["peak_rss_mb"])
            for results in rounds for r in results]
    print_table(rows, ("side", "batch", "step median ms", "p99 ms", "load before", "after",
                       "peak RSS MB"))


def drive(args: argparse.Namespace) -> None:
    ckpt = args.work_dir / CONFIG
    if not (ckpt / "checkpoint").is_file():
        run_worker([str(args.magenta_python), __file__, "--make-ckpt", str(ckpt)],
                   env={"TF_USE_LEGACY_KERAS": "1"})
    ours_cmd = [sys.executable, __file__, "--worker", "ours", "--ckpt", str(ckpt),
                "--repeats", str(args.repeats)]
    magenta_cmd = [str(args.magenta_python), __file__, "--worker", "magenta", "--ckpt",
                   str(ckpt), "--repeats", str(args.repeats)]
    env = {"TF_USE_LEGACY_KERAS": "1", "OPENBLAS_NUM_THREADS": "1"}
    rounds = []
    for index in range(args.rounds):
        order = [ours_cmd, magenta_cmd] if index % 2 else [magenta_cmd, ours_cmd]
        rounds.append([run_worker(cmd, env=env) for cmd in order])
    pooled: dict[tuple[str, str], list[float]] = {}
    loads = []
    for results in rounds:
        for result in results:
            for name, values in result["raw"].items():
                pooled.setdefault((result["side"], name), []).extend(values)
            loads.append(result["load_before"]["loadavg_1m"])
            loads.append(result["load_after"]["loadavg_1m"])
    table = {f"{side}:{name}": summarize(values) for (side, name), values in pooled.items()}
    for results in rounds:
        for result in results:
            result.pop("raw")
    report = {"machine": machine(), "config": CONFIG, "steps": STEPS, "batch": 1,
              "rounds": rounds, "pooled": table,
              "loadavg_1m": {"min": min(loads), "median": statistics.median(loads),
                             "max": max(loads)}}
    print(json.dumps(report, indent=1))
    rows = [(key, f"{v['median_ms']:.2f}", f"{v['p99_ms']:.2f}", v["n"])
            for key, v in sorted(table.items())]
    print_table(rows, ("side:call", "median ms", "p99 ms", "n"))
    speedup = table["magenta:decode_to_tensors"]["median_ms"] / table["ours:decode"]["median_ms"]
    print(f"speedup (Magenta's decode_to_tensors median over ours): {speedup:.1f}x; load "
          f"average {report['loadavg_1m']}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--magenta-python", type=Path, default=DEFAULT_MAGENTA_PYTHON)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_ROOT / "groovae")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--worker", choices=("magenta", "ours", "magenta-train", "ours-train"))
    parser.add_argument("--ckpt", type=Path)
    parser.add_argument("--make-ckpt", type=Path)
    parser.add_argument("--train", action="store_true", help="time training steps instead")
    parser.add_argument("--train-steps", type=int, default=30)
    parser.add_argument("--train-warmup", type=int, default=5)
    parser.add_argument("--train-batch", type=int, default=64)
    parser.add_argument("--examples", type=Path)
    args = parser.parse_args()
    train_args = (args.examples, args.ckpt, args.train_steps, args.train_warmup,
                  args.train_batch)
    if args.worker == "magenta-train":
        emit(magenta_train(*train_args))
    elif args.worker == "ours-train":
        emit(our_train(*train_args))
    elif args.train:
        drive_train(args)
    elif args.make_ckpt:
        make_checkpoint(args.make_ckpt)
        emit({"made": str(args.make_ckpt)})
    elif args.worker == "magenta":
        emit(magenta_worker(args.ckpt, args.repeats))
    elif args.worker == "ours":
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        emit(our_worker(args.ckpt, args.repeats))
    else:
        drive(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
