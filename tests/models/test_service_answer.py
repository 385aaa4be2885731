"""The model service's answers, in this process: reproducible for a seed, the model's own
sampling, walks and interpolations planned once, loops as notes on the step grid, encodes of
classes and of played-in loops, bad requests refused where they are made."""

from __future__ import annotations

import numpy as np
import pytest
from latentjam.models.errors import InputError
from latentjam.models.inference.latent import slerp, slerp_at, walk
from latentjam.models.service import (
    MELODY,
    BlendRequest,
    DecodeRequest,
    EncodeNotesRequest,
    EncodeRequest,
    InterpolateRequest,
    SampleRequest,
    StepLoop,
    StepNote,
    WalkRequest,
    answer,
)
from latentjam.models.service.answer import step_loop
from latentjam.models.trained_model import TrainedModel


@pytest.fixture(scope="module")
def model(melody_model) -> TrainedModel:
    return melody_model


def same(a, b) -> bool:
    return np.array_equal(a.z, b.z) and np.array_equal(a.classes, b.classes)


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
    with pytest.raises(InputError, match=field):
        make()


def test_a_sample_of_several_windows_walks_on_from_its_first(model):
    result = answer(model, SampleRequest(temperature=0.0, seed=7, count=3, walk_step=0.2))
    rng = np.random.default_rng(7)
    first = rng.standard_normal((1, model.vae.z_size)).astype(np.float32)
    np.testing.assert_array_equal(result.z, np.concatenate([first, walk(first[0], 0.2, 2, rng)]))


def test_an_interpolation_between_loops_pairs_their_windows(model):
    rng = np.random.default_rng(8)
    start, end = (rng.standard_normal((2, model.vae.z_size)).astype(np.float32)
                  for _ in range(2))
    result = answer(model, InterpolateRequest(start, end[:1], (0.25,), windows=3))
    expected = [slerp_at(start[i % 2], end[0], [0.25])[0] for i in range(3)]
    np.testing.assert_allclose(result.z, expected, atol=1e-6)


def test_each_window_comes_back_as_notes_on_the_step_grid(model):
    result = answer(model, SampleRequest(temperature=0.5, seed=9, count=2))
    assert len(result.loops) == 2
    for classes, loop in zip(result.classes, result.loops, strict=True):
        assert loop == step_loop(classes, model.converter)
        assert loop.steps == model.window_steps
        assert all(n.part == MELODY and 0 <= n.start_step < n.end_step <= loop.steps
                   for n in loop.notes)


def test_a_played_in_loop_encodes_as_its_classes_do(model):
    loop = answer(model, SampleRequest(temperature=0.0, seed=10)).loops[0]
    assert loop.notes, "the sample to play back has notes"
    by_notes = answer(model, EncodeNotesRequest(loop))
    by_classes = answer(model, EncodeRequest(by_notes.classes[0]))
    np.testing.assert_array_equal(by_notes.z, by_classes.z)
    assert step_loop(by_notes.classes[0], model.converter) == loop


def test_a_loop_with_no_window_in_it_is_refused_in_words(model):
    with pytest.raises(InputError, match="no .* window in it"):
        answer(model, EncodeNotesRequest(StepLoop((), 32)))
    with pytest.raises(InputError, match="each inside its steps"):
        EncodeNotesRequest(StepLoop((StepNote(MELODY, 60, 80, 30, 40),), 32))


def test_a_blend_at_a_corner_is_that_corner_and_between_them_their_bilinear_mix(model):
    rng = np.random.default_rng(11)
    corners = tuple(rng.standard_normal(model.vae.z_size).astype(np.float32) for _ in range(4))
    for index, point in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):
        result = answer(model, BlendRequest(corners, point))
        np.testing.assert_array_equal(result.z[0], corners[index])
    middle = answer(model, BlendRequest(corners, (0.25, 0.5))).z[0]
    expected = 0.375 * corners[0] + 0.125 * corners[1] + 0.375 * corners[2] \
        + 0.125 * corners[3]
    np.testing.assert_allclose(middle, expected, atol=1e-6)


def test_a_blend_of_longer_loops_pairs_their_windows(model):
    rng = np.random.default_rng(12)
    two = rng.standard_normal((2, model.vae.z_size)).astype(np.float32)
    one = rng.standard_normal(model.vae.z_size).astype(np.float32)
    result = answer(model, BlendRequest((two, one, one, one), (0.0, 0.0), windows=3))
    np.testing.assert_array_equal(result.z, two[[0, 1, 0]])
    assert len(result.loops) == 3


@pytest.mark.parametrize("make, field", [
    (lambda: BlendRequest((np.zeros(4),) * 3, (0, 0)), "four corners"),
    (lambda: BlendRequest((np.zeros(4),) * 3 + (np.zeros(5),), (0, 0)), "latent size"),
    (lambda: BlendRequest((np.zeros(4),) * 4, (0, 1.5)), "y must be"),
    (lambda: BlendRequest((np.zeros(4),) * 4, (0.5,)), "a blend point"),
])
def test_bad_blends_are_refused_where_they_are_made(make, field):
    with pytest.raises(InputError, match=field):
        make()
