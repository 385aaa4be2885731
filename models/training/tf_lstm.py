"""LSTM building blocks in TensorFlow: the LSTMBlockCell update, loops and decoder stacks.

Every time loop is one ``tf.while_loop`` with a fixed number of iterations: it traces in
seconds, compiles with XLA, and XLA keeps its per-step work small. The input side of each
LSTM is computed before the loop; the loop multiplies only the recurrent state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

FORGET_BIAS = 1.0  # LSTMBlockCell's default, added to the forget gate


def lstm_cell(gates: tf.Tensor, c: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One LSTMBlockCell update from its pre-activations ``[..., 4u]`` (gates i, j, f, o)."""
    i, j, f, o = tf.split(gates, 4, axis=-1)
    c = c * tf.sigmoid(f + FORGET_BIAS) + tf.sigmoid(i) * tf.tanh(j)
    return tf.tanh(c) * tf.sigmoid(o), c


def fold_seed(seed: tf.Tensor, index: int | tf.Tensor) -> tf.Tensor:
    """A stateless seed for ``index`` derived from ``seed`` (independent draws)."""
    return tf.random.experimental.stateless_fold_in(seed, tf.cast(index, tf.int32))


Body = Callable[[tf.Tensor, tuple, tuple], tuple[tuple, tuple]]


def scan(body: Body, steps: int, state: tuple, sequences: tuple = (),
         num_outputs: int = 1) -> tuple[list[tf.Tensor], tuple]:
    """Run ``body(t, inputs_t, state) -> (outputs, state)`` for ``steps`` steps.

    ``sequences`` are time-major tensors ``[steps, ...]``; returns the outputs stacked
    time-major and the final state.
    """
    arrays = tuple(tf.TensorArray(tf.float32, size=steps) for _ in range(num_outputs))

    def loop(t, state, arrays):
        outputs, state = body(t, tuple(s[t] for s in sequences), state)
        return t + 1, state, tuple(a.write(t, o) for a, o in zip(arrays, outputs, strict=True))

    _, state, arrays = tf.while_loop(lambda t, *_: t < steps, loop, (tf.constant(0), state, arrays),
                                     maximum_iterations=steps)
    return [a.stack() for a in arrays], state


def bidirectional_layer(x: tf.Tensor, lengths: tf.Tensor, kernels: Sequence[tf.Variable],
                        biases: Sequence[tf.Variable], units: int) -> tuple[tf.Tensor, tf.Tensor]:
    """A forward and a backward LSTM side by side over ``x [B, T, D]`` of ``lengths``.

    The backward LSTM reads each sequence reversed within its length; outputs past a
    sequence's length are zero and the state stops there (dynamic_rnn's sequence_length).
    Returns the concatenated outputs ``[B, T, 2u]`` and the final h ``[2, B, u]`` (fw, bw).
    """
    depth = x.shape[-1]
    steps = int(x.shape[1])
    x_rev = tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)
    w_x = tf.stack([k[:depth] for k in kernels])  # [2, D, 4u]
    w_h = tf.stack([k[depth:] for k in kernels])  # [2, u, 4u]
    bias = tf.stack(biases)[:, None, :]  # [2, 1, 4u]
    projected = tf.einsum("dbti,dig->tdbg", tf.stack([x, x_rev]), w_x) + bias  # [T, 2, B, 4u]
    mask = tf.transpose(tf.sequence_mask(lengths, steps, tf.float32))[:, None, :, None]

    def body(t, inputs, state):
        proj, m = inputs
        h, c = state
        h_new, c_new = lstm_cell(proj + tf.matmul(h, w_h), c)
        return (h_new * m,), (h + m * (h_new - h), c + m * (c_new - c))

    zeros = tf.zeros([2, tf.shape(x)[0], units])
    (out,), (h, _) = scan(body, steps, (zeros, zeros), (projected, mask))
    out = tf.transpose(out, [1, 2, 0, 3])  # [2, B, T, u]
    backward = tf.reverse_sequence(out[1], lengths, seq_axis=1, batch_axis=0)
    return tf.concat([out[0], backward], axis=-1), h


def stacked_lstm_step(x_gates: tf.Tensor, state: tuple, recurrent0: tf.Tensor,
                      deep_kernels: Sequence[tf.Tensor],
                      deep_biases: Sequence[tf.Tensor]) -> tuple[tf.Tensor, tuple]:
    """One step of a MultiRNNCell stack given layer 0's input share ``x_gates``.

    ``state`` is (c0, h0, c1, h1, ...); every tensor carries a leading parts axis, so
    several decoders with their own weights advance together as batched products.
    Returns the top layer's h and the new state.
    """
    state = list(state)
    h, c = lstm_cell(x_gates + tf.matmul(state[1], recurrent0), state[0])
    state[0], state[1] = c, h
    for layer, (kernel, bias) in enumerate(zip(deep_kernels, deep_biases, strict=True), 1):
        gates = tf.matmul(tf.concat([h, state[2 * layer + 1]], -1), kernel) + bias
        h, c = lstm_cell(gates, state[2 * layer])
        state[2 * layer], state[2 * layer + 1] = c, h
    return h, tuple(state)
