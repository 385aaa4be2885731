"""One training step and one evaluation batch, compiled with ``tf.function``.

The optimizer is TF1's ``AdamOptimizer`` update written out (Magenta trains with it:
epsilon 1e-8 added to sqrt(v), the bias correction folded into the step size), so a run
here follows the same trajectory rule; its state is a plain dict of arrays for our own
resume file. Randomness (the z sample, scheduled sampling) comes from stateless ops seeded
by (run seed, step), so a resumed run draws what the uninterrupted run would have drawn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import tensorflow as tf
from latentjam.models.training import objective, tf_groove
from latentjam.models.training.tf_model import TrainableMusicVAE


class Adam(tf.Module):
    """Adam with TF1 ``AdamOptimizer``'s arithmetic; one (m, v) pair per model variable."""

    def __init__(self, variables: Mapping[str, tf.Variable], beta1: float = 0.9,
                 beta2: float = 0.999, epsilon: float = 1e-8):
        super().__init__(name="adam")
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.targets = dict(variables)
        self.m = {n: tf.Variable(tf.zeros_like(v), trainable=False) for n, v in variables.items()}
        self.v = {n: tf.Variable(tf.zeros_like(v), trainable=False) for n, v in variables.items()}
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False)

    def apply(self, grads: Mapping[str, tf.Tensor], lr: tf.Tensor) -> None:
        t = tf.cast(self.updates + 1, tf.float32)
        step_size = lr * tf.sqrt(1.0 - tf.pow(self.beta2, t)) / (1.0 - tf.pow(self.beta1, t))
        for name, var in self.targets.items():
            g = grads[name]
            m = self.m[name].assign(self.beta1 * self.m[name] + (1.0 - self.beta1) * g)
            v = self.v[name].assign(self.beta2 * self.v[name] + (1.0 - self.beta2) * tf.square(g))
            var.assign_sub(step_size * m / (tf.sqrt(v) + self.epsilon))
        self.updates.assign_add(1)

    def state(self) -> dict[str, np.ndarray]:
        out = {"updates": np.asarray(self.updates.numpy())}
        for name in self.targets:
            out[f"m/{name}"] = self.m[name].numpy()
            out[f"v/{name}"] = self.v[name].numpy()
        return out

    def load(self, state: Mapping[str, np.ndarray]) -> None:
        self.updates.assign(int(state["updates"]))
        for name in self.targets:
            self.m[name].assign(state[f"m/{name}"])
            self.v[name].assign(state[f"v/{name}"])


def _fold(seed: tf.Tensor, index: int) -> tf.Tensor:
    return tf.random.experimental.stateless_fold_in(seed, index)


class Steps:
    """The compiled training step and evaluation batch of one model."""

    def __init__(self, model: TrainableMusicVAE, optimizer: Adam, jit_compile: bool = False):
        self.model = model
        self.optimizer = optimizer
        self.hparams = model.hparams
        self.train = tf.function(self._train, jit_compile=jit_compile, autograph=False)
        self.evaluate = tf.function(self._evaluate, autograph=False)

    def _forward(self, inputs, targets, lengths, step, seed, full_length):
        hp = self.hparams
        if self.model.config.is_groove:  # continuous outputs: GrooVAE's decoder and loss
            return tf_groove.forward(self.model, inputs, targets, lengths, step, seed,
                                     full_length)
        if self.model.one_hot_inputs:  # the inputs are the targets' one-hot: look rows up
            mu, sigma = self.model.encode(None, lengths, targets, full_length)
        else:
            mu, sigma = self.model.encode(inputs, lengths, full_length=full_length)
        z = mu + sigma * tf.random.stateless_normal(tf.shape(mu), _fold(seed, 1))
        sampling = None
        if objective.uses_sampling(hp):
            sampling = {"probability": objective.sampling_probability(hp, step)}
        logits = self.model.decode_logits(z, targets, sampling, _fold(seed, 2))
        r_loss, accuracy, _ = objective.reconstruction_loss(logits, targets, lengths)
        kl = objective.kl_divergence(mu, sigma)
        loss, beta = objective.model_loss(r_loss, kl, hp, step)
        return loss, {"r_loss": tf.reduce_mean(r_loss), "kl_bits": tf.reduce_mean(kl) / math.log(2),
                      "beta": beta, "accuracy": accuracy}

    def _train(self, inputs: tf.Tensor | None, targets: tf.Tensor, lengths: tf.Tensor,
               step: tf.Tensor, seed: tf.Tensor, full_length: bool = False
               ) -> dict[str, tf.Tensor]:
        """One update from a batch; ``step`` is the global step before it. ``inputs`` may
        be None where the encoder reads the targets' one-hot; ``full_length`` (a Python
        bool: one compiled variant each) promises that every length is the full T."""
        weights = self.model.weights
        names = list(weights)
        with tf.GradientTape() as tape:
            loss, metrics = self._forward(inputs, targets, lengths, step, seed, full_length)
        grads = tape.gradient(loss, [weights[n] for n in names])
        clipped, norm = objective.clip_gradients(grads, self.hparams)
        lr = objective.learning_rate(self.hparams, step)
        self.optimizer.apply(dict(zip(names, clipped, strict=True)), lr)
        return dict(metrics, loss=loss, learning_rate=lr, global_norm=norm)

    def _evaluate(self, inputs: tf.Tensor | None, targets: tf.Tensor,
                  lengths: tf.Tensor) -> dict[str, tf.Tensor]:
        """Sums over a batch, decoding from mu: teacher-forced loss and accuracy, the
        free-running (greedy) accuracy, and the KL."""
        if self.model.config.is_groove:
            return tf_groove.evaluate(self.model, inputs, targets, lengths)
        if self.model.one_hot_inputs:
            mu, sigma = self.model.encode(None, lengths, targets)
        else:
            mu, sigma = self.model.encode(inputs, lengths)
        logits = self.model.decode_logits(mu, targets)
        r_loss, accuracy, steps = objective.reconstruction_loss(logits, targets, lengths)
        decoded = self.model.decode_argmax(mu, int(targets.shape[1]))
        mask = objective.step_mask(lengths, int(targets.shape[1]))[:, :, None]
        mask *= tf.cast(targets >= 0, tf.float32)
        hits = tf.cast(tf.equal(decoded, targets), tf.float32) * mask
        free_accuracy = tf.reduce_sum(hits) / tf.maximum(steps * targets.shape[-1], 1.0)
        kl = objective.kl_divergence(mu, sigma)
        return {"examples": tf.cast(tf.shape(mu)[0], tf.float32), "steps": steps,
                "r_loss": tf.reduce_sum(r_loss), "kl_bits": tf.reduce_sum(kl) / math.log(2),
                "accuracy_hits": accuracy * steps, "sampled_hits": free_accuracy * steps}
