"""The categorical LSTM decoders in TensorFlow: Magenta's ``CategoricalLstmDecoder`` math for
one or several parts (the trio's three core decoders) advancing side by side.

Each part has its own weights; they are stacked on a leading parts axis so that the parts'
products run as batched matrix products. A step's input is ``[one-hot of the previous
class, condition]`` (the condition is z, or a conductor embedding); the one-hot share of
layer 0's gates is a row of its kernel, and the condition's share is computed once.

Two ways to run:

- ``teacher_forced``: every input is known, so the stack runs layer by layer with
  ``lstm_layer`` (fast backward pass);
- ``free_running``: step by step, each input drawn from the previous step's logits with
  some probability (Magenta's scheduled sampling) or always (greedy decoding). Training
  with scheduled sampling first draws the inputs this way, without gradients, then runs
  the teacher-forced pass on the drawn inputs: the same logits and the same gradients as
  differentiating the step-by-step pass (the draws themselves carry no gradient).
"""

from __future__ import annotations

from collections.abc import Mapping

import tensorflow as tf
from latentjam.models.training.tf_lstm import fold_seed, lstm_layer, scan, stacked_lstm_step


class DecoderStack:
    """The weights of P categorical decoders conditioned on ``cond [S * N, C]``.

    ``segments`` S > 1 gives every segment of the decode (a bar) its own condition and
    initial state, for greedy hierarchical decoding; training uses S = 1.
    """

    def __init__(self, weights: Mapping[str, tf.Variable], prefixes: list[str],
                 depths: list[int], units: tuple[int, ...], cond: tf.Tensor, segments: int = 1):
        self.depths = depths
        self.segments = segments
        cond_size = cond.shape[-1]
        rows, cond_gates, recurrent, deep, deep_bias, states, out_k, out_b = ([] for _ in range(8))
        for prefix, depth in zip(prefixes, depths, strict=True):
            cell = f"{prefix}/multi_rnn_cell/cell_{{}}/lstm_cell/"
            kernel0 = weights[cell.format(0) + "kernel"]
            # [depth + 1, 4u]: the zero row at index depth is the "no previous class" input
            rows.append(tf.pad(kernel0[:depth], [[0, 1], [0, 0]]))
            cond_gates.append(tf.matmul(cond, kernel0[depth:depth + cond_size])
                              + weights[cell.format(0) + "bias"])
            recurrent.append(kernel0[depth + cond_size:])
            deep.append([weights[cell.format(i) + "kernel"] for i in range(1, len(units))])
            deep_bias.append([weights[cell.format(i) + "bias"] for i in range(1, len(units))])
            dense = tf.tanh(tf.matmul(cond, weights[f"{prefix}/z_to_initial_state/kernel"])
                            + weights[f"{prefix}/z_to_initial_state/bias"])
            states.append(tf.split(dense, [u for u in units for _ in range(2)], axis=-1))
            out_k.append(tf.convert_to_tensor(weights[f"{prefix}/output_projection/kernel"]))
            out_b.append(tf.convert_to_tensor(weights[f"{prefix}/output_projection/bias"]))
        self.rows = rows
        self.out_kernels, self.out_biases = out_k, out_b
        self.recurrent0 = tf.stack(recurrent)  # [P, u0, 4u0]
        self.deep_kernels = [tf.stack([d[i] for d in deep]) for i in range(len(units) - 1)]
        self.deep_biases = [tf.stack([b[i] for b in deep_bias])[:, None, :]
                            for i in range(len(units) - 1)]
        # [S, P, N, ...]: per segment, per part
        self.cond_gates = self._by_segment(tf.stack(cond_gates))
        self.initial = tuple(self._by_segment(tf.stack([s[i] for s in states]))
                             for i in range(2 * len(units)))

    def _by_segment(self, x: tf.Tensor) -> tf.Tensor:  # [P, S * N, k] -> [S, P, N, k]
        x = tf.reshape(x, [x.shape[0], self.segments, -1, x.shape[-1]])
        return tf.transpose(x, [1, 0, 2, 3])

    def logits(self, top: tf.Tensor, part: int) -> tf.Tensor:
        return tf.matmul(top, self.out_kernels[part]) + self.out_biases[part]

    def _input_rows(self, classes: tf.Tensor) -> tf.Tensor:
        """``classes [..., P]`` -> layer 0's one-hot share ``[P, ..., 4u0]``."""
        return tf.stack([tf.gather(self.rows[p], classes[..., p]) for p in range(len(self.rows))])

    def teacher_forced(self, previous: tf.Tensor) -> list[tf.Tensor]:
        """Logits per part ``[N, T, depth]`` for input classes ``previous [N, T, P]``."""
        rows = tf.transpose(self._input_rows(previous), [2, 0, 1, 3])  # [T, P, N, 4u]
        c0, h0 = self.initial[0][0], self.initial[1][0]
        outputs, _, _ = lstm_layer(rows + self.cond_gates[0], self.recurrent0, h0, c0)
        for layer, (kernel, bias) in enumerate(zip(self.deep_kernels, self.deep_biases,
                                                   strict=True), 1):
            below = outputs.shape[-1]
            projected = tf.einsum("tpnu,pug->tpng", outputs, kernel[:, :below]) + bias
            c0, h0 = self.initial[2 * layer][0], self.initial[2 * layer + 1][0]
            outputs, _, _ = lstm_layer(projected, kernel[:, below:], h0, c0)
        tops = tf.transpose(outputs, [1, 2, 0, 3])  # [P, N, T, u]
        return [self.logits(tops[p], p) for p in range(len(self.rows))]

    def free_running(self, previous: tf.Tensor, steps: int, sampling: dict,
                     seed: tf.Tensor | None = None) -> tuple[list[tf.Tensor], tf.Tensor]:
        """Step by step: logits per part ``[N, T, depth]`` and the input classes used
        ``[N, T, P]``. ``previous`` gives step 0's input and the true inputs; ``sampling``
        = {"probability", "argmax" (optional)} says how often, and how, a step's input is
        instead drawn from the previous step's logits."""
        parts = len(self.rows)
        segment_steps = steps // self.segments
        truth_next = tf.transpose(tf.roll(previous, -1, axis=1), [1, 0, 2])  # [T, N, P]
        stack = (self.recurrent0, self.deep_kernels, self.deep_biases)

        def body(t, inputs, state):
            current, cells = state[0], state[1:]
            segment = t // segment_steps
            if self.segments > 1:  # a new bar: its own initial state, the last output goes on
                restart = tf.equal(t % segment_steps, 0)
                cells = tuple(tf.where(restart, tf.gather(x, segment), c)
                              for x, c in zip(self.initial, cells, strict=True))
            gates = self._input_rows(current) + tf.gather(self.cond_gates, segment)
            top, cells = stacked_lstm_step(gates, cells, *stack)
            logits = tuple(self.logits(top[p], p) for p in range(parts))
            step_seed = None if seed is None else fold_seed(seed, t)
            following = _next_inputs(logits, inputs[0], sampling, step_seed)
            return (*logits, tf.cast(current, tf.float32)), (following, *cells)

        start = (previous[:, 0], *(x[0] for x in self.initial))
        outs, _ = scan(body, steps, start, (truth_next,), num_outputs=parts + 1)
        logits = [tf.transpose(o, [1, 0, 2]) for o in outs[:parts]]
        used = tf.cast(tf.transpose(outs[parts], [1, 0, 2]), tf.int32)
        return logits, used


def conductor(weights: Mapping[str, tf.Variable], units: tuple[int, ...], z: tf.Tensor,
              bars: int) -> tf.Tensor:
    """The hierarchical level-0 LSTM: one embedding per bar, ``[B, bars, units]``.

    Its input is a constant zero (no autoregression), so only the bias and the recurrent
    rows of its first kernel matter, and the stack runs layer by layer.
    """
    prefix = "decoder/hierarchical_level_0"
    dense = tf.tanh(tf.matmul(z, weights[f"{prefix}/initial_state/kernel"])
                    + weights[f"{prefix}/initial_state/bias"])
    state = tf.split(dense, [u for u in units for _ in range(2)], axis=-1)
    outputs = None
    for layer in range(len(units)):
        kernel = weights[f"{prefix}/cell_{layer}/lstm_cell/kernel"]
        bias = weights[f"{prefix}/cell_{layer}/lstm_cell/bias"]
        if outputs is None:
            projected = tf.broadcast_to(bias, [bars, 1, tf.shape(z)[0], bias.shape[0]])
            below = 1
        else:
            below = outputs.shape[-1]
            projected = tf.einsum("tknu,ug->tkng", outputs, kernel[:below]) + bias
        outputs, _, _ = lstm_layer(projected, kernel[None, below:], state[2 * layer + 1][None],
                                   state[2 * layer][None])
    return tf.transpose(outputs[:, 0], [1, 0, 2])


def argmax_classes(logits) -> tf.Tensor:
    return tf.stack([tf.argmax(lg, -1, output_type=tf.int32) for lg in logits], axis=-1)


def _next_inputs(step_logits: tuple[tf.Tensor, ...], truth: tf.Tensor, sampling: dict,
                 seed: tf.Tensor | None) -> tf.Tensor:
    """Next step's input classes ``[N, P]``: the truth, or (with probability p) a draw."""
    if sampling.get("argmax"):
        drawn = argmax_classes(step_logits)
    else:
        drawn = tf.stack([tf.cast(tf.random.stateless_categorical(
            logits, 1, fold_seed(seed, p))[:, 0], tf.int32)
            for p, logits in enumerate(step_logits)], axis=-1)
    probability = sampling["probability"]
    if isinstance(probability, float) and probability >= 1.0:
        return drawn
    use = tf.random.stateless_uniform(tf.shape(drawn)[:1], fold_seed(seed, -1)) < probability
    return tf.where(use[:, None], drawn, truth)

