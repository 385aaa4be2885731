"""The model worker seen from the engine's asyncio loop: start-up, round trips, loop lag.

    python benchmarks/bench_model_worker.py [--model NAME_OR_PATH] [--requests N] [--starts K]

Start-up: spawn to ready (a fresh process, its imports and the model's load), ``--starts``
times. Round trip: ``--requests`` requests for one 2-bar melody (a sample, and a walk step),
one after the other, timed from the ``await`` to the answer, beside the worker's own compute
time: the difference is what the process boundary costs. Loop lag: a task sleeps 1 ms over
and over and records how late it wakes, first with the loop idle, then while the requests
run: what the worker costs the clock's side. The model is the default melody model when it
is installed, else the Magenta fixture checkpoint (cat-mel_2bar_small). Prints the load
average seen: take figures on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

import numpy as np
from latentjam.engine.model_worker import ModelClient
from latentjam.models.defaults import DEFAULT_MODEL, shipped_models
from latentjam.models.service import SampleRequest, WalkRequest

FIXTURES = Path(os.environ.get(
    "LATENTJAM_FIXTURES", Path(__file__).resolve().parents[2] / "shared/fixtures/magenta"))


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = DEFAULT_MODEL if DEFAULT_MODEL in shipped_models() \
        else str(FIXTURES / "cat-mel_2bar_small" / "ckpt")
    parser.add_argument("--model", default=default, help=f"model (default: {default})")
    parser.add_argument("--config", default=None, help="config name or file (default: inferred)")
    parser.add_argument("--requests", type=int, default=300, help="requests of each kind")
    parser.add_argument("--starts", type=int, default=5, help="worker start-ups to time")
    return parser.parse_args()


def summary(label: str, seconds: list[float]) -> None:
    ms = np.array(seconds) * 1e3
    print(f"  {label:<38} median {np.median(ms):8.3f} ms  p99 {np.percentile(ms, 99):8.3f} ms"
          f"  max {ms.max():8.3f} ms  ({len(ms)})", flush=True)


async def ticker(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        began = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - began - 0.001)


async def idle_lag(seconds: float) -> list[float]:
    stop, lags = asyncio.Event(), []
    task = asyncio.create_task(ticker(stop, lags))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    return lags


async def startups(args: argparse.Namespace) -> None:
    spawn_to_ready, load = [], []
    for _ in range(args.starts):
        client = ModelClient(args.model, args.config)
        began = time.perf_counter()
        info = await client.start()
        spawn_to_ready.append(time.perf_counter() - began)
        load.append(info.load_s)
        await client.close()
    print(f"start-up ({info.config.name}, {info.source}):")
    summary("spawn to ready", spawn_to_ready)
    summary("  of which the worker's model load", load)


async def round_trips(args: argparse.Namespace) -> None:
    async with ModelClient(args.model, args.config, timeout_s=10) as client:
        z = np.zeros(client.info.z_size, np.float32)
        kinds = {"sample (2-bar melody, T=0.5)": lambda i: SampleRequest(0.5, seed=i),
                 "walk step (step 0.2, T=0)": lambda i: WalkRequest(z, 0.2, seed=i)}
        for _ in range(5):  # warm up both sides
            await client.request(SampleRequest(seed=0))
        baseline = await idle_lag(2.0)
        stop, lags = asyncio.Event(), []
        task = asyncio.create_task(ticker(stop, lags))
        print(f"round trips ({client.info.config.name}):")
        for label, make in kinds.items():
            trips, compute = [], []
            for i in range(args.requests):
                began = time.perf_counter()
                result = await client.request(make(i))
                trips.append(time.perf_counter() - began)
                compute.append(result.compute_s)
            summary(label + " round trip", trips)
            summary("  worker compute", compute)
            summary("  boundary (round trip - compute)",
                    [t - c for t, c in zip(trips, compute, strict=True)])
        stop.set()
        await task
    print("asyncio loop lag (1 ms sleeps, wake-up lateness):")
    summary("idle", baseline)
    summary("during requests", lags)


def main() -> None:
    args = _parse()
    print(f"load average at start: {os.getloadavg()}")
    asyncio.run(startups(args))
    asyncio.run(round_trips(args))
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
