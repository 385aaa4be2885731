"""GrooVAE in TensorFlow: Magenta's GrooveLstmDecoder and its loss, for training.

The decoder reads ``[previous row, z]`` at each step (zeros before the first row) and writes
27 values per step, split in three: hit logits, velocities (``sigmoid``) and offsets
(``tanh``). Training is teacher-forced (Magenta's ``sampling_rate`` is 0 in every GrooVAE
config), so the stack runs layer by layer (``tf_lstm.lstm_layer``). The loss of a step is
Magenta's: the log loss of the hits (``tf.losses.log_loss``, epsilon 1e-7) plus the squared
errors of the velocities and of the offsets, each summed over the 9 drum classes; an example's
loss is the sum over its steps.

Dropout: the GrooVAE configs keep 30 % of every LSTM cell's inputs in training (Magenta's
``DropoutWrapper(input_keep_prob=0.3)`` on each encoder and decoder cell, a fresh mask per
step); ``input_dropout`` draws it here, statelessly from the step's seed, and nothing is
dropped when evaluating.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import tensorflow as tf
from latentjam.models.configs import DRUM_CLASSES
from latentjam.models.training import objective
from latentjam.models.training.tf_lstm import fold_seed, lstm_cell, lstm_layer, scan

LOG_LOSS_EPSILON = 1e-7  # tf.losses.log_loss's default


def input_dropout(x: tf.Tensor, keep: float, seed: tf.Tensor | None) -> tf.Tensor:
    """``x`` with each value kept with probability ``keep`` (and scaled by ``1 / keep``), as
    a DropoutWrapper's input dropout; unchanged without a seed (evaluation) or at keep 1."""
    if seed is None or keep >= 1.0:
        return x
    return tf.nn.experimental.stateless_dropout(x, rate=1.0 - keep, seed=seed)


def _cell(layer: int) -> str:
    return f"decoder/multi_rnn_cell/cell_{layer}/lstm_cell/"


def _initial_state(weights: Mapping[str, tf.Variable], units: tuple[int, ...],
                   z: tf.Tensor) -> list[tf.Tensor]:
    """``[c0, h0, c1, h1, ...]`` from ``tanh(z @ z_to_initial_state)``."""
    dense = tf.tanh(tf.matmul(z, weights["decoder/z_to_initial_state/kernel"])
                    + weights["decoder/z_to_initial_state/bias"])
    return tf.split(dense, [u for u in units for _ in range(2)], axis=-1)


def teacher_forced_logits(weights: Mapping[str, tf.Variable], units: tuple[int, ...],
                          z: tf.Tensor, targets: tf.Tensor, keep: float = 1.0,
                          seed: tf.Tensor | None = None) -> tf.Tensor:
    """Logits ``[B, T, 27]`` with the true previous row as each step's input."""
    targets = tf.convert_to_tensor(targets, tf.float32)
    steps = int(targets.shape[1])
    previous = tf.concat([tf.zeros_like(targets[:, :1]), targets[:, :-1]], axis=1)
    x = tf.concat([previous, tf.broadcast_to(z[:, None, :], [tf.shape(z)[0], steps,
                                                               z.shape[-1]])], axis=-1)
    state = _initial_state(weights, units, z)
    for layer, _ in enumerate(units):
        kernel, bias = weights[_cell(layer) + "kernel"], weights[_cell(layer) + "bias"]
        x = input_dropout(x, keep, None if seed is None else fold_seed(seed, layer))
        width = x.shape[-1]
        projected = tf.einsum("bti,ig->tbg", x, kernel[:width]) + bias
        out, _, _ = lstm_layer(projected[:, None], kernel[width:][None],
                               state[2 * layer + 1][None], state[2 * layer][None])
        x = tf.transpose(out[:, 0], [1, 0, 2])
    return tf.matmul(x, weights["decoder/output_projection/kernel"]) + \
        weights["decoder/output_projection/bias"]


def activate(logits: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    hits, velocities, offsets = tf.split(logits, 3, axis=-1)
    return tf.sigmoid(hits), tf.sigmoid(velocities), tf.tanh(offsets)


def greedy_rows(weights: Mapping[str, tf.Variable], units: tuple[int, ...], z: tf.Tensor,
                steps: int) -> tf.Tensor:
    """Free-running decode at temperature 0: rows ``[B, steps, 27]`` (a hit where its logit
    is above 0), each fed back as the next step's input."""
    depth = 3 * DRUM_CLASSES
    kernels = [weights[_cell(layer) + "kernel"] for layer in range(len(units))]
    biases = [weights[_cell(layer) + "bias"] for layer in range(len(units))]
    out_kernel = weights["decoder/output_projection/kernel"]
    out_bias = weights["decoder/output_projection/bias"]

    def body(t, inputs, carried):
        previous, *state = carried
        x = tf.concat([previous, z], axis=-1)
        for layer in range(len(units)):
            gates = tf.matmul(tf.concat([x, state[2 * layer + 1]], -1), kernels[layer]) + \
                biases[layer]
            h, c = lstm_cell(gates, state[2 * layer])
            state[2 * layer], state[2 * layer + 1] = c, h
            x = h
        logits = tf.matmul(x, out_kernel) + out_bias
        hits, velocities, offsets = activate(logits)
        row = tf.concat([tf.cast(hits > 0.5, tf.float32), velocities, offsets], axis=-1)
        return (row,), (row, *state)

    start = (tf.zeros([tf.shape(z)[0], depth]), *_initial_state(weights, units, z))
    (rows,), _ = scan(body, steps, start)
    return tf.transpose(rows, [1, 0, 2])


def reconstruction_loss(logits: tf.Tensor, targets: tf.Tensor,
                        lengths: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(loss ``[B]``, the hits' accuracy, scored steps): Magenta's groove loss summed over
    the steps within ``lengths``; the accuracy is the share of (step, class) hits the
    logits' sign gets right."""
    targets = tf.convert_to_tensor(targets, tf.float32)
    mask = objective.step_mask(lengths, int(targets.shape[1]))
    hits, velocities, offsets = activate(logits)
    true_hits, true_velocities, true_offsets = tf.split(targets, 3, axis=-1)
    log_loss = -true_hits * tf.math.log(hits + LOG_LOSS_EPSILON) - \
        (1.0 - true_hits) * tf.math.log(1.0 - hits + LOG_LOSS_EPSILON)
    per_step = tf.reduce_sum(log_loss, -1) + \
        tf.reduce_sum(tf.square(true_velocities - velocities), -1) + \
        tf.reduce_sum(tf.square(true_offsets - offsets), -1)
    loss = tf.reduce_sum(per_step * mask, axis=1)
    steps = tf.reduce_sum(mask)
    right = tf.cast(tf.equal(tf.cast(hits > 0.5, tf.float32), true_hits), tf.float32)
    accuracy = tf.reduce_sum(tf.reduce_mean(right, -1) * mask) / tf.maximum(steps, 1.0)
    return loss, accuracy, steps


def forward(model, inputs: tf.Tensor, targets: tf.Tensor, lengths: tf.Tensor,
            step: tf.Tensor, seed: tf.Tensor, full_length: bool) -> tuple[tf.Tensor, dict]:
    """One training batch's loss and metrics (``step.Steps`` for a GrooVAE config)."""
    hp = model.hparams
    keep = hp.dropout_keep_prob
    mu, sigma = model.encode(inputs, lengths, full_length=full_length,
                             dropout=lambda x, layer: input_dropout(
                                 x, keep, fold_seed(fold_seed(seed, 3), layer)))
    z = mu + sigma * tf.random.stateless_normal(tf.shape(mu), fold_seed(seed, 1))
    logits = teacher_forced_logits(model.weights, hp.dec_rnn_size, z, targets, keep,
                                   fold_seed(seed, 2))
    r_loss, accuracy, _ = reconstruction_loss(logits, targets, lengths)
    kl = objective.kl_divergence(mu, sigma)
    loss, beta = objective.model_loss(r_loss, kl, hp, step)
    return loss, {"r_loss": tf.reduce_mean(r_loss), "kl_bits": tf.reduce_mean(kl) / math.log(2),
                  "beta": beta, "accuracy": accuracy}


def evaluate(model, inputs: tf.Tensor, targets: tf.Tensor, lengths: tf.Tensor) -> dict:
    """Sums over a batch, decoding from μ without dropout (``step.Steps``' evaluation)."""
    hp = model.hparams
    mu, sigma = model.encode(inputs, lengths)
    logits = teacher_forced_logits(model.weights, hp.dec_rnn_size, mu, targets)
    r_loss, accuracy, steps = reconstruction_loss(logits, targets, lengths)
    rows = greedy_rows(model.weights, hp.dec_rnn_size, mu, int(targets.shape[1]))
    mask = objective.step_mask(lengths, int(targets.shape[1]))
    right = tf.cast(tf.equal(rows[..., :DRUM_CLASSES], targets[..., :DRUM_CLASSES]), tf.float32)
    sampled = tf.reduce_sum(tf.reduce_mean(right, -1) * mask)
    kl = objective.kl_divergence(mu, sigma)
    return {"examples": tf.cast(tf.shape(mu)[0], tf.float32), "steps": steps,
            "r_loss": tf.reduce_sum(r_loss), "kl_bits": tf.reduce_sum(kl) / math.log(2),
            "accuracy_hits": accuracy * steps, "sampled_hits": sampled}


__all__ = ["evaluate", "forward", "greedy_rows", "input_dropout", "reconstruction_loss",
           "teacher_forced_logits"]
