"""How fast the NumPy MusicVAE decodes and encodes; prints medians, p99s and peak memory.

    python benchmarks/bench_decode.py [--blas-threads N] [--quick] [--only shipped,mel,trio]

Measures each shipped default model (one window at batch 1, argmax and at temperature 0.5,
and its encode), cat-mel_2bar_small (the fixture checkpoint when the Magenta fixtures are
there, else Magenta's initialisers) at batch 1 and 32, and a full-size hierdec-trio_16bar
with Magenta's own initialisers (``magenta_variables``: what ``magenta_make_data.py``'s
checkpoint holds, drawn in NumPy). Realistic weights matter: the batch-1 trio decode guesses
each bar's first class (``models/inference/decoder.py``), and how often it guesses right
depends on the values. ``--no-speculation`` turns those guesses off. ``--shipped-only`` is
``--only shipped``. DESIGN §7's targets: one 2-bar melody at batch 1 in at most 3 ms, one
16-bar trio in at most 1.5 s. Timings depend on what else runs on the machine: take them on
an idle one; the 1-minute load average is printed with every measurement.
``--blas-threads`` sets OpenBLAS's thread count (it must be set before NumPy loads).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="OpenBLAS threads (default: OpenBLAS's own choice)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--shipped-only", action="store_true",
                        help="time the shipped default models only (--only shipped)")
    parser.add_argument("--only", default="shipped,mel,trio",
                        help="comma-separated subset of shipped, mel, trio")
    parser.add_argument("--trio-runs", type=int, default=None,
                        help="timed 16-bar trio decodes (default 10, --quick 3)")
    parser.add_argument("--no-speculation", action="store_true",
                        help="decode a batch-1 trio bar after bar, never guessing a bar's start")
    args = parser.parse_args()
    if args.shipped_only:
        args.only = "shipped"
    return args


ARGS = _parse()
if ARGS.blas_threads is not None:
    os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.blas_threads)

import resource  # noqa: E402

import numpy as np  # noqa: E402
from latentjam.models.configs import get_config  # noqa: E402
from latentjam.models.defaults import shipped_models  # noqa: E402
from latentjam.models.inference import decoder  # noqa: E402
from latentjam.models.inference.musicvae import MusicVAE  # noqa: E402
from latentjam.models.trained_model import TrainedModel  # noqa: E402
from latentjam.models.variables import expected_shapes  # noqa: E402

FIXTURES = Path(os.environ.get(
    "LATENTJAM_FIXTURES", Path(__file__).resolve().parents[2] / "shared/fixtures/magenta"))


def timed(label: str, action, repeats: int, warmup: int = 3, budget_s: float = 8.0,
          show_warmup: bool = False) -> None:
    """Median and p99 wall time of ``repeats`` calls (fewer if ``budget_s`` runs out), and
    the median CPU time of this process per call: with one BLAS thread, about what the wall
    time would be on an idle machine when other programs share the CPU. The 1-minute load
    average is taken before and after."""
    load_before = os.getloadavg()[0]
    for _ in range(warmup):
        start = time.perf_counter()
        action()
        if show_warmup:
            print(f"  {label:<40} warm-up call {(time.perf_counter() - start) * 1e3:8.1f} ms",
                  flush=True)
    wall, cpu = [], []
    deadline = time.perf_counter() + budget_s
    while len(wall) < repeats and (len(wall) < 3 or time.perf_counter() < deadline):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    ms = np.array(wall) * 1e3
    print(f"  {label:<40} median {np.median(ms):8.2f} ms  p99 {np.percentile(ms, 99):8.2f} ms"
          f"  min {ms.min():8.2f} ms  cpu {np.median(cpu) * 1e3:8.2f} ms  ({len(wall)} runs,"
          f" load {load_before:.2f} -> {os.getloadavg()[0]:.2f})", flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def magenta_variables(config, seed: int = 2024) -> dict[str, np.ndarray]:
    """Weights drawn as Magenta's graph initialises them (``models/training/tf_model.py``'s
    ``initial_value``, repeated here so that this script needs no TensorFlow): biases zero;
    ``encoder/mu``, ``encoder/sigma`` and the ``*initial_state`` kernels N(0, 0.001²); every
    other kernel (the LSTM cells', ``output_projection``) Glorot-uniform over its own
    [rows, columns]."""
    rng = np.random.default_rng(seed)
    variables = {}
    for name, shape in expected_shapes(config).items():
        if name.endswith("/bias"):
            variables[name] = np.zeros(shape, np.float32)
        elif name.startswith(("encoder/mu/", "encoder/sigma/")) or "initial_state/" in name:
            values = rng.standard_normal(shape, dtype=np.float32)
            values *= np.float32(0.001)
            variables[name] = values
        else:
            limit = np.sqrt(6.0 / (shape[0] + shape[1]))
            variables[name] = rng.uniform(-limit, limit, shape).astype(np.float32)
    return variables


def mel_model() -> tuple[MusicVAE, str]:
    config = get_config("cat-mel_2bar_small")
    prefix = FIXTURES / config.name / "ckpt" / "model.ckpt-0"
    try:
        from latentjam.models.checkpoints.tf_checkpoint import read_tf_checkpoint
        return MusicVAE(config, read_tf_checkpoint(prefix)), f"fixture checkpoint {prefix}"
    except (ImportError, OSError) as err:
        return MusicVAE(config, magenta_variables(config)), \
            f"Magenta's initialisers in NumPy ({err})"


def time_shipped(name: str, rng: np.random.Generator, quick: bool) -> None:
    """One window of a shipped default at batch 1: decodes (argmax, T=0.5) and an encode."""
    model = TrainedModel.load(name)
    config, vae = model.config, model.vae
    bars = config.hparams.max_seq_len // 16
    print(f"shipped {name} ({bars} bars, {model.source})")
    z = rng.standard_normal((1, vae.z_size)).astype(np.float32)
    repeats = (20 if quick else 100) if bars <= 2 else (5 if quick else 30)
    timed(f"decode {bars} bars, batch 1, argmax", lambda: vae.decode(z), repeats)
    timed(f"decode {bars} bars, batch 1, temperature 0.5",
          lambda: vae.decode(z, temperature=0.5, rng=rng), repeats)
    window = np.zeros((1, config.hparams.max_seq_len, config.input_depth), np.float32)
    window[0, :, 0] = 1.0
    timed(f"encode {bars} bars, batch 1", lambda: vae.encode(window), repeats)


def main() -> int:
    quick = ARGS.quick
    parts = {part for part in ARGS.only.split(",") if part}
    unknown = parts - {"shipped", "mel", "trio"}
    if unknown:
        sys.exit(f"--only: unknown {sorted(unknown)}; choose from shipped, mel, trio")
    if ARGS.no_speculation:
        decoder.SPECULATE_MAX_BATCH = 0
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, {os.cpu_count()} CPUs, "
          f"speculation {'off' if ARGS.no_speculation else 'on'}, "
          f"load {os.getloadavg()[0]:.2f}, {time.strftime('%Y-%m-%d %H:%M %Z')}")

    if "shipped" in parts:
        for name in shipped_models():
            time_shipped(name, rng, quick)

    if "mel" in parts:
        mel, source = mel_model()
        print(f"cat-mel_2bar_small ({source})")
        z1 = rng.standard_normal((1, mel.z_size)).astype(np.float32)
        z32 = rng.standard_normal((32, mel.z_size)).astype(np.float32)
        inputs = np.eye(90, dtype=np.float32)[rng.integers(0, 90, (1, 32))]
        timed("decode 2 bars, batch 1, argmax", lambda: mel.decode(z1), 100 if quick else 500)
        timed("decode 2 bars, batch 1, temperature 0.5",
              lambda: mel.decode(z1, temperature=0.5, rng=rng), 100 if quick else 300)
        timed("decode 2 bars, batch 32, argmax", lambda: mel.decode(z32), 20 if quick else 100)
        timed("encode 2 bars, batch 1", lambda: mel.encode(inputs), 50 if quick else 200)
        print(f"  peak RSS so far {peak_rss_mb():.0f} MB")

    if "trio" in parts:
        config = get_config("hierdec-trio_16bar")
        start = time.perf_counter()
        variables = magenta_variables(config)
        trio = MusicVAE(config, variables)
        del variables
        print(f"hierdec-trio_16bar (Magenta's initialisers, seed 2024, built in "
              f"{time.perf_counter() - start:.1f} s)")
        z = np.random.RandomState(0).randn(1, trio.z_size).astype(np.float32)  # side_by_side's
        runs = ARGS.trio_runs or (3 if quick else 10)
        # The warm-up decode is where speculation is tried (and, on these weights, given up).
        timed("decode 16 bars, batch 1, argmax", lambda: trio.decode(z), runs, 1, budget_s=120,
              show_warmup=True)
        timed("decode 2 bars, batch 1, argmax", lambda: trio.decode(z, length=32),
              5 if quick else 20, 1)
        trio_inputs = np.zeros((1, 256, config.input_depth), np.float32)
        offsets = np.cumsum([0, *config.output_depths[:-1]])
        for part, depth in enumerate(config.output_depths):  # one one-hot per part and step
            trio_inputs[0, np.arange(256), offsets[part] + rng.integers(0, depth, 256)] = 1.0
        timed("encode 16 bars, batch 1", lambda: trio.encode(trio_inputs), 2 if quick else 3, 0)
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
