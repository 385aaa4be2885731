"""Training step time of our TensorFlow MusicVAE: median and p99 per step, CPU time per step,
compile time and peak RSS, for cat-mel_2bar_small at batch 64 and the tiny trio.

    python benchmarks/bench_train.py [--steps N] [--no-xla] [--threads N]

Each config runs in its own process (so peak RSS is its own), on random class indices
through the converter's encoder inputs, with the same compiled step ``latentjam train``
uses. Prints one line per config and a JSON summary. Runs in under 3 minutes here; compare
with Magenta's ``music_vae_train`` at the same config and batch size
(``benchmarks/magenta_workers.py train``). Figures are noisy when other jobs share the
cores: the load average is printed with them, and CPU seconds per step are less affected.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

TINY_TRIO = {"z_size": 32, "enc_rnn_size": [64, 64], "dec_rnn_size": [64, 64]}  # the fixture's
CASES = {  # name: (base config, hyper-parameter overrides, batch size, timed steps)
    "cat-mel_2bar_small": ("cat-mel_2bar_small", {}, 64, 20),
    "hierdec-trio_16bar_tiny": ("hierdec-trio_16bar", TINY_TRIO, 64, 6),
}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(case: str, steps: int, jit: bool, threads: int | None) -> dict:
    """Time ``steps`` training steps of ``case`` in this process."""
    from latentjam.models.training.train import configure_threads

    configure_threads(threads)
    import numpy as np
    import tensorflow as tf
    from latentjam.models.configs import get_config, override_hparams
    from latentjam.models.training.dataset import ExampleSet, make_batch
    from latentjam.models.training.step import Adam, Steps
    from latentjam.models.training.tf_model import TrainableMusicVAE

    name, overrides, batch_size, default_steps = CASES[case]
    steps = steps or default_steps
    config = get_config(name)
    if overrides:
        config = override_hparams(config, overrides, name=case)
    model = TrainableMusicVAE(config, seed=0)
    step_fn = Steps(model, Adam(model.weights), jit_compile=jit)
    examples = ExampleSet([], config)
    rng = np.random.default_rng(0)
    length = config.hparams.max_seq_len

    def batch():
        classes = np.stack([rng.integers(0, d, (batch_size, length))
                            for d in (config.output_depths if config.is_hierarchical
                                      else (config.output_depth,))], -1)
        return make_batch(examples, classes, np.full(batch_size, length))

    def run(step: int) -> float:
        b = batch()
        out = step_fn.train(b.inputs, b.targets, b.lengths, tf.constant(step, tf.int64),
                            tf.constant([0, step], tf.int64), full_length=True)
        return float(out["loss"])

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    run(0)
    compile_s = time.perf_counter() - started
    walls, cpus = [], []
    for step in range(1, steps + 1):
        t0, c0 = time.perf_counter(), _cpu_seconds()
        run(step)
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu_seconds() - c0)
    walls_ms = np.array(walls) * 1000
    return {
        "config": case, "batch": batch_size, "xla": jit, "steps": steps,
        "first_step_s": round(compile_s, 1),
        "median_ms": round(float(np.median(walls_ms)), 1),
        "p99_ms": round(float(np.percentile(walls_ms, 99)), 1),
        "min_ms": round(float(walls_ms.min()), 1),
        "cpu_median_ms": round(float(np.median(cpus)) * 1000, 1),
        "examples_per_s": round(batch_size / float(np.median(walls)), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "loadavg_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=",".join(CASES),
                        help=f"comma-separated, from {', '.join(CASES)}")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps after the first (default 20 for the melody "
                             "model, 6 for the trio)")
    parser.add_argument("--no-xla", action="store_true", help="plain tf.function, no XLA")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = measure(args.worker, args.steps, not args.no_xla, args.threads)
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    results = []
    for case in args.configs.split(","):
        command = [sys.executable, __file__, "--worker", case]
        command += ["--steps", str(args.steps)] if args.steps else []
        command += ["--no-xla"] if args.no_xla else []
        command += ["--threads", str(args.threads)] if args.threads else []
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
        if done.returncode or not lines:
            print(f"{case}: failed\n{done.stderr[-3000:]}", file=sys.stderr)
            return 1
        result = json.loads(lines[-1][len("RESULT "):])
        results.append(result)
        print(f"{case} batch {result['batch']} ({'XLA' if result['xla'] else 'no XLA'}): "
              f"median {result['median_ms']} ms, p99 {result['p99_ms']} ms, "
              f"CPU {result['cpu_median_ms']} ms/step, first step {result['first_step_s']} s, "
              f"peak RSS {result['peak_rss_mb']} MB, load {result['loadavg_before_after']}")
    print(json.dumps({"cores": os.cpu_count(), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
