"""The model worker: answers in-process (reproducible, as the model's own sampling), then a
real spawned worker: answers, a loop that keeps ticking, timeouts, a crash and restart,
a model that cannot load, shutdown without a trace."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time

import numpy as np
import pytest
from latentjam.engine.errors import (
    ModelCrashedError,
    ModelRequestError,
    ModelTimeoutError,
    ModelWorkerError,
)
from latentjam.engine.model_worker import ModelClient
from latentjam.models.service import (
    DecodeRequest,
    InterpolateRequest,
    SampleRequest,
    WalkRequest,
    answer,
)
from latentjam.models.trained_model import TrainedModel


@pytest.fixture(scope="module")
def model_source(melody_model_source) -> str:
    return melody_model_source


@pytest.fixture(scope="module")
def model(melody_model) -> TrainedModel:
    return melody_model


def same(a, b) -> bool:
    return np.array_equal(a.z, b.z) and np.array_equal(a.classes, b.classes)


# -- a real worker process ---------------------------------------------------------------------


async def tick(stop: asyncio.Event, lags: list[float]) -> None:
    """Sleeps of 1 ms, recording how late each wakes up: the loop's lag."""
    while not stop.is_set():
        began = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - began - 0.001)


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_worker_process_answers_reproducibly_while_the_loop_keeps_ticking(model_source,
                                                                              model):
    z0 = np.random.default_rng(9).standard_normal(model.vae.z_size).astype(np.float32)
    requests = [SampleRequest(temperature=0.5, seed=1), WalkRequest(z0, 0.2, seed=2, count=2),
                InterpolateRequest(z0, -z0[::-1], (0.25, 0.75), temperature=0.3, seed=3)]

    async def run():
        stop, lags = asyncio.Event(), []
        ticker = asyncio.create_task(tick(stop, lags))
        async with ModelClient(model_source, timeout_s=10) as client:
            pid = client.pid
            assert client.info.z_size == model.vae.z_size
            results = [await client.request(r) for r in requests * 2]
            with pytest.raises(ModelRequestError, match="z must be"):
                await client.request(DecodeRequest(np.zeros(3)))
            after_refusal = await client.request(requests[0])
        stop.set()
        await ticker
        return pid, results, after_refusal, max(lags)

    pid, results, after_refusal, max_lag = asyncio.run(run())
    expected = [answer(model, r) for r in requests]
    assert all(same(got, want) for got, want in zip(results, expected * 2, strict=True))
    assert same(after_refusal, expected[0])
    assert max_lag < 0.05  # a sanity bound only: figures are in benchmarks/
    assert process_gone(pid)


def test_a_late_answer_times_out_and_the_next_one_is_right(model_source, model, caplog):
    request = SampleRequest(seed=21)
    caplog.set_level(logging.DEBUG, logger="latentjam.engine.model_worker")

    async def run():
        async with ModelClient(model_source) as client:
            with pytest.raises(ModelTimeoutError, match="SampleRequest"):
                await client.request(SampleRequest(seed=20), timeout_s=0.0)
            return await client.request(request)

    assert same(asyncio.run(run()), answer(model, request))
    # The worker skipped the stale request instead of decoding it.
    assert any("dropped a late expired" in r.getMessage() for r in caplog.records)


def test_a_crashed_worker_fails_what_is_pending_and_restarts(model_source, model):
    request = SampleRequest(seed=30)

    async def run():
        async with ModelClient(model_source, timeout_s=10) as client:
            first = client.pid
            os.kill(first, signal.SIGSTOP)  # frozen: the request below stays pending
            pending = asyncio.create_task(client.request(request))
            await asyncio.sleep(0.05)
            os.kill(first, signal.SIGKILL)
            with pytest.raises(ModelCrashedError, match=f"pid {first}"):
                await pending
            again = await client.request(request)
            assert client.starts == 2 and client.pid != first
            return first, again

    first, again = asyncio.run(run())
    assert same(again, answer(model, request))
    assert process_gone(first)


def test_a_model_that_cannot_load_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-such-checkpoint"

    async def run():
        client = ModelClient(str(missing))
        try:
            await client.start()
        finally:
            await client.close()

    with pytest.raises(ModelWorkerError, match="no-such-checkpoint"):
        asyncio.run(run())
