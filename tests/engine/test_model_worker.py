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
    SettingError,
)
from latentjam.engine.model_requests import (
    DecodeRequest,
    EncodeRequest,
    InterpolateRequest,
    SampleRequest,
    WalkRequest,
    answer,
)
from latentjam.engine.model_worker import ModelClient
from latentjam.models.defaults import DEFAULT_MODEL, shipped_models
from latentjam.models.errors import InputError
from latentjam.models.inference.latent import slerp
from latentjam.models.trained_model import TrainedModel


@pytest.fixture(scope="module")
def model_source(request) -> str:
    """The default melody model when it is installed, else Magenta's fixture checkpoint."""
    if DEFAULT_MODEL in shipped_models():
        return DEFAULT_MODEL
    fixtures = request.getfixturevalue("magenta_fixtures")
    return str(fixtures / "cat-mel_2bar_small" / "ckpt")


@pytest.fixture(scope="module")
def model(model_source) -> TrainedModel:
    return TrainedModel.load(model_source)


def same(a, b) -> bool:
    return np.array_equal(a.z, b.z) and np.array_equal(a.classes, b.classes)


# -- answers, in this process ------------------------------------------------------------------


def test_sample_is_the_models_own_sampling_for_a_seed(model):
    result = answer(model, SampleRequest(temperature=0.7, seed=5, count=2))
    z, classes = model.vae.sample(2, temperature=0.7, rng=np.random.default_rng(5))
    assert np.array_equal(result.z, z) and np.array_equal(result.classes, classes)
    assert result.classes.shape == (2, model.window_steps)
    assert not same(result, answer(model, SampleRequest(temperature=0.7, seed=6, count=2)))


def test_walk_steps_from_z_and_stays_inside_the_prior(model):
    z0 = np.random.default_rng(0).standard_normal(model.vae.z_size).astype(np.float32)
    still = answer(model, WalkRequest(z0, step_size=0.0, seed=1))
    assert np.array_equal(still.z[0], z0)
    assert np.array_equal(still.classes[0], model.vae.decode(z0))
    near = answer(model, WalkRequest(z0, step_size=0.1, seed=1, count=3))
    moves = np.linalg.norm(np.diff(np.vstack([z0, near.z]), axis=0), axis=1)
    assert np.all(moves < 0.25 * np.linalg.norm(z0))  # each step is a neighbour of the last
    far = answer(model, WalkRequest(z0, step_size=0.5, seed=2, count=64))
    assert 0.6 < far.z[-1].var() < 1.6  # no drift outwards: z keeps the prior's variance


def test_interpolate_lies_on_the_great_circle(model):
    rng = np.random.default_rng(3)
    a, b = (rng.standard_normal(model.vae.z_size).astype(np.float32) for _ in range(2))
    result = answer(model, InterpolateRequest(a, b, fractions=(0.0, 0.5, 1.0)))
    assert np.array_equal(result.z[0], a) and np.array_equal(result.z[2], b)
    np.testing.assert_allclose(result.z[1], slerp(a, b, 3)[1], rtol=1e-5, atol=1e-6)
    assert np.array_equal(result.classes, model.vae.decode(result.z))


def test_encode_gives_the_mean_and_decode_takes_a_batch(model):
    classes = answer(model, SampleRequest(seed=4)).classes[0]
    encoded = answer(model, EncodeRequest(classes))
    np.testing.assert_array_equal(encoded.z[0], model.encode_classes(classes))
    assert np.array_equal(encoded.classes[0], classes)
    decoded = answer(model, DecodeRequest(np.vstack([encoded.z, encoded.z])))
    assert decoded.classes.shape == (2, model.window_steps)


def test_a_z_of_the_wrong_size_is_refused_by_the_model(model):
    with pytest.raises(InputError, match="z must be"):
        answer(model, DecodeRequest(np.zeros(model.vae.z_size + 1)))


@pytest.mark.parametrize("make, field", [
    (lambda: SampleRequest(temperature=-1), "temperature"),
    (lambda: SampleRequest(seed=-1), "seed"),
    (lambda: SampleRequest(count=0), "count"),
    (lambda: WalkRequest(np.zeros(4), step_size=1.5), "step_size"),
    (lambda: WalkRequest(np.full(4, np.nan), step_size=0.1), "NaN"),
    (lambda: InterpolateRequest(np.zeros(4), np.zeros(5), (0.5,)), "differ"),
    (lambda: InterpolateRequest(np.zeros(4), np.ones(4), (1.5,)), "fraction"),
    (lambda: EncodeRequest(np.zeros(32)), "integers"),
    (lambda: DecodeRequest(np.zeros((2, 2, 4))), "z must be"),
])
def test_bad_requests_are_refused_where_they_are_made(make, field):
    with pytest.raises(SettingError, match=field):
        make()


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
