"""LSTM building blocks in TensorFlow: the LSTMBlockCell update, loops, whole layers.

Every time loop is one ``tf.while_loop`` with a fixed number of iterations: it traces in
seconds and compiles with XLA. The input side of each LSTM is computed before the loop (one
large product, or a row lookup for one-hot inputs); the loop multiplies only the recurrent
state. Where inputs are known in advance, a stack runs layer by layer through
``lstm_layer``, whose hand-written backward pass is several times faster than autodiff
through the loop on long sequences.
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
    # Inputs come from TensorArrays too: indexing a captured tensor inside the loop would
    # make its gradient a full-size tensor per step, quadratic in the number of steps.
    inputs = tuple(tf.TensorArray(s.dtype, size=steps).unstack(s) for s in sequences)

    def loop(t, state, arrays):
        outputs, state = body(t, tuple(a.read(t) for a in inputs), state)
        return t + 1, state, tuple(a.write(t, o) for a, o in zip(arrays, outputs, strict=True))

    _, state, arrays = tf.while_loop(lambda t, *_: t < steps, loop, (tf.constant(0), state, arrays),
                                     maximum_iterations=steps)
    return [a.stack() for a in arrays], state


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


def lstm_layer(projected: tf.Tensor, recurrent: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor,
               mask: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One LSTM layer over a whole sequence, with a hand-written backward pass.

    ``projected [T, K, N, 4u]`` is the input's share of the gates (bias included) for K
    independent LSTMs with their own ``recurrent [K, u, 4u]`` weights, starting from
    ``h0, c0 [K, N, u]``. ``mask [T, 1, N, 1]`` (1 within a row's length) freezes the state
    and zeroes the output past the length. Returns outputs ``[T, K, N, u]`` and the final
    (h, c). The backward pass runs one recurrent product per step and forms the recurrent
    weights' gradient as one large product afterwards; autodiff through the loop is much
    slower for long sequences.
    """
    return _lstm_layer(projected, recurrent, h0, c0,
                       tf.ones([1, 1, 1, 1]) if mask is None else mask)


@tf.custom_gradient
def _lstm_layer(projected, recurrent, h0, c0, mask):
    # Inside, everything is feature-major ([..., features, rows]): the recurrent product
    # becomes W^T h^T, a tall matrix times a short one, which runs faster here than
    # h W (rows x features) for the usual few dozen rows.
    steps = int(projected.shape[0])
    masked = mask.shape[0] != 1 or mask.shape[2] != 1
    gates_in = tf.transpose(projected, [0, 1, 3, 2])  # [T, K, 4u, N]
    w_t = tf.transpose(recurrent, [0, 2, 1])  # [K, 4u, u]
    mask_t = tf.transpose(mask, [0, 1, 3, 2])  # [T, 1, 1, N]

    def forward(t, inputs, state):
        h, c = state
        gates = inputs[0] + tf.matmul(w_t, h)
        i, j, f, o = tf.split(gates, 4, axis=-2)
        acts = (tf.sigmoid(i), tf.tanh(j), tf.sigmoid(f + FORGET_BIAS), tf.sigmoid(o))
        c_new = c * acts[2] + acts[0] * acts[1]
        h_new = tf.tanh(c_new) * acts[3]
        if masked:
            m = inputs[1]
            h_new, c_new = h + m * (h_new - h), c + m * (c_new - c)
        return (h_new, c_new, tf.concat(acts, -2)), (h_new, c_new)

    sequences = (gates_in, mask_t) if masked else (gates_in,)
    # Past a row's length the carried state stands still and the output is zero; where
    # the mask is 1 the carried state is the step's own, so it serves the backward pass.
    start = (tf.transpose(h0, [0, 2, 1]), tf.transpose(c0, [0, 2, 1]))
    (hs, cs, acts), (h, c) = scan(forward, steps, start, sequences, num_outputs=3)
    out = tf.transpose(hs * mask_t if masked else hs, [0, 1, 3, 2])

    def grad(d_out, d_h, d_c):
        h_prev = tf.concat([start[0][None], hs[:-1]], axis=0)
        c_prev = tf.concat([start[1][None], cs[:-1]], axis=0)

        def reverse(x):
            return tf.reverse(x, [0])

        backward_inputs = [reverse(tf.transpose(d_out, [0, 1, 3, 2])), reverse(acts),
                           reverse(c_prev), reverse(cs)]
        if masked:
            backward_inputs.append(reverse(mask_t))

        def backward(t, inputs, state):
            dh, dc = state
            d_o, act, cp, cn = inputs[:4]
            si, tj, sf, so = tf.split(act, 4, axis=-2)
            if masked:
                m = inputs[4]
                dh_new, dc_new = m * (dh + d_o), m * dc
                dh_keep, dc_keep = dh - m * dh, dc - m * dc
            else:
                dh_new, dc_new = dh + d_o, dc
            tc = tf.tanh(cn)
            dc_new = dc_new + dh_new * so * (1.0 - tc * tc)
            d_gates = tf.concat([dc_new * tj * si * (1.0 - si), dc_new * si * (1.0 - tj * tj),
                                 dc_new * cp * sf * (1.0 - sf), dh_new * tc * so * (1.0 - so)],
                                axis=-2)
            dh_prev = tf.matmul(recurrent, d_gates)
            dc_prev = dc_new * sf
            if masked:
                dh_prev, dc_prev = dh_prev + dh_keep, dc_prev + dc_keep
            return (d_gates,), (dh_prev, dc_prev)

        final = (tf.transpose(d_h, [0, 2, 1]), tf.transpose(d_c, [0, 2, 1]))
        (d_gates,), (dh0, dc0) = scan(backward, steps, final, tuple(backward_inputs))
        d_gates = reverse(d_gates)  # [T, K, 4u, N]
        d_recurrent = tf.einsum("tkun,tkgn->kug", h_prev, d_gates)
        return (tf.transpose(d_gates, [0, 1, 3, 2]), d_recurrent,
                tf.transpose(dh0, [0, 2, 1]), tf.transpose(dc0, [0, 2, 1]), tf.zeros_like(mask))

    return (out, tf.transpose(h, [0, 2, 1]), tf.transpose(c, [0, 2, 1])), grad
