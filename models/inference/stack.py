"""A stack of LSTMBlockCells stepped one time step at a time, fast, for a small batch.

At batch 1 a decoder step is a chain of matrix-vector products and a few dozen tiny
element-wise operations, so the cost is memory traffic plus NumPy's per-call overhead. The
weights are rearranged once to cut both:

- gate columns go from TensorFlow's (i, j, f, o) to (o, i, f, j), with the forget bias
  folded in and the sigmoid gates' columns halved, so one ``tanh`` gives every activation
  (``sigmoid(x) = 0.5 + 0.5 tanh(x / 2)``); the cell state sits right after the gates, so
  ``[i, f] * [tanh(j), c]`` is one element-wise product;
- each layer's new ``[h, 1]`` is multiplied once, by ``[[recurrent kernel | the next
  layer's input kernel (or the output projection)], [bias | 0 (or its bias)]]``: that one
  product is this layer's recurrent term for the next step and the layer above's input
  term (or the logits) for this step.

Every step writes into buffers allocated once per run. Layer 0's input part is the
caller's: it passes the pre-activation to add (a row lookup for a one-hot input, a
product computed once for a constant condition).

For a batch of 2 to ``ROWS_MAX_BATCH`` and a large kernel, the product is taken row by row:
OpenBLAS copies (packs) the whole kernel for every matrix-matrix product, which for a few
rows costs more than the rows' matrix-vector products (measured on a 257 x 2048 kernel: 0.23
ms for 2 rows at once, 0.055 ms row by row; 0.24 against 0.11 ms for 4). Row by row, each
row's numbers are also exactly those of a batch of one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from latentjam.models.inference.lstm import FORGET_BIAS

ROWS_MAX_BATCH = 8  # from 16 rows on, one matrix-matrix product is the faster
ROWS_MIN_WEIGHTS = 400_000  # a smaller kernel is packed quickly enough (257 x 1114: no gain)


def prepare_gates(kernel: np.ndarray, bias: np.ndarray,
                  dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """An LSTMBlockCell kernel and bias with gates (o, i, f, j), forget bias folded in and
    the sigmoid gates halved (see the module docstring)."""
    i, j, f, o = np.split(np.asarray(kernel, dtype), 4, axis=1)
    bi, bj, bf, bo = np.split(np.asarray(bias, dtype), 4)
    half = dtype(0.5)  # halving is exact in binary floating point
    fast_kernel = np.concatenate([half * o, half * i, half * f, j], axis=1)
    fast_bias = np.concatenate([half * bo, half * bi, half * (bf + dtype(FORGET_BIAS)), bj])
    return fast_kernel, fast_bias


class LstmStack:
    """The weights of a MultiRNNCell of LSTMBlockCells (TensorFlow layout in ``kernels``,
    ``biases``) with an optional dense ``output`` ``(kernel, bias)`` on the top layer's h.

    ``input_rows`` are layer 0's input rows in the fast layout: the caller builds layer 0's
    input pre-activation from them (the bias is already inside the stack).
    """

    def __init__(self, kernels: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                 input_size: int, output: tuple[np.ndarray, np.ndarray] | None = None,
                 dtype: type = np.float32):
        self.dtype = dtype
        self.units = tuple(int(k.shape[1]) // 4 for k in kernels)
        fast = [prepare_gates(k, b, dtype) for k, b in zip(kernels, biases, strict=True)]
        self.input_rows = np.ascontiguousarray(fast[0][0][:input_size])
        self.kernels = []  # per layer: [h, 1] -> [recurrent term | the next thing's input]
        for layer, units in enumerate(self.units):
            recurrent = fast[layer][0][-units:]
            if layer + 1 < len(self.units):
                ahead = fast[layer + 1][0][:units]
                ahead_bias = np.zeros(ahead.shape[1], dtype)
            elif output is not None:
                ahead, ahead_bias = np.asarray(output[0], dtype), np.asarray(output[1], dtype)
            else:
                ahead, ahead_bias = np.zeros((units, 0), dtype), np.zeros(0, dtype)
            self.kernels.append(np.ascontiguousarray(np.block([
                [recurrent, ahead], [fast[layer][1][None], ahead_bias[None]]]), dtype))

    @property
    def state_size(self) -> int:
        """Width of a flat initial state ``[c0, h0, c1, h1, ...]``."""
        return 2 * sum(self.units)

    def recurrent_terms(self, states: np.ndarray) -> list[np.ndarray]:
        """Each layer's first recurrent term for flat states ``[N, state_size]`` (one
        product per layer for all N, so many segments' starts cost one pass over the
        weights)."""
        terms, offset = [], 0
        for units, kernel in zip(self.units, self.kernels, strict=True):
            h = states[:, offset + units:offset + 2 * units]
            terms.append(h @ kernel[:-1, :4 * units] + kernel[-1, :4 * units])
            offset += 2 * units
        return terms

    def start(self, batch: int) -> StackRun:
        return StackRun(self, batch)


class StackRun:
    """Buffers for stepping one ``LstmStack`` over a batch."""

    def __init__(self, stack: LstmStack, batch: int):
        dtype = stack.dtype
        self.stack = stack
        # Per layer [o, i, f, j, c]: the gates, then the cell state.
        gates = [np.zeros((batch, 5 * u), dtype) for u in stack.units]
        self.cells = [g[:, 4 * u:] for g, u in zip(gates, stack.units, strict=True)]
        self.with_one = [np.ones((batch, u + 1), dtype) for u in stack.units]  # [h, 1]
        self.h = [buffer[:, :-1] for buffer in self.with_one]
        products = [np.zeros((batch, k.shape[1]), dtype) for k in stack.kernels]
        self.recurrent = [p[:, :4 * u] for p, u in zip(products, stack.units, strict=True)]
        ahead = [p[:, 4 * u:] for p, u in zip(products, stack.units, strict=True)]
        self.output = ahead[-1]  # the output projection of the last step's top h
        self._half = np.array(0.5, dtype)  # a 0-d array: NumPy converts a float each call
        # Everything one layer's step touches, bound once: the step loop only unpacks.
        self._layers = []
        for layer, u in enumerate(stack.units):
            g = gates[layer]
            self._layers.append((
                None if layer == 0 else ahead[layer - 1], self.recurrent[layer], g[:, :4 * u],
                g[:, :3 * u], g[:, :u], g[:, u:3 * u], g[:, 3 * u:], self.cells[layer],
                np.empty((batch, 2 * u), dtype), self.h[layer], self.with_one[layer],
                stack.kernels[layer], products[layer], u,
                _row_pairs(self.with_one[layer], products[layer], stack.kernels[layer])))

    @property
    def row_by_row(self) -> tuple[bool, ...]:
        """Per layer, whether its product is taken row by row."""
        return tuple(bool(layer[-1]) for layer in self._layers)

    @property
    def top_h(self) -> np.ndarray:
        return self.h[-1]

    def load(self, state: np.ndarray, recurrent_terms: Sequence[np.ndarray] | None = None
             ) -> None:
        """Set the state from a flat ``[B, state_size]`` laid out ``[c0, h0, c1, h1, ...]``
        (``recurrent_terms``: its ``LstmStack.recurrent_terms``, if already computed)."""
        if recurrent_terms is None:
            recurrent_terms = self.stack.recurrent_terms(state)
        offset = 0
        for layer, units in enumerate(self.stack.units):
            self.cells[layer][...] = state[:, offset:offset + units]
            self.h[layer][...] = state[:, offset + units:offset + 2 * units]
            self.recurrent[layer][...] = recurrent_terms[layer]
            offset += 2 * units

    def step(self, layer0_input: np.ndarray | None = None) -> None:
        """Advance one step; ``layer0_input`` is added to layer 0's pre-activation. The new
        top h is ``top_h``; its output projection, ``output``."""
        tanh, multiply, add, dot, half = np.tanh, np.multiply, np.add, np.dot, self._half
        for (below, recurrent, gates, sigmoids, o, input_forget, cell_input_and_c, c, scratch,
             h, with_one, kernel, product, units, rows) in self._layers:
            below = layer0_input if below is None else below
            if below is None:
                np.copyto(gates, recurrent)
            else:
                add(recurrent, below, gates)
            tanh(gates, gates)
            multiply(sigmoids, half, sigmoids)
            add(sigmoids, half, sigmoids)
            multiply(input_forget, cell_input_and_c, scratch)  # [i * tanh(j), f * c]
            add(scratch[:, :units], scratch[:, units:], c)
            tanh(c, h)
            multiply(h, o, h)
            if rows:
                for row, out in rows:
                    dot(row, kernel, out)
            else:
                dot(with_one, kernel, product)


def _row_pairs(with_one: np.ndarray, product: np.ndarray,
               kernel: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The (input row, output row) views to multiply one by one, or none when one product
    for the whole batch is the faster (see the module docstring)."""
    if not 2 <= len(with_one) <= ROWS_MAX_BATCH or kernel.size < ROWS_MIN_WEIGHTS:
        return ()
    return tuple(zip(with_one, product, strict=True))
