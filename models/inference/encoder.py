"""Magenta's BidirectionalLstmEncoder, fast: weights prepared once, inputs projected up front.

Each layer's weights are rearranged once (``stack.prepare_gates``: gates (o, i, f, j), the
forget bias folded in, the sigmoid gates halved so that one ``tanh`` gives every
activation). Per call, the input part of every step's pre-activation, for both directions,
is one matrix product over the whole sequence (``[B*T, D] @ [D, 2 * 4U]``, or row lookups
when the inputs are one-hot rows); per step only the recurrent product remains, both
directions in one call. ``lstm.bidirectional_layer`` is the plain statement of the same
math, and the tests hold this module to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from latentjam.models.inference.stack import prepare_gates


class BidirectionalLayer:
    """One bidirectional LSTMBlockCell layer; ``forward``/``backward`` are TensorFlow's
    ``(kernel [D + U, 4U], bias [4U])``."""

    def __init__(self, forward: tuple[np.ndarray, np.ndarray],
                 backward: tuple[np.ndarray, np.ndarray], dtype: type = np.float32):
        self.dtype = dtype
        self.units = units = int(forward[0].shape[1]) // 4
        self.depth = depth = int(forward[0].shape[0]) - units
        fast = [prepare_gates(kernel, bias, dtype) for kernel, bias in (forward, backward)]
        # [D, 8U]: both directions' input rows side by side, so one product serves both.
        self.input_kernel = np.ascontiguousarray(
            np.concatenate([fast[0][0][:depth], fast[1][0][:depth]], axis=1))
        self.bias = np.concatenate([fast[0][1], fast[1][1]])
        self.recurrent = np.ascontiguousarray(
            np.stack([fast[0][0][depth:], fast[1][0][depth:]]))  # [2, U, 4U]

    def project(self, inputs: np.ndarray) -> np.ndarray:
        """The input part of every step's pre-activation, bias included, in step order for
        each direction (the backward pass reads time reversed): ``[T, 2, B, 4U]``."""
        batch, steps, depth = inputs.shape
        flat = inputs.reshape(batch * steps, depth)
        rows = _one_hot_rows(flat)
        if rows is None:
            projected = flat @ self.input_kernel
            projected += self.bias
        else:  # one or more one-hot groups per row: sum the kernel's rows, no product
            projected = self.input_kernel[rows].sum(axis=1) if rows.shape[1] > 1 \
                else self.input_kernel[rows[:, 0]]
            projected += self.bias
        projected = projected.reshape(batch, steps, 2, 4 * self.units)
        ordered = np.empty((steps, 2, batch, 4 * self.units), self.dtype)
        ordered[:, 0] = projected[:, :, 0].transpose(1, 0, 2)
        ordered[:, 1] = projected[:, ::-1, 1].transpose(1, 0, 2)
        return ordered

    def __call__(self, inputs: np.ndarray, lengths: np.ndarray | None = None,
                 keep_outputs: bool = True
                 ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """Run the layer over ``inputs [B, T, D]`` from zero states, like
        ``lstm.bidirectional_layer``: the outputs ``[B, T, 2U]`` (None unless
        ``keep_outputs``: the top layer's are not needed), the forward pass's last h and the
        backward pass's last h (its output at the first step)."""
        batch, steps, _ = inputs.shape
        units, dtype = self.units, self.dtype
        pre = self.project(inputs)
        full = lengths is None or bool(np.all(lengths >= steps))
        # Per direction and example [o, i, f, j, c]: the gates, then the cell state.
        buffer = np.zeros((2, batch, 5 * units), dtype)
        gates, sigmoids, o = buffer[..., :4 * units], buffer[..., :3 * units], buffer[..., :units]
        input_forget, cell_input_and_c = buffer[..., units:3 * units], buffer[..., 3 * units:]
        c = buffer[..., 4 * units:]
        h = np.zeros((2, batch, units), dtype)
        scratch = np.empty((2, batch, 2 * units), dtype)
        outputs = np.zeros((steps, 2, batch, units), dtype) if keep_outputs else None
        recurrent, half = self.recurrent, np.array(0.5, dtype)
        tanh, multiply, add, matmul = np.tanh, np.multiply, np.add, np.matmul
        if not full:
            # valid[t, direction, example]: the step each direction reads at t is inside.
            order = np.arange(steps)
            valid = np.stack([order, steps - 1 - order], axis=1)[:, :, None] < lengths
            valid = valid[..., None]
        for t in range(steps):
            if not full:
                old_h, old_c = h.copy(), c.copy()
            matmul(h, recurrent, gates)
            add(gates, pre[t], gates)
            tanh(gates, gates)
            multiply(sigmoids, half, sigmoids)
            add(sigmoids, half, sigmoids)
            multiply(input_forget, cell_input_and_c, scratch)  # [i * tanh(j), f * c]
            add(scratch[..., :units], scratch[..., units:], c)
            tanh(c, h)
            multiply(h, o, h)
            if not full:
                np.copyto(h, old_h, where=~valid[t])
                np.copyto(c, old_c, where=~valid[t])
                if outputs is not None:
                    np.copyto(outputs[t], h, where=valid[t])
            elif outputs is not None:
                outputs[t] = h
        both = None
        if outputs is not None:
            both = np.concatenate([outputs[:, 0].transpose(1, 0, 2),
                                   outputs[::-1, 1].transpose(1, 0, 2)], axis=-1)
        return both, h[0].copy(), h[1].copy()


class BidirectionalEncoder:
    """A stack of ``BidirectionalLayer``s: ``layers`` are per layer ``(forward, backward)``
    ``(kernel, bias)`` pairs. Its summary is ``[last forward h, last backward h]`` of the
    top layer, what Magenta's encoder feeds to μ and σ."""

    def __init__(self, layers: Sequence[tuple[tuple[np.ndarray, np.ndarray],
                                              tuple[np.ndarray, np.ndarray]]],
                 dtype: type = np.float32):
        self.layers = [BidirectionalLayer(forward, backward, dtype)
                       for forward, backward in layers]

    def summary(self, inputs: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """``[B, 2U]`` for ``inputs [B, T, D]`` (``lengths [B]``: each example's valid steps)."""
        x = inputs
        for index, layer in enumerate(self.layers):
            top = index == len(self.layers) - 1
            x, last_forward, last_backward = layer(x, lengths, keep_outputs=not top)
        return np.concatenate([last_forward, last_backward], axis=-1)


def _one_hot_rows(flat: np.ndarray) -> np.ndarray | None:
    """The column of every 1 in each row when ``flat [N, D]`` holds only zeros and ones
    with the same number k ≥ 1 of ones per row (k one-hot groups side by side, as the
    converters' encoder inputs are): ``[N, k]``; else None."""
    if flat.size == 0:
        return None
    ones = flat == 1
    counts = np.count_nonzero(ones, axis=1)
    k = int(counts[0])
    if k == 0 or k > 8 or np.any(counts != k) or np.count_nonzero(flat) != k * len(flat):
        return None
    return np.nonzero(ones)[1].reshape(len(flat), k)
