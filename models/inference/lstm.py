"""LSTM math as pure NumPy functions, in the layout of TensorFlow's LSTMBlockCell.

A kernel is ``[input + units, 4 * units]`` applied to ``[x, h]``; its gate columns are in
the order i (input), j (cell input), f (forget), o (output), and ``FORGET_BIAS`` is added
to f. These functions are the plain statement of that math (the encoder runs on them, and
tests hold the fast decoder in ``stack.py`` against them).
"""

from __future__ import annotations

import numpy as np

FORGET_BIAS = 1.0  # LSTMBlockCell's default, added to the forget gate's pre-activation


def sigmoid(x: np.ndarray) -> np.ndarray:
    # Through tanh: the same function, without exp's overflow for large negative x.
    return 0.5 * np.tanh(0.5 * x) + 0.5


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(np.zeros((), x.dtype), x)


def dense(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``x @ kernel + bias`` over the last axis (a ``tf.layers.dense`` without activation)."""
    return x @ kernel + bias


def lstm_activation(gates: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """New ``(h, c)`` from the pre-activations ``[B, 4U]`` (order i, j, f, o) and ``c``."""
    i, j, f, o = np.split(gates, 4, axis=-1)
    c = c * sigmoid(f + FORGET_BIAS) + sigmoid(i) * np.tanh(j)
    return np.tanh(c) * sigmoid(o), c


def lstm_step(x: np.ndarray, h: np.ndarray, c: np.ndarray, kernel: np.ndarray,
              bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One LSTMBlockCell step: inputs ``x [B, D]``, state ``(h, c)`` ``[B, U]`` -> ``(h, c)``."""
    return lstm_activation(np.concatenate([x, h], axis=-1) @ kernel + bias, c)


def lstm_sequence(inputs: np.ndarray, kernel: np.ndarray, bias: np.ndarray,
                  lengths: np.ndarray | None = None,
                  reverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Run one LSTM layer over ``inputs [B, T, D]`` from a zero state.

    Like ``tf.nn.dynamic_rnn`` with ``sequence_length``: steps at or beyond an example's
    length leave its state unchanged and output zeros. ``reverse`` runs from the last step
    to the first, so an example's pass starts at its own last valid step (what
    ``tf.reverse_sequence`` does inside a bidirectional RNN). Returns the outputs
    ``[B, T, U]`` in input order and the final ``h [B, U]``.
    """
    batch, steps, depth = inputs.shape
    units = kernel.shape[1] // 4
    # The input part of every step's pre-activation, in one matrix product.
    projected = (inputs.reshape(batch * steps, depth) @ kernel[:depth] + bias)
    projected = projected.reshape(batch, steps, 4 * units)
    recurrent = kernel[depth:]
    h = np.zeros((batch, units), inputs.dtype)
    c = np.zeros((batch, units), inputs.dtype)
    outputs = np.zeros((batch, steps, units), inputs.dtype)
    full = lengths is None or bool(np.all(lengths >= steps))
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        h_new, c_new = lstm_activation(projected[:, t] + h @ recurrent, c)
        if full:
            h, c = h_new, c_new
            outputs[:, t] = h
        else:
            valid = (t < lengths)[:, None]
            h = np.where(valid, h_new, h)
            c = np.where(valid, c_new, c)
            outputs[:, t] = np.where(valid, h_new, 0.0)
    return outputs, h


def bidirectional_layer(inputs: np.ndarray, forward: tuple[np.ndarray, np.ndarray],
                        backward: tuple[np.ndarray, np.ndarray],
                        lengths: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One bidirectional layer; ``forward``/``backward`` are ``(kernel, bias)``.

    The same as ``lstm_sequence`` forward and reversed, with both directions stepped
    together (one product for the two per step). Returns the concatenated outputs
    ``[B, T, 2U]`` (what a stacked layer above reads), the forward pass's last state h and
    the backward pass's last state h, i.e. its output at the first step.
    """
    batch, steps, depth = inputs.shape
    kernels = np.stack([forward[0], backward[0]])  # [2, D + U, 4U]
    units = kernels.shape[2] // 4
    projected = inputs.reshape(batch * steps, depth) @ kernels[:, :depth]
    projected += np.stack([forward[1], backward[1]])[:, None]
    projected = projected.reshape(2, batch, steps, 4 * units)
    projected[1] = projected[1, :, ::-1].copy()  # the backward pass reads time reversed
    recurrent = kernels[:, depth:]
    h = np.zeros((2, batch, units), inputs.dtype)
    c = np.zeros((2, batch, units), inputs.dtype)
    outputs = np.zeros((2, batch, steps, units), inputs.dtype)
    full = lengths is None or bool(np.all(lengths >= steps))
    for t in range(steps):
        h_new, c_new = lstm_activation(projected[:, :, t] + h @ recurrent, c)
        if full:
            h, c = h_new, c_new
            outputs[:, :, t] = h
        else:
            valid = (np.array([t, steps - 1 - t])[:, None] < lengths)[..., None]
            h = np.where(valid, h_new, h)
            c = np.where(valid, c_new, c)
            outputs[:, :, t] = np.where(valid, h_new, 0.0)
    both = np.concatenate([outputs[0], outputs[1, :, ::-1]], axis=-1)
    return both, h[0], h[1]
