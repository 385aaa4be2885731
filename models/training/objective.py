"""Magenta's MusicVAE objective and schedules, as functions of tensors and the step.

``MusicVAE._compute_model_loss``: the reconstruction cross-entropy summed over the steps
within each example's length (or each segment's: multiperf's instruments) and over parts,
KL(q(z|x) || N(0, I)) summed over the latent dimensions, free bits
``max(kl - free_bits * ln 2, 0)``, and the KL weight ``beta = (1 - beta_rate ** step) *
max_beta``. ``music_vae_train``'s gradient rule: the global norm clipped to ``grad_clip``,
or all gradients zeroed when the norm reaches ``grad_norm_clip_to_zero``. ``step`` is the
global step before the update.
"""

from __future__ import annotations

import math

import tensorflow as tf
from latentjam.models.configs import HParams
from latentjam.models.errors import ConfigError


def kl_divergence(mu: tf.Tensor, sigma: tf.Tensor) -> tf.Tensor:
    """KL(N(mu, diag sigma^2) || N(0, I)) in nats per example ``[B]``."""
    return tf.reduce_sum(0.5 * (tf.square(mu) + tf.square(sigma) - 1.0) - tf.math.log(sigma),
                         axis=-1)


def free_nats(hparams: HParams) -> float:
    return hparams.free_bits * math.log(2.0)


def kl_cost(kl: tf.Tensor, hparams: HParams) -> tf.Tensor:
    """The penalised KL per example: what exceeds the free bits."""
    return tf.maximum(kl - free_nats(hparams), 0.0)


def kl_beta(hparams: HParams, step: tf.Tensor) -> tf.Tensor:
    step = tf.cast(step, tf.float32)
    return (1.0 - tf.pow(tf.constant(hparams.beta_rate, tf.float32), step)) * hparams.max_beta


def learning_rate(hparams: HParams, step: tf.Tensor) -> tf.Tensor:
    step = tf.cast(step, tf.float32)
    decay = tf.pow(tf.constant(hparams.decay_rate, tf.float32), step)
    return (hparams.learning_rate - hparams.min_learning_rate) * decay + hparams.min_learning_rate


def sampling_probability(hparams: HParams, step: tf.Tensor) -> tf.Tensor:
    """Scheduled sampling's probability of feeding the model its own sample."""
    step = tf.cast(step, tf.float32)
    rate = float(hparams.sampling_rate)
    schedule = hparams.sampling_schedule
    if schedule == "constant":
        return tf.constant(rate, tf.float32)
    if schedule == "inverse_sigmoid":
        return 1.0 - rate / (rate + tf.exp(step / rate))
    if schedule == "exponential":
        return 1.0 - tf.pow(tf.constant(rate, tf.float32), step)
    raise ValueError(f"unknown sampling_schedule {schedule!r}")


def uses_sampling(hparams: HParams) -> bool:
    """Whether training feeds back samples (Magenta decides this once, from the config)."""
    return not (hparams.sampling_schedule == "constant" and hparams.sampling_rate == 0)


def check_schedule(hparams: HParams, source: str) -> None:
    """Magenta's checks of the sampling rate for its schedule."""
    rate, schedule = hparams.sampling_rate, hparams.sampling_schedule
    ok = {
        "constant": 0 <= rate <= 1,
        "inverse_sigmoid": rate >= 1,
        "exponential": 0 < rate < 1,
    }.get(schedule)
    if ok is None:
        raise ConfigError(f"{source}: unknown sampling_schedule {schedule!r}")
    if not ok:
        raise ConfigError(f"{source}: sampling_rate {rate} is out of range for the "
                          f"{schedule!r} schedule")


def step_mask(lengths: tf.Tensor, steps: int) -> tf.Tensor:
    """``[B, steps]``: 1 for the steps within each example's length. ``lengths`` is ``[B]``,
    or ``[B, S]`` for examples of S equal segments each with its own length (multiperf's
    instruments, as Magenta's hierarchical decoder splits ``x_length``)."""
    lengths = tf.convert_to_tensor(lengths)
    if lengths.shape.rank == 2:
        segments = int(lengths.shape[1])
        return tf.reshape(tf.sequence_mask(lengths, steps // segments, tf.float32), [-1, steps])
    return tf.sequence_mask(lengths, steps, tf.float32)


def reconstruction_loss(logits: list[tf.Tensor], targets: tf.Tensor,
                        lengths: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Cross-entropy summed over steps within ``lengths`` and over parts, per example.

    ``lengths`` as in ``step_mask``. A target below 0 (``PAD``) is never scored, whatever
    the lengths say. Returns (loss ``[B]``, accuracy, number of scored steps); accuracy is
    the argmax's share of correct steps, the mean over parts (Magenta's
    ``metrics/accuracy``).
    """
    targets = tf.cast(targets, tf.int32)
    within = step_mask(lengths, int(targets.shape[1]))
    loss = 0.0
    accuracies = []
    steps = None
    for part, part_logits in enumerate(logits):
        truth = targets[:, :, part]
        mask = within * tf.cast(truth >= 0, tf.float32)
        part_steps = tf.reduce_sum(mask)
        steps = part_steps if steps is None else steps
        truth = tf.maximum(truth, 0)
        xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=truth, logits=part_logits)
        loss += tf.reduce_sum(tf.where(mask > 0, xent, 0.0), axis=1)
        hits = tf.cast(tf.equal(tf.argmax(part_logits, -1, output_type=tf.int32), truth),
                       tf.float32)
        accuracies.append(tf.reduce_sum(hits * mask) / tf.maximum(part_steps, 1.0))
    return loss, tf.add_n(accuracies) / len(accuracies), steps


def model_loss(r_loss: tf.Tensor, kl: tf.Tensor, hparams: HParams,
               step: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """``mean(r_loss) + beta * mean(max(kl - free_nats, 0))``, and beta."""
    beta = kl_beta(hparams, step)
    return tf.reduce_mean(r_loss) + beta * tf.reduce_mean(kl_cost(kl, hparams)), beta


def clip_gradients(grads: list[tf.Tensor],
                   hparams: HParams) -> tuple[list[tf.Tensor], tf.Tensor]:
    """Gradients after Magenta's clipping rule, and their global norm before it."""
    grads = [tf.convert_to_tensor(g) for g in grads]
    norm = tf.linalg.global_norm(grads)
    if hparams.clip_mode == "value":
        limit = hparams.grad_clip
        return [tf.clip_by_value(g, -limit, limit) for g in grads], norm
    if hparams.clip_mode != "global_norm":
        raise ValueError(f"unknown clip_mode {hparams.clip_mode!r}")
    clipped, _ = tf.clip_by_global_norm(grads, hparams.grad_clip, use_norm=norm)
    keep = norm < hparams.grad_norm_clip_to_zero  # False for a NaN norm too
    return [tf.where(keep, g, tf.zeros_like(g)) for g in clipped], norm
