"""Measurements that run inside the reference Magenta environment, one per process.

Usage (normally through ``magenta_reference.py`` or ``side_by_side.py``)::

    TF_USE_LEGACY_KERAS=1 /tmp/magenta-ref/.venv/bin/python benchmarks/magenta_workers.py \
        WORKER [options]

WORKER is one of ``startup``, ``first_midi``, ``decode``, ``sample``, ``encode``,
``batch32``, ``trio``, ``train``. ``--threads N`` sets TensorFlow's intra- and inter-op
thread pools to N (default: TensorFlow's own, one per core). Each prints one
``BENCH_RESULT {json}`` line (see magenta_harness.py) with its timings and the process's
peak RSS. Decodes use temperature 1e-6 (Magenta samples from
``logits / T`` and cannot take 0; at 1e-6 it is argmax in practice).
"""

from __future__ import annotations

import time

PROCESS_T0 = time.time()  # before any heavy import: the worker's own start

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from magenta_harness import (  # noqa: E402
    DEFAULT_CKPT,
    DEFAULT_EXAMPLES,
    DEFAULT_MELODY_MIDI,
    DEFAULT_ROOT,
    DEFAULT_TRIO_CKPT,
    TRAIN_PATCHED,
    emit,
    peak_rss_mb,
    summarize,
)

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # Magenta's RNN cells need Keras 2
NEAR_ZERO_TEMPERATURE = 1e-6
MEL_CONFIG = "cat-mel_2bar_small"


def set_threads(threads: int | None) -> None:
    """Limit TensorFlow to ``threads`` compute threads (the TF1 ``Session`` that
    ``TrainedModel`` builds takes the context's threading config when it is given none)."""
    if not threads:
        return
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def load_model(config_name: str, batch_size: int, ckpt: Path):
    """``(TrainedModel, seconds to build and restore it)``."""
    from magenta.models.music_vae import TrainedModel, configs

    start = time.perf_counter()
    model = TrainedModel(configs.CONFIG_MAP[config_name], batch_size=batch_size,
                         checkpoint_dir_or_path=str(ckpt))
    return model, time.perf_counter() - start


def latents(batch: int, z_size: int, seed: int):
    import numpy as np

    return np.random.RandomState(seed).randn(batch, z_size).astype(np.float32)


def time_alternating(calls: dict, runs: int, warmup: int) -> dict:
    """Run each named call ``warmup`` times, then ``runs`` rounds alternating between them;
    returns ``{name: summarize(durations)}``."""
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


def startup(args: argparse.Namespace) -> dict:
    import tensorflow  # noqa: F401  (timed on purpose)

    after_tf = time.time()
    from magenta.models.music_vae import TrainedModel, configs  # noqa: F401

    after_magenta = time.time()
    load_model(MEL_CONFIG, 1, args.ckpt)
    ready = time.time()
    return {"worker_t0": PROCESS_T0, "ready_at": ready,
            "import_tensorflow_s": round(after_tf - PROCESS_T0, 3),
            "import_music_vae_s": round(after_magenta - after_tf, 3),
            "trained_model_s": round(ready - after_magenta, 3)}


def first_midi(args: argparse.Namespace) -> dict:
    """Process start to the first MIDI file written: imports, ``TrainedModel``, one
    2-bar ``sample`` at temperature 0.5 and ``note_seq``'s MIDI writer."""
    import note_seq

    model, load_s = load_model(MEL_CONFIG, 1, args.ckpt)
    sequence = model.sample(n=1, length=32, temperature=0.5)[0]
    args.run_dir.mkdir(parents=True, exist_ok=True)
    path = args.run_dir / "first.mid"
    note_seq.sequence_proto_to_midi_file(sequence, str(path))
    written = time.time()
    if path.stat().st_size == 0:
        raise RuntimeError(f"{path} is empty")
    return {"worker_t0": PROCESS_T0, "ready_at": written, "load_s": round(load_s, 3),
            "midi": str(path), "notes": len(sequence.notes)}


def decode(args: argparse.Namespace) -> dict:
    model, load_s = load_model(MEL_CONFIG, 1, args.ckpt)
    z = latents(1, 256, args.seed)
    t = NEAR_ZERO_TEMPERATURE
    stats = time_alternating({
        "decode": lambda: model.decode(z, length=32, temperature=t),
        "decode_to_tensors": lambda: model.decode_to_tensors(z, length=32, temperature=t),
    }, args.runs, args.warmup)
    return {"load_s": round(load_s, 3), "batch": 1, "length": 32, **stats}


def sample(args: argparse.Namespace) -> dict:
    model, load_s = load_model(MEL_CONFIG, 4, args.ckpt)
    stats = time_alternating({
        "sample_n4": lambda: model.sample(n=4, length=32, temperature=0.5),
    }, args.runs, args.warmup)
    return {"load_s": round(load_s, 3), "batch": 4, "length": 32, "temperature": 0.5, **stats}


def encode(args: argparse.Namespace) -> dict:
    import note_seq
    import numpy as np

    model, load_s = load_model(MEL_CONFIG, 1, args.ckpt)
    sequence = note_seq.midi_file_to_note_sequence(str(args.melody_midi))
    tensors = model._config.data_converter.to_tensors(sequence)
    inputs, lengths = tensors.inputs[:1], np.array(tensors.lengths[:1])
    stats = time_alternating({
        "encode": lambda: model.encode([sequence]),
        "encode_tensors": lambda: model.encode_tensors(inputs, lengths),
    }, args.runs, args.warmup)
    return {"load_s": round(load_s, 3), "batch": 1, "midi": str(args.melody_midi), **stats}


def batch32(args: argparse.Namespace) -> dict:
    model, load_s = load_model(MEL_CONFIG, 32, args.ckpt)
    z = latents(32, 256, args.seed)
    t = NEAR_ZERO_TEMPERATURE
    stats = time_alternating({
        "decode_b32": lambda: model.decode(z, length=32, temperature=t),
        "decode_to_tensors_b32": lambda: model.decode_to_tensors(z, length=32, temperature=t),
    }, args.runs, args.warmup)
    for name in list(stats):
        stats[name]["melodies_per_s"] = round(32 / (stats[name]["median_ms"] / 1000.0), 1)
    return {"load_s": round(load_s, 3), "batch": 32, "length": 32, **stats}


def trio(args: argparse.Namespace) -> dict:
    model, load_s = load_model("hierdec-trio_16bar", 1, args.trio_ckpt)
    z = latents(1, 512, args.seed)
    t = NEAR_ZERO_TEMPERATURE
    stats = time_alternating({
        "trio_decode": lambda: model.decode(z, length=256, temperature=t),
        "trio_decode_to_tensors": lambda: model.decode_to_tensors(z, length=256, temperature=t),
    }, args.runs, args.warmup)
    return {"load_s": round(load_s, 3), "batch": 1, "length": 256, **stats}


def train(args: argparse.Namespace) -> dict:
    """music_vae_train through train_patched.py, with a timestamp taken after every step by
    a LoggingTensorHook subclass (Magenta already adds that hook; only its clock is ours)."""
    import runpy
    import shutil

    import tensorflow.compat.v1 as tf

    step_ends: list[float] = []

    class StepClockHook(tf.train.LoggingTensorHook):
        def after_run(self, run_context, run_values):
            step_ends.append(time.perf_counter())
            super().after_run(run_context, run_values)

    tf.train.LoggingTensorHook = StepClockHook
    if args.run_dir.exists():
        shutil.rmtree(args.run_dir)
    sys.argv = [str(TRAIN_PATCHED), f"--config={MEL_CONFIG}", f"--run_dir={args.run_dir}",
                "--mode=train", f"--examples_path={args.examples}",
                f"--num_steps={args.train_steps}", f"--hparams=batch_size={args.train_batch}",
                "--log=WARN"]
    started = time.perf_counter()
    try:
        runpy.run_path(str(TRAIN_PATCHED), run_name="__main__")
    except SystemExit as done:  # absl's app.run ends with sys.exit
        if done.code not in (None, 0):
            raise
    if len(step_ends) <= args.train_warmup + 1:
        raise RuntimeError(f"only {len(step_ends)} steps were timed")
    timed = step_ends[args.train_warmup:]
    steady = [b - a for a, b in zip(timed, timed[1:], strict=False)]
    stats = summarize(steady)
    return {"batch": args.train_batch, "steps": len(step_ends),
            "warmup_steps_excluded": args.train_warmup,
            "start_to_first_step_s": round(step_ends[0] - started, 2),
            "process_to_end_s": round(time.time() - PROCESS_T0, 2),
            "train_step": stats,
            "steps_per_s": round(1000.0 / stats["median_ms"], 3),
            "examples_per_s": round(args.train_batch * 1000.0 / stats["median_ms"], 1)}


WORKERS = {f.__name__: f for f in (startup, first_midi, decode, sample, encode, batch32, trio,
                                    train)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one Magenta measurement (see docstring)")
    parser.add_argument("worker", choices=sorted(WORKERS))
    parser.add_argument("--ckpt", type=Path, default=DEFAULT_CKPT)
    parser.add_argument("--trio-ckpt", type=Path, default=DEFAULT_TRIO_CKPT)
    parser.add_argument("--melody-midi", type=Path, default=DEFAULT_MELODY_MIDI)
    parser.add_argument("--examples", type=Path, default=DEFAULT_EXAMPLES)
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_ROOT / "magenta-train-run")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-steps", type=int, default=30)
    parser.add_argument("--train-warmup", type=int, default=5)
    parser.add_argument("--train-batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None,
                        help="TensorFlow intra- and inter-op threads (default: TF's own)")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    result = WORKERS[args.worker](args)
    result.update(worker=args.worker, peak_rss_mb=peak_rss_mb())
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
