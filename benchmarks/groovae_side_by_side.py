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
    parser.add_argument("--worker", choices=("magenta", "ours"))
    parser.add_argument("--ckpt", type=Path)
    parser.add_argument("--make-ckpt", type=Path)
    args = parser.parse_args()
    if args.make_ckpt:
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
