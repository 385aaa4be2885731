"""MusicVAE's API on small random-weight models: shapes, sampling, lengths, slerp, errors."""

from __future__ import annotations

import numpy as np
import pytest
from latentjam.models.configs import get_config, override_hparams
from latentjam.models.errors import CheckpointError, InputError
from latentjam.models.inference import decoder
from latentjam.models.inference.latent import slerp
from latentjam.models.inference.musicvae import MusicVAE
from latentjam.models.variables import expected_shapes

SMALL = {"z_size": 8, "enc_rnn_size": [12], "dec_rnn_size": [16, 16]}


def random_model(name: str, overrides: dict = SMALL, seed: int = 0) -> MusicVAE:
    config = override_hparams(get_config(name), overrides, name=f"{name}_small")
    rng = np.random.default_rng(seed)
    variables = {key: rng.uniform(-1.0, 1.0, shape).astype(np.float32)
                 for key, shape in expected_shapes(config).items()}
    return MusicVAE(config, variables)


@pytest.fixture(scope="module")
def mel() -> MusicVAE:
    return random_model("cat-mel_2bar_small")


@pytest.fixture(scope="module")
def trio() -> MusicVAE:
    return random_model("hierdec-trio_16bar", {**SMALL, "enc_rnn_size": [12, 10]})


def test_shapes_and_dtypes(mel: MusicVAE, trio: MusicVAE) -> None:
    z = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    assert mel.decode(z).shape == (3, 32) and mel.decode(z).dtype == np.int64
    assert mel.decode(z[0]).shape == (32,)
    assert mel.decode(z, length=7).shape == (3, 7)
    classes = trio.decode(z)
    assert classes.shape == (3, 256, 3)
    assert classes[..., :2].max() < 90 and classes[..., 2].max() < 512
    assert trio.decode_logits(z, classes).shape == (3, 256, 692)
    inputs = np.zeros((2, 256, 692), np.float32)
    outputs = trio.encode(inputs)
    assert [a.shape for a in outputs] == [(2, 8)] * 3
    assert np.all(outputs[2] > 0)  # sigma through softplus


def test_shorter_trio_decodes_the_first_bars(trio: MusicVAE) -> None:
    z = np.random.default_rng(2).standard_normal((2, 8)).astype(np.float32)
    full = trio.decode(z)
    for bars in (1, 2, 4, 8):
        np.testing.assert_array_equal(trio.decode(z, length=16 * bars), full[:, :16 * bars])


def _count_rows(monkeypatch: pytest.MonkeyPatch, cost=None) -> list[int]:
    """Rows of every ``_run_rows`` pass from now on; with ``cost(rows)``, a fake clock that
    each pass advances by that much."""
    rows_run = []
    run_rows = decoder.CategoricalDecoder._run_rows
    now = [0.0]

    def counting(self, prepared, segment_ids, *args):
        rows_run.append(len(segment_ids))
        if cost is not None:
            now[0] += cost(len(segment_ids))
        return run_rows(self, prepared, segment_ids, *args)

    monkeypatch.setattr(decoder.CategoricalDecoder, "_run_rows", counting)
    if cost is not None:
        monkeypatch.setattr(decoder, "_clock", lambda: now[0])
    return rows_run


def _fresh(monkeypatch: pytest.MonkeyPatch, model: MusicVAE) -> None:
    """Forget what earlier decodes taught the model's decoders about speculating."""
    for part in model._decoders:
        for name, value in (("plain_runs_left", 0), ("saving", 0.0), ("segment_s", {}),
                            ("retry_after", decoder.RETRY_AFTER)):
            monkeypatch.setattr(part, name, value)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
@pytest.mark.parametrize("batching", ["free", "none"])
def test_bars_side_by_side_equal_bars_one_after_another(trio: MusicVAE, temperature: float,
                                                        batching: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """At batch 1 the trio's bars run side by side from guessed starts, and those whose
    start was wrong again, side by side or one at a time as the passes' timings advise; the
    result must be exactly the bar-by-bar decode with the same noise."""
    _fresh(monkeypatch, trio)
    cost = (lambda rows: 1.0) if batching == "free" else (lambda rows: float(rows))
    rows_run = _count_rows(monkeypatch, cost)
    z = np.random.default_rng(10).standard_normal(8).astype(np.float32)
    monkeypatch.setattr(decoder, "SPECULATE_MAX_BATCH", 0)
    one_after_another = trio.decode(z, temperature=temperature, rng=np.random.default_rng(11))
    assert set(rows_run) == {1}
    monkeypatch.setattr(decoder, "SPECULATE_MAX_BATCH", 2)
    for part in trio._decoders:  # what one bar's pass costs, as a plain decode times it
        part.segment_s[1] = 1.0
    rows_run.clear()
    side_by_side = trio.decode(z, temperature=temperature, rng=np.random.default_rng(11))
    assert rows_run[0] == 16  # the first round: every bar at once
    assert len(rows_run) > 3  # some guessed starts were wrong and re-run
    again = [rows for rows in rows_run if rows != 16]
    if batching == "none":  # nothing to gain side by side: each wrong bar alone
        assert set(again) == {1}
    else:  # rounds side by side pay
        assert max(again) > 1
    np.testing.assert_array_equal(side_by_side, one_after_another)


def test_speculation_that_does_not_pay_pauses(trio: MusicVAE,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A decoder whose speculation cost more than it saved decodes bar by bar for the next
    RETRY_AFTER decodes, then guesses again (and waits twice as long if that fails too);
    one whose guesses pay goes on guessing."""
    monkeypatch.setattr(decoder, "RETRY_AFTER", 2)
    _fresh(monkeypatch, trio)
    melody = trio._decoders[0]
    z = np.random.default_rng(12).standard_normal((1, 8)).astype(np.float32)
    embeddings = trio._conductor.embeddings(z, 16)
    monkeypatch.setattr(decoder, "SPECULATE_MAX_BATCH", 0)
    expected, _ = melody.run(embeddings, 16)  # bar after bar
    monkeypatch.setattr(decoder, "SPECULATE_MAX_BATCH", 2)
    ends = expected[0, 15:-1:16]  # each bar's last class: the true start of the next
    wrong = min(set(range(melody.depth)) - set(ends.tolist()))
    monkeypatch.setattr(decoder, "GUESSED_START", wrong)
    rows_run = _count_rows(monkeypatch, float)  # side by side gains nothing
    np.testing.assert_array_equal(melody.run(embeddings, 16)[0], expected)
    assert rows_run[0] == 16 and melody.saving < 0
    for retry in (2, 4):
        assert melody.plain_runs_left == retry
        for left in range(retry - 1, -1, -1):
            rows_run.clear()
            np.testing.assert_array_equal(melody.run(embeddings, 16)[0], expected)
            assert rows_run == [1] * 16 and melody.plain_runs_left == left
            assert melody.segment_s == {1: 1.0}  # plain decodes time their passes
        rows_run.clear()
        np.testing.assert_array_equal(melody.run(embeddings, 16)[0], expected)
        assert rows_run[0] == 16  # guessing again, and failing again
    monkeypatch.setattr(decoder, "GUESSED_START", ends[:, None])  # every guess right
    rows_run = _count_rows(monkeypatch, lambda rows: 1.0 + rows / 16)  # side by side pays
    _fresh(monkeypatch, trio)
    for _ in range(8):
        rows_run.clear()
        np.testing.assert_array_equal(melody.run(embeddings, 16)[0], expected)
        assert rows_run == [16]
    assert melody.saving > 0 and melody.plain_runs_left == 0
    assert melody.retry_after == decoder.RETRY_AFTER


def test_teacher_forcing_on_the_greedy_path_reproduces_it(mel: MusicVAE, trio: MusicVAE) -> None:
    z = np.random.default_rng(3).standard_normal((2, 8)).astype(np.float32)
    for model in (mel, trio):
        classes = model.decode(z)
        logits = model.decode_logits(z, classes)
        offset = 0
        for part, depth in enumerate(model.config.output_depths):
            chosen = logits[..., offset:offset + depth].argmax(axis=-1)
            np.testing.assert_array_equal(chosen, classes if classes.ndim == 2
                                          else classes[..., part])
            offset += depth


def test_sampling_follows_softmax_over_temperature(mel: MusicVAE) -> None:
    """Step 0 does not depend on earlier choices: its sampled classes must follow
    softmax(logits / T) of the first step's logits."""
    z = np.tile(np.random.default_rng(4).standard_normal(8).astype(np.float32), (4000, 1))
    first = mel.decode_logits(z[:1], np.zeros((1, 1), np.int64))[0, 0].astype(np.float64)
    for temperature in (0.5, 2.0):
        draws = mel.decode(z, length=1, temperature=temperature,
                           rng=np.random.default_rng(5))[:, 0]
        p = np.exp((first - first.max()) / temperature)
        p /= p.sum()
        frequencies = np.bincount(draws, minlength=p.size) / draws.size
        assert np.abs(frequencies - p).max() < 0.03
    assert len(np.unique(mel.decode(z[:50], temperature=2.0, rng=np.random.default_rng(6)),
                         axis=0)) > 1


def test_sampling_is_reproducible_and_tiny_temperature_is_argmax(mel: MusicVAE,
                                                                 trio: MusicVAE) -> None:
    for model in (mel, trio):
        z1, c1 = model.sample(3, temperature=0.8, rng=np.random.default_rng(7))
        z2, c2 = model.sample(3, temperature=0.8, rng=np.random.default_rng(7))
        np.testing.assert_array_equal(z1, z2)
        np.testing.assert_array_equal(c1, c2)
        assert z1.shape == (3, 8) and z1.dtype == np.float32
        np.testing.assert_array_equal(model.decode(z1, temperature=1e-7,
                                                   rng=np.random.default_rng(8)),
                                      model.decode(z1))


def test_slerp_ends_and_great_circle() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal(16).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    path = slerp(a, b, 5)
    assert path.shape == (5, 16) and path.dtype == np.float32
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)
    # Unit vectors stay on the unit sphere, evenly spaced in angle.
    ua, ub = a / np.linalg.norm(a), b / np.linalg.norm(b)
    unit_path = slerp(ua, ub, 7).astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(unit_path, axis=1), 1.0, atol=1e-6)
    angles = np.arccos(np.clip(np.sum(unit_path[1:] * unit_path[:-1], axis=1), -1, 1))
    np.testing.assert_allclose(angles, angles[0], atol=1e-5)
    assert slerp(a, b, 1).shape == (1, 16)
    np.testing.assert_array_equal(slerp(a, b, 1)[0], a)
    batched = slerp(np.stack([a, ua]), np.stack([b, ub]), 4)
    assert batched.shape == (4, 2, 16)
    np.testing.assert_allclose(batched[:, 0], slerp(a, b, 4), atol=1e-6)


def test_slerp_degenerate_directions_interpolate_linearly() -> None:
    a = np.arange(1, 5, dtype=np.float32)
    for b in (2 * a, -a, np.zeros(4, np.float32), a.copy()):
        path = slerp(a, b, 3)
        assert np.all(np.isfinite(path))
        np.testing.assert_allclose(path[1], (a + b) / 2, atol=1e-6)
        np.testing.assert_array_equal(path[-1], b)


def test_interpolate_checks_z(mel: MusicVAE) -> None:
    a, b = np.zeros(8, np.float32), np.ones(8, np.float32)
    assert mel.interpolate(a, b, 3).shape == (3, 8)
    with pytest.raises(InputError, match=r"\[batch, 8\].*\(9,\)"):
        mel.interpolate(a, np.ones(9), 3)


@pytest.mark.parametrize("z", [np.zeros(9), np.zeros((2, 7)), np.zeros((2, 2, 8)),
                               np.full(8, np.nan)])
def test_bad_z_is_an_input_error(mel: MusicVAE, z: np.ndarray) -> None:
    with pytest.raises(InputError, match="z"):
        mel.decode(z)


@pytest.mark.parametrize("temperature", [-0.1, float("nan"), float("inf"), "hot"])
def test_bad_temperature_is_an_input_error(mel: MusicVAE, temperature) -> None:
    with pytest.raises(InputError, match="temperature"):
        mel.decode(np.zeros(8), temperature=temperature)


@pytest.mark.parametrize("length", [0, -16, 24, 272, 16.0, True])
def test_bad_trio_length_is_an_input_error(trio: MusicVAE, length) -> None:
    with pytest.raises(InputError, match=f"length {length!r}"):
        trio.decode(np.zeros(8), length=length)


def test_other_input_errors(mel: MusicVAE, trio: MusicVAE) -> None:
    with pytest.raises(InputError, match="length 0"):
        mel.decode(np.zeros(8), length=0)
    with pytest.raises(InputError, match=r"\[batch, steps, 90\].*\(1, 32, 89\)"):
        mel.encode(np.zeros((1, 32, 89)))
    with pytest.raises(InputError, match="lengths"):
        mel.encode(np.zeros((2, 32, 90)), lengths=np.array([3, 33]))
    with pytest.raises(InputError, match="classes"):
        mel.decode_logits(np.zeros(8), np.full(32, 90))
    with pytest.raises(InputError, match="classes"):
        trio.decode_logits(np.zeros((1, 8)), np.zeros((1, 256), np.int64))
    with pytest.raises(InputError, match="classes"):
        trio.decode_logits(np.zeros(8), np.full((32, 3), 100))  # 100 is fine for drums only
    with pytest.raises(InputError, match="samples"):
        mel.sample(0)


def test_checkpoint_that_does_not_fit_is_refused() -> None:
    config = get_config("cat-mel_2bar_small")
    with pytest.raises(CheckpointError, match="missing"):
        MusicVAE(config, {})
