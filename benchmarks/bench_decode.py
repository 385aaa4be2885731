"""How fast the NumPy MusicVAE decodes and encodes; prints medians, p99s and peak memory.

    python benchmarks/bench_decode.py [--blas-threads N] [--quick]

Measures each shipped default model (one window at batch 1, argmax and at temperature 0.5,
and its encode), cat-mel_2bar_small (the fixture checkpoint when the Magenta fixtures are
there, else random weights of its shapes) at batch 1 and 32, and a full-size
hierdec-trio_16bar with random weights (speed does not depend on the values).
``--shipped-only`` stops after the shipped models. DESIGN §7's targets: one 2-bar
melody at batch 1 in at most 3 ms, one 16-bar trio in at most 1.5 s. Timings depend on
what else runs on the machine: take them on an idle one. ``--blas-threads`` sets
OpenBLAS's thread count (it must be set before NumPy loads).
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
                        help="time the shipped default models only")
    return parser.parse_args()


ARGS = _parse()
if ARGS.blas_threads is not None:
    os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.blas_threads)

import resource  # noqa: E402

import numpy as np  # noqa: E402
from latentjam.models.configs import get_config  # noqa: E402
from latentjam.models.defaults import shipped_models  # noqa: E402
from latentjam.models.inference.musicvae import MusicVAE  # noqa: E402
from latentjam.models.trained_model import TrainedModel  # noqa: E402
from latentjam.models.variables import expected_shapes  # noqa: E402

FIXTURES = Path(os.environ.get(
    "LATENTJAM_FIXTURES", Path(__file__).resolve().parents[2] / "shared/fixtures/magenta"))


def timed(label: str, action, repeats: int, warmup: int = 3, budget_s: float = 8.0) -> None:
    """Median and p99 wall time of ``repeats`` calls (fewer if ``budget_s`` runs out), and
    the median CPU time of this process per call: with one BLAS thread, about what the wall
    time would be on an idle machine when other programs share the CPU."""
    for _ in range(warmup):
        action()
    wall, cpu = [], []
    deadline = time.perf_counter() + budget_s
    while len(wall) < repeats and (len(wall) < 3 or time.perf_counter() < deadline):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    ms = np.array(wall) * 1e3
    print(f"  {label:<40} median {np.median(ms):8.2f} ms  p99 {np.percentile(ms, 99):8.2f} ms"
          f"  min {ms.min():8.2f} ms  cpu {np.median(cpu) * 1e3:8.2f} ms  ({len(wall)} runs)",
          flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def random_variables(config, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    variables = {}
    for name, shape in expected_shapes(config).items():
        scale = 1.0 / np.sqrt(shape[0]) if len(shape) == 2 else 0.1
        values = rng.standard_normal(shape, dtype=np.float32)
        values *= scale
        variables[name] = values
    return variables


def mel_model() -> tuple[MusicVAE, str]:
    config = get_config("cat-mel_2bar_small")
    prefix = FIXTURES / config.name / "ckpt" / "model.ckpt-0"
    try:
        from latentjam.models.checkpoints.tf_checkpoint import read_tf_checkpoint
        return MusicVAE(config, read_tf_checkpoint(prefix)), f"fixture checkpoint {prefix}"
    except (ImportError, OSError) as err:
        return MusicVAE(config, random_variables(config)), f"random weights ({err})"


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
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, {os.cpu_count()} CPUs")

    for name in shipped_models():
        time_shipped(name, rng, quick)
    if ARGS.shipped_only:
        print(f"peak RSS {peak_rss_mb():.0f} MB")
        return 0

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

    config = get_config("hierdec-trio_16bar")
    start = time.perf_counter()
    variables = random_variables(config)
    trio = MusicVAE(config, variables)
    del variables
    print(f"hierdec-trio_16bar (random weights, built in {time.perf_counter() - start:.1f} s)")
    z = rng.standard_normal((1, trio.z_size)).astype(np.float32)
    timed("decode 16 bars, batch 1, argmax", lambda: trio.decode(z), 3 if quick else 10, 1)
    timed("decode 2 bars, batch 1, argmax", lambda: trio.decode(z, length=32),
          5 if quick else 20, 1)
    trio_inputs = np.zeros((1, 256, config.input_depth), np.float32)
    trio_inputs[0, np.arange(256), rng.integers(0, config.input_depth, 256)] = 1.0
    timed("encode 16 bars, batch 1", lambda: trio.encode(trio_inputs), 2 if quick else 3, 0)
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
