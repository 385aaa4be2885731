"""The TensorFlow training model against the NumPy engine, and the objective's arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow", reason="TensorFlow (the 'train' extra) is not installed")

from latentjam.models.configs import get_config, override_hparams  # noqa: E402
from latentjam.models.errors import ConfigError  # noqa: E402
from latentjam.models.inference.musicvae import MusicVAE  # noqa: E402
from latentjam.models.training import objective  # noqa: E402
from latentjam.models.training.step import Adam  # noqa: E402
from latentjam.models.training.tf_lstm import lstm_cell, lstm_layer  # noqa: E402
from latentjam.models.training.tf_model import TrainableMusicVAE, initial_value  # noqa: E402
from latentjam.models.variables import expected_shapes  # noqa: E402

TINY = {"z_size": 8, "enc_rnn_size": [16], "dec_rnn_size": [16, 16]}


def tiny_configs():
    return [
        override_hparams(get_config("cat-mel_2bar_small"), TINY),
        override_hparams(get_config("cat-drums_2bar_small"), dict(TINY, enc_rnn_size=[16, 12])),
        override_hparams(get_config("hierdec-trio_16bar"), dict(TINY, enc_rnn_size=[16, 12])),
    ]


def random_values(config, seed):
    """Weights large enough that every part of the network matters."""
    rng = np.random.default_rng(seed)
    return {n: rng.uniform(-0.4, 0.4, s).astype(np.float32)
            for n, s in expected_shapes(config).items()}


@pytest.mark.parametrize("config", tiny_configs(), ids=lambda c: c.name)
def test_tf_model_matches_numpy_engine(config):
    values = random_values(config, 3)
    trainable = TrainableMusicVAE(config, values=values)
    engine = MusicVAE(config, values)
    rng = np.random.default_rng(4)
    steps = config.hparams.max_seq_len
    classes = np.stack([rng.integers(0, d, (3, steps)) for d in config.output_depths], -1)
    inputs = rng.random((3, steps, config.input_depth)).astype(np.float32)
    lengths = np.array([steps, steps - 5, 7])

    # Graphs, not eager ops: the time loops are tf.while_loops, slow when run eagerly.
    encode = tf.function(trainable.encode, autograph=False)
    decode_logits = tf.function(trainable.decode_logits, autograph=False)
    decode_argmax = tf.function(trainable.decode_argmax, autograph=False)
    mu, sigma = encode(inputs, lengths)
    _, mu_np, sigma_np = engine.encode(inputs, lengths)
    np.testing.assert_allclose(mu.numpy(), mu_np, atol=2e-6)
    np.testing.assert_allclose(sigma.numpy(), sigma_np, atol=2e-6)
    if trainable.one_hot_inputs:  # the same encoder with its inputs looked up by class
        one_hot = np.concatenate([np.eye(d, dtype=np.float32)[classes[..., p]]
                                  for p, d in enumerate(config.output_depths)], -1)
        if config.is_hierarchical:
            mu_np = engine.encode(one_hot, lengths)[1]
        else:
            mu_np = engine.encode(one_hot[..., :config.output_depth], lengths)[1]
        looked_up, _ = tf.function(trainable.encode, autograph=False)(None, lengths, classes)
        np.testing.assert_allclose(looked_up.numpy(), mu_np, atol=2e-6)

    forced = classes if config.is_hierarchical else classes[..., 0]
    logits = tf.concat(decode_logits(mu_np, classes), -1).numpy()
    np.testing.assert_allclose(logits, engine.decode_logits(mu_np, forced), atol=2e-6)

    greedy = decode_argmax(mu_np, steps).numpy()
    expected = engine.decode(mu_np, steps)
    np.testing.assert_array_equal(greedy, expected if config.is_hierarchical
                                  else expected[..., None])


def test_scheduled_sampling_feeds_back_the_drawn_classes():
    config = tiny_configs()[0]
    values = random_values(config, 5)
    trainable = TrainableMusicVAE(config, values=values)
    engine = MusicVAE(config, values)
    z = np.random.default_rng(6).standard_normal((4, 8)).astype(np.float32)
    targets = np.random.default_rng(7).integers(0, 90, (4, 32, 1))
    decode = tf.function(trainable.decode_logits, autograph=False)
    seed = tf.constant([3, 4], tf.int64)
    # probability 0: the true inputs; probability 1 with argmax: the greedy decode's own
    never = tf.concat(decode(z, targets, {"probability": tf.constant(0.0)}, seed), -1)
    np.testing.assert_allclose(never.numpy(), engine.decode_logits(z, targets[..., 0]),
                               atol=2e-6)
    greedy = engine.decode(z, 32)
    always = tf.concat(decode(z, targets, {"probability": 1.0, "argmax": True}, seed), -1)
    np.testing.assert_allclose(always.numpy(), engine.decode_logits(z, greedy), atol=2e-6)
    half = tf.concat(decode(z, targets, {"probability": tf.constant(0.5)}, seed), -1)
    assert not np.allclose(half.numpy(), never.numpy(), atol=1e-4)


@pytest.mark.parametrize("masked", [True, False])
def test_lstm_layer_gradient_matches_autodiff(masked):
    rng = np.random.default_rng(8)
    steps, k, n, u = 7, 2, 5, 4

    def const(*shape, scale=1.0):
        return tf.constant(rng.standard_normal(shape).astype(np.float32) * scale)

    args = [const(steps, k, n, 4 * u), const(k, u, 4 * u, scale=0.5), const(k, n, u),
            const(k, n, u)]
    lengths = np.array([7, 3, 0, 5, 1]) if masked else np.full(n, steps)
    mask = tf.constant((np.arange(steps)[:, None] < lengths).astype(np.float32)[:, None, :, None])
    weights = const(steps, k, n, u)

    def by_steps(projected, recurrent, h, c):
        outputs = []
        for t in range(steps):
            h_new, c_new = lstm_cell(projected[t] + tf.matmul(h, recurrent), c)
            outputs.append(h_new * mask[t])
            h, c = h + mask[t] * (h_new - h), c + mask[t] * (c_new - c)
        return tf.stack(outputs), h, c

    results = []
    for run in (lambda *a: lstm_layer(*a, mask=mask if masked else None), by_steps):
        with tf.GradientTape() as tape:
            tape.watch(args)
            out, h, c = run(*args)
            loss = tf.reduce_sum(out * weights) + tf.reduce_sum(0.3 * h) + tf.reduce_sum(c * c)
        results.append([loss, *tape.gradient(loss, args)])
    for ours, reference in zip(*results, strict=True):
        np.testing.assert_allclose(ours.numpy(), reference.numpy(), atol=1e-5)


def test_variables_have_magenta_names_and_initialisation():
    config = tiny_configs()[0]
    model = TrainableMusicVAE(config, seed=5)
    exported = model.export()
    shapes = expected_shapes(config)
    assert {n: v.shape for n, v in exported.items()} == shapes
    assert not np.any(exported["decoder/multi_rnn_cell/cell_0/lstm_cell/bias"])
    assert np.std(exported["encoder/mu/kernel"]) < 0.003  # Magenta's stddev 0.001
    kernel = exported["decoder/multi_rnn_cell/cell_1/lstm_cell/kernel"]
    limit = math.sqrt(6 / sum(kernel.shape))  # Glorot uniform
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.8 * limit
    rng = np.random.default_rng(0)
    assert initial_value("decoder/z_to_initial_state/kernel", (4, 4), rng).std() < 0.01


def test_unsupported_hyper_parameters_are_named():
    config = override_hparams(tiny_configs()[0], {"residual_decoder": True})
    with pytest.raises(ConfigError, match="residual_decoder"):
        TrainableMusicVAE(config)


def test_kl_free_bits_and_beta_by_hand():
    e = math.e
    kl = objective.kl_divergence(tf.constant([[1.0, 0.0]]), tf.constant([[1.0, e]])).numpy()
    assert kl[0] == pytest.approx(0.5 + (0.5 * (e * e - 1) - 1.0), rel=1e-6)

    hparams = override_hparams(get_config("cat-mel_2bar_small"),
                               {"free_bits": 2.0, "max_beta": 0.2, "beta_rate": 0.5}).hparams
    r_loss = tf.constant([2.0, 4.0])
    kl = tf.constant([10.0, 1.0])
    loss, beta = objective.model_loss(r_loss, kl, hparams, tf.constant(2))
    free = 2 * math.log(2)
    assert float(beta) == pytest.approx((1 - 0.5**2) * 0.2)
    assert float(loss) == pytest.approx(3.0 + 0.15 * ((10 - free) + 0.0) / 2, rel=1e-6)
    # step 0: beta is 0 whatever the rate
    assert float(objective.model_loss(r_loss, kl, hparams, tf.constant(0))[1]) == 0.0


def test_learning_rate_and_sampling_schedules():
    hparams = get_config("cat-mel_2bar_small").hparams
    lr = float(objective.learning_rate(hparams, tf.constant(10, tf.int64)))
    assert lr == pytest.approx((1e-3 - 1e-5) * 0.9999**10 + 1e-5, rel=1e-6)
    p = float(objective.sampling_probability(hparams, tf.constant(1000)))
    assert p == pytest.approx(1 - 1000 / (1000 + math.e), rel=1e-4)  # float32
    trio = get_config("hierdec-trio_16bar").hparams
    assert not objective.uses_sampling(trio) and objective.uses_sampling(hparams)
    bad = override_hparams(get_config("cat-mel_2bar_small"), {"sampling_rate": 0.5}).hparams
    with pytest.raises(ConfigError, match="sampling_rate 0.5"):
        objective.check_schedule(bad, "test")


def test_reconstruction_loss_is_masked_by_length():
    logits = [tf.zeros([2, 4, 4])]  # uniform: ln 4 per step
    targets = tf.constant([[[1], [2], [3], [0]], [[0], [0], [0], [0]]])
    loss, accuracy, steps = objective.reconstruction_loss(logits, targets, tf.constant([3, 1]))
    np.testing.assert_allclose(loss.numpy(), [3 * math.log(4), math.log(4)], rtol=1e-6)
    assert float(steps) == 4.0


def test_gradient_clipping_rules():
    hparams = get_config("cat-mel_2bar_small").hparams  # clip 1.0, zero above 10000
    grads, norm = objective.clip_gradients([tf.constant([3.0, 4.0])], hparams)
    assert float(norm) == pytest.approx(5.0)
    np.testing.assert_allclose(grads[0].numpy(), [0.6, 0.8], rtol=1e-6)
    grads, _ = objective.clip_gradients([tf.constant([3e4, 4e4])], hparams)
    np.testing.assert_array_equal(grads[0].numpy(), [0.0, 0.0])
    grads, _ = objective.clip_gradients([tf.constant([np.nan, 1.0])], hparams)
    np.testing.assert_array_equal(grads[0].numpy(), [0.0, 0.0])


def test_adam_matches_tf1_update_by_hand():
    var = tf.Variable([1.0])
    adam = Adam({"w": var})
    adam.apply({"w": tf.constant([0.5])}, tf.constant(0.1))
    m, v = 0.05, 0.00025
    step = 0.1 * math.sqrt(1 - 0.999) / (1 - 0.9)
    assert float(var[0]) == pytest.approx(1.0 - step * m / (math.sqrt(v) + 1e-8), rel=1e-6)
    state = adam.state()
    assert int(state["updates"]) == 1 and state["m/w"][0] == pytest.approx(m)
