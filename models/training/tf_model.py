"""MusicVAE in TensorFlow 2 for training: Magenta's variables, initialisation and math.

The variables are created from ``expected_shapes(config)`` under exactly Magenta's names, so
exporting a model is a dict copy. The math follows Magenta's ``BidirectionalLstmEncoder``,
``CategoricalLstmDecoder`` and ``HierarchicalLstmDecoder`` (LSTMBlockCell gates i, j, f, o,
forget bias 1.0). Two things are arranged for speed without changing the math:

- the input side of every LSTM (the one-hot of the previous class is a row lookup, the
  latent vector's share is one product per sequence) is computed outside the time loop,
  which only multiplies the recurrent state;
- the hierarchical decoder's bars are independent while training (no autoregression in the
  conductor; each bar's first input is the true previous step), so all bars of all examples
  run as one batch through the three core decoders, which run side by side as a stack.

Class indices (int32) stand for one-hot vectors throughout: the cross-entropy of a one-hot
target is the sparse cross-entropy of its index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from latentjam.models.configs import ModelConfig
from latentjam.models.errors import ConfigError
from latentjam.models.training.tf_lstm import (
    bidirectional_layer,
    fold_seed,
    scan,
    stacked_lstm_step,
)
from latentjam.models.variables import expected_shapes

_SMALL_STDDEV = 0.001  # Magenta's init for encoder/mu, encoder/sigma and the *initial_state denses


def initial_value(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Magenta's initialisation of one variable.

    Biases start at zero; ``encoder/mu``, ``encoder/sigma``, ``z_to_initial_state`` and the
    conductor's ``initial_state`` kernels are N(0, 0.001^2); every other kernel (the LSTM
    kernels, which LSTMBlockCell creates without an initializer, and ``output_projection``)
    is TF's default Glorot-uniform over the kernel's own [rows, columns].
    """
    if name.endswith("/bias"):
        return np.zeros(shape, np.float32)
    if name.startswith(("encoder/mu/", "encoder/sigma/")) or "initial_state/" in name:
        return (rng.standard_normal(shape) * _SMALL_STDDEV).astype(np.float32)
    limit = math.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


def check_supported(config: ModelConfig) -> None:
    """Raise a ConfigError for hyper-parameters this trainer does not implement."""
    hp = config.hparams
    unsupported = {
        "residual_encoder": hp.residual_encoder,
        "residual_decoder": hp.residual_decoder,
        "conditional": not hp.conditional,
        "dropout_keep_prob < 1": hp.dropout_keep_prob < 1.0,
    }
    bad = [key for key, on in unsupported.items() if on]
    if bad:
        raise ConfigError(f"config {config.name}: training does not support {', '.join(bad)}")
    if config.is_hierarchical and len(config.level_lengths) != 2:
        raise ConfigError(f"config {config.name}: only two-level hierarchical decoders "
                          f"are supported, got level lengths {list(config.level_lengths)}")
    if hp.sampling_schedule not in ("constant", "exponential", "inverse_sigmoid"):
        raise ConfigError(f"config {config.name}: unknown sampling_schedule "
                          f"{hp.sampling_schedule!r}")


@dataclass(frozen=True)
class _Part:
    """One categorical decoder's variables (under ``prefix``) and its output depth."""

    prefix: str
    depth: int


class TrainableMusicVAE(tf.Module):
    """The model's variables (``variables[name]``, Magenta's names) and its forward passes."""

    def __init__(self, config: ModelConfig, seed: int = 0,
                 values: Mapping[str, np.ndarray] | None = None):
        super().__init__(name="music_vae")
        check_supported(config)
        self.config = config
        self.hparams = config.hparams
        rng = np.random.default_rng(seed)
        self.weights: dict[str, tf.Variable] = {}
        for name, shape in expected_shapes(config).items():
            value = values[name] if values is not None else initial_value(name, shape, rng)
            self.weights[name] = tf.Variable(np.asarray(value, np.float32), name=name)
        self.names = tuple(self.weights)
        if config.is_hierarchical:
            self.parts = tuple(_Part(f"core_decoder/core_decoder_{i}/decoder", depth)
                               for i, depth in enumerate(config.output_depths))
        else:
            self.parts = (_Part("decoder", config.output_depth),)

    # -- variables -------------------------------------------------------------------------

    def export(self) -> dict[str, np.ndarray]:
        """Every model variable as a float32 array, under Magenta's names."""
        return {name: v.numpy() for name, v in self.weights.items()}

    def assign(self, values: Mapping[str, np.ndarray]) -> None:
        for name, v in self.weights.items():
            v.assign(np.asarray(values[name], np.float32))

    # -- encoder ---------------------------------------------------------------------------

    def encode(self, inputs: tf.Tensor, lengths: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(mu, sigma) ``[B, z]`` of the posterior for ``inputs [B, T, input_depth]``."""
        w = self.weights
        x = tf.convert_to_tensor(inputs, tf.float32)
        lengths = tf.cast(lengths, tf.int32)
        for layer, units in enumerate(self.hparams.enc_rnn_size):
            names = [f"encoder/cell_{layer}/bidirectional_rnn/{d}/multi_rnn_cell/cell_0/lstm_cell"
                     for d in ("fw", "bw")]
            x, final_h = bidirectional_layer(
                x, lengths, [w[n + "/kernel"] for n in names],
                [w[n + "/bias"] for n in names], units)
        last = tf.concat([final_h[0], final_h[1]], axis=-1)
        mu = tf.matmul(last, w["encoder/mu/kernel"]) + w["encoder/mu/bias"]
        sigma = tf.nn.softplus(tf.matmul(last, w["encoder/sigma/kernel"]) + w["encoder/sigma/bias"])
        return mu, sigma

    # -- decoders --------------------------------------------------------------------------

    def _initial_state(self, prefix: str, name: str, cond: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """``tanh(cond W + b)`` split into (c0, h0, c1, h1, ...) (MultiRNNCell's order)."""
        dense = tf.tanh(tf.matmul(cond, self.weights[f"{prefix}/{name}/kernel"])
                        + self.weights[f"{prefix}/{name}/bias"])
        sizes = [u for u in self.hparams.dec_rnn_size for _ in range(2)]
        return tuple(tf.split(dense, sizes, axis=-1))

    def _conductor(self, z: tf.Tensor) -> tf.Tensor:
        """The hierarchical level-0 LSTM: one embedding per bar, ``[B, bars, units]``.

        Its input is a constant zero (no autoregression), so only the bias and the
        recurrent rows of its first kernel matter.
        """
        w = self.weights
        prefix = "decoder/hierarchical_level_0/cell_{}/lstm_cell/"
        layers = len(self.hparams.dec_rnn_size)
        bias0 = tf.convert_to_tensor(w[prefix.format(0) + "bias"])
        recurrent0 = tf.convert_to_tensor(w[prefix.format(0) + "kernel"])[1:]
        kernels = [tf.convert_to_tensor(w[prefix.format(i) + "kernel"]) for i in range(1, layers)]
        biases = [tf.convert_to_tensor(w[prefix.format(i) + "bias"]) for i in range(1, layers)]

        def body(t, inputs, state):
            top, state = stacked_lstm_step(bias0, state, recurrent0, kernels, biases)
            return (top,), state

        state = self._initial_state("decoder/hierarchical_level_0", "initial_state", z)
        (embeddings,), _ = scan(body, self.config.level_lengths[0], state)
        return tf.transpose(embeddings, [1, 0, 2])

    def _stacked_parts(self, cond: tf.Tensor) -> dict:
        """The parts' decoder weights stacked on a leading parts axis, with the share of
        layer 0's gates that comes from ``cond`` and the initial states."""
        w = self.weights
        units = self.hparams.dec_rnn_size
        cond_size = cond.shape[-1]
        rows, cond_proj, recurrent, deep, deep_bias, states, out_k, out_b = ([] for _ in range(8))
        for part in self.parts:
            cell = f"{part.prefix}/multi_rnn_cell/cell_{{}}/lstm_cell/"
            k0 = w[cell.format(0) + "kernel"]
            # [depth + 1, 4u]: the zero row at index depth is the "no previous class" input
            rows.append(tf.pad(k0[:part.depth], [[0, 1], [0, 0]]))
            cond_proj.append(tf.matmul(cond, k0[part.depth:part.depth + cond_size])
                             + w[cell.format(0) + "bias"])
            recurrent.append(k0[part.depth + cond_size:])
            deep.append([w[cell.format(i) + "kernel"] for i in range(1, len(units))])
            deep_bias.append([w[cell.format(i) + "bias"] for i in range(1, len(units))])
            states.append(self._initial_state(part.prefix, "z_to_initial_state", cond))
            out_k.append(tf.convert_to_tensor(w[f"{part.prefix}/output_projection/kernel"]))
            out_b.append(tf.convert_to_tensor(w[f"{part.prefix}/output_projection/bias"]))
        return {
            "rows": rows,
            "cond_proj": tf.stack(cond_proj),  # [P, N, 4u0]
            "recurrent0": tf.stack(recurrent),  # [P, u0, 4u0]
            "deep_kernels": [tf.stack([d[i] for d in deep]) for i in range(len(units) - 1)],
            "deep_biases": [tf.stack([b[i] for b in deep_bias])[:, None, :]
                            for i in range(len(units) - 1)],
            "state": tuple(tf.stack([s[i] for s in states]) for i in range(2 * len(units))),
            "out_kernels": out_k,
            "out_biases": out_b,
        }

    def _run_parts(self, cond: tf.Tensor, previous: tf.Tensor, steps: int,
                   sampling: dict | None = None, seed: tf.Tensor | None = None,
                   segments: int = 1) -> list[tf.Tensor]:
        """Decode ``steps`` steps with every part; logits per part ``[N, steps, depth]``.

        ``cond`` is ``[N, C]``, or ``[segments, N, C]`` when the steps fall into segments
        that each start from their own condition (a free-running hierarchical decode: the
        state restarts, the previous output carries on). ``previous [N, steps, P]`` holds
        each step's input class (``depth`` stands for none, the start). With ``sampling`` =
        {"probability", "argmax" (optional)}, the input at step t > 0 is, with that
        probability per row, a class drawn from step t-1's logits (Magenta's
        ScheduledOutputTrainingHelper; argmax for greedy decoding).
        """
        conds = cond if segments > 1 else cond[None]
        rows_per_segment = tf.shape(conds)[1]
        s = self._stacked_parts(tf.reshape(conds, [-1, conds.shape[-1]]))

        def by_segment(x):  # [P, S * N, k] -> [S, P, N, k]
            x = tf.reshape(x, [len(self.parts), segments, rows_per_segment, x.shape[-1]])
            return tf.transpose(x, [1, 0, 2, 3])

        cond_proj = by_segment(s["cond_proj"])
        initial = tuple(by_segment(x) for x in s["state"])
        parts = range(len(self.parts))
        stack_args = (s["recurrent0"], s["deep_kernels"], s["deep_biases"])

        def logits_of(top, p):  # top [..., u]
            return tf.matmul(top, s["out_kernels"][p]) + s["out_biases"][p]

        if sampling is None:  # every input is known: look all of them up before the loop
            assert segments == 1, "teacher forcing runs segments as rows"
            rows = tf.stack([tf.gather(s["rows"][p], previous[:, :, p]) for p in parts])
            rows = tf.transpose(rows, [2, 0, 1, 3]) + cond_proj[0]  # [T, P, N, 4u]

            def body(t, inputs, state):
                top, state = stacked_lstm_step(inputs[0], state, *stack_args)
                return (top,), state

            (tops,), _ = scan(body, steps, tuple(x[0] for x in initial), (rows,))
            tops = tf.transpose(tops, [1, 2, 0, 3])  # [P, N, T, u]
            return [logits_of(tops[p], p) for p in parts]

        truth_next = tf.transpose(tf.roll(previous, -1, axis=1), [1, 0, 2])  # [T, N, P]
        segment_steps = steps // segments

        def sampled_body(t, inputs, state):
            current, cells = state[0], state[1:]
            segment = t // segment_steps
            if segments > 1:
                restart = tf.equal(t % segment_steps, 0)
                cells = tuple(tf.where(restart, tf.gather(x, segment), c)
                              for x, c in zip(initial, cells, strict=True))
            rows = tf.stack([tf.gather(s["rows"][p], current[:, p]) for p in parts])
            top, cells = stacked_lstm_step(rows + tf.gather(cond_proj, segment), cells,
                                           *stack_args)
            logits = tuple(logits_of(top[p], p) for p in parts)
            step_seed = None if seed is None else fold_seed(seed, t)
            return logits, (_next_inputs(logits, inputs[0], sampling, step_seed), *cells)

        start = (previous[:, 0], *(x[0] for x in initial))
        outs, _ = scan(sampled_body, steps, start, (truth_next,), num_outputs=len(self.parts))
        return [tf.transpose(o, [1, 0, 2]) for o in outs]

    def decode_logits(self, z: tf.Tensor, targets: tf.Tensor, sampling: dict | None = None,
                      seed: tf.Tensor | None = None) -> list[tf.Tensor]:
        """Logits per part ``[B, T, depth]`` with the true previous class as each input
        (teacher forcing), or Magenta's scheduled sampling when ``sampling`` is given.

        ``targets [B, T, P]`` are class indices; the input at step 0 is "none".
        """
        targets = tf.cast(targets, tf.int32)
        steps = int(targets.shape[1])
        batch = tf.shape(targets)[0]
        start = tf.broadcast_to(self._depths(), [batch, 1, len(self.parts)])
        previous = tf.concat([start, targets[:, :-1]], axis=1)
        if not self.config.is_hierarchical:
            return self._run_parts(z, previous, steps, sampling, seed)
        bars, bar_steps = self.config.level_lengths
        embeddings = tf.reshape(self._conductor(z), [batch * bars, -1])
        # All bars run as one batch: row b * bars + i is bar i of example b, whose first
        # input is the true last class of bar i - 1 (as in Magenta's training).
        previous = tf.reshape(previous, [batch * bars, bar_steps, len(self.parts)])
        logits = self._run_parts(embeddings, previous, bar_steps, sampling, seed)
        return [tf.reshape(lg, [batch, bars * bar_steps, -1]) for lg in logits]

    def decode_argmax(self, z: tf.Tensor, steps: int) -> tf.Tensor:
        """Free-running greedy decode from ``z``: classes ``[B, steps, P]``."""
        batch = tf.shape(z)[0]
        greedy = {"probability": 1.0, "argmax": True}
        previous = tf.broadcast_to(self._depths(), [batch, steps, len(self.parts)])
        if not self.config.is_hierarchical:
            return _argmax(self._run_parts(z, previous, steps, greedy))
        bars = steps // self.config.level_lengths[1]
        embeddings = tf.transpose(self._conductor(z)[:, :bars], [1, 0, 2])
        return _argmax(self._run_parts(embeddings, previous, steps, greedy, segments=bars))

    def _depths(self) -> tf.Tensor:
        return tf.constant([p.depth for p in self.parts], tf.int32)


def _argmax(logits: list[tf.Tensor]) -> tf.Tensor:
    return tf.stack([tf.argmax(lg, -1, output_type=tf.int32) for lg in logits], axis=-1)


def _next_inputs(step_logits: tuple[tf.Tensor, ...], truth: tf.Tensor, sampling: dict,
                 seed: tf.Tensor | None) -> tf.Tensor:
    """Next step's input classes ``[N, P]``: the truth, or (with probability p) a draw."""
    if sampling.get("argmax"):
        drawn = _argmax(list(step_logits))
    else:
        drawn = tf.stack([tf.cast(tf.random.stateless_categorical(
            logits, 1, fold_seed(seed, p))[:, 0], tf.int32)
            for p, logits in enumerate(step_logits)], axis=-1)
    probability = sampling["probability"]
    if isinstance(probability, float) and probability >= 1.0:
        return drawn
    use = tf.random.stateless_uniform(tf.shape(drawn)[:1], fold_seed(seed, -1)) < probability
    return tf.where(use[:, None], drawn, truth)
