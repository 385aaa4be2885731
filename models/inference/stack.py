"""A stack of LSTMBlockCells stepped one time step at a time, fast, for a small batch.

The weights are rearranged once: gate columns reordered from TensorFlow's (i, j, f, o) to
(i, f, o, j) with the forget bias folded in and the sigmoid gates' columns halved, so that
one ``tanh`` over all gates gives every activation (``sigmoid(x) = 0.5 + 0.5 tanh(x / 2)``);
upper layers read ``[h_below, h_own, 1]`` from one buffer, so each layer is a single
matrix product with its bias as the last kernel row. Every step writes into buffers
allocated once per run. Layer 0's input part is left to the caller, who adds its
pre-activation (a row lookup for a one-hot input, a constant for a fixed condition).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from latentjam.models.inference.lstm import FORGET_BIAS


def prepare_gates(kernel: np.ndarray, bias: np.ndarray,
                  dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """An LSTMBlockCell kernel and bias in the fast layout (see the module docstring)."""
    i, j, f, o = np.split(np.asarray(kernel, np.float64), 4, axis=1)
    bi, bj, bf, bo = np.split(np.asarray(bias, np.float64), 4)
    fast_kernel = np.concatenate([0.5 * i, 0.5 * f, 0.5 * o, j], axis=1)
    fast_bias = np.concatenate([0.5 * bi, 0.5 * (bf + FORGET_BIAS), 0.5 * bo, bj])
    return np.ascontiguousarray(fast_kernel, dtype), np.ascontiguousarray(fast_bias, dtype)


class LstmStack:
    """The weights of a MultiRNNCell of LSTMBlockCells, in the fast layout.

    ``kernels[l]`` and ``biases[l]`` are in TensorFlow's layout; ``input_size`` is the width
    of layer 0's input. ``input_rows`` (layer 0's input rows) and ``bias0`` are for the caller
    to build layer 0's input pre-activation from.
    """

    def __init__(self, kernels: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                 input_size: int, dtype: type = np.float32):
        self.dtype = dtype
        self.units = tuple(int(k.shape[1]) // 4 for k in kernels)
        kernel0, self.bias0 = prepare_gates(kernels[0], biases[0], dtype)
        self.input_rows = np.ascontiguousarray(kernel0[:input_size])
        self.recurrent0 = np.ascontiguousarray(kernel0[input_size:])
        self.upper = []  # layers 1..: [[h_below; h_own; bias row]]
        for kernel, bias in zip(kernels[1:], biases[1:], strict=True):
            fast_kernel, fast_bias = prepare_gates(kernel, bias, dtype)
            self.upper.append(np.ascontiguousarray(np.vstack([fast_kernel, fast_bias[None]])))

    @property
    def state_size(self) -> int:
        """Width of a flat initial state ``[c0, h0, c1, h1, ...]``."""
        return 2 * sum(self.units)

    def start(self, batch: int) -> StackRun:
        return StackRun(self, batch)


class StackRun:
    """Buffers for stepping one ``LstmStack`` over a batch."""

    def __init__(self, stack: LstmStack, batch: int):
        units, dtype = stack.units, stack.dtype
        self.stack = stack
        self.gates = [np.empty((batch, 4 * u), dtype) for u in units]
        self.cells = [np.zeros((batch, u), dtype) for u in units]
        self.scratch = [np.empty((batch, u), dtype) for u in units]
        # Where each layer's h lives: inside the next layer's input buffer, or its own.
        inputs = [np.zeros((batch, below + own + 1), dtype)
                  for below, own in zip(units[:-1], units[1:], strict=True)]
        top = inputs[-1] if inputs else np.zeros((batch, units[0] + 1), dtype)
        for buffer in inputs + [top]:
            buffer[:, -1] = 1.0
        self.upper_inputs = inputs
        self.h = [inputs[0][:, :units[0]] if inputs else top[:, :units[0]]]
        self.h += [buffer[:, below:below + own]
                   for buffer, below, own in zip(inputs, units[:-1], units[1:], strict=True)]
        # Middle layers' h also feeds the layer above: a copy per step.
        self.copies = [(self.h[layer], inputs[layer][:, :units[layer]])
                       for layer in range(1, len(units) - 1)]
        self.top_with_one = top[:, units[-2]:] if inputs else top  # [h_top, 1]
        self.views = [(g[:, :3 * u], g[:, :u], g[:, u:2 * u], g[:, 2 * u:3 * u], g[:, 3 * u:])
                      for g, u in zip(self.gates, units, strict=True)]

    def load(self, state: np.ndarray) -> None:
        """Set the state from a flat ``[B, state_size]`` laid out ``[c0, h0, c1, h1, ...]``."""
        offset = 0
        for cell, h, u in zip(self.cells, self.h, self.stack.units, strict=True):
            cell[...] = state[:, offset:offset + u]
            h[...] = state[:, offset + u:offset + 2 * u]
            offset += 2 * u
        for source, target in self.copies:
            target[...] = source

    def step(self, *layer0_inputs: np.ndarray) -> np.ndarray:
        """Advance one step; ``layer0_inputs`` are added to layer 0's pre-activation (they
        must include its bias). Returns the view of the top layer's ``[h, 1]``."""
        gates = self.gates[0]
        np.matmul(self.h[0], self.stack.recurrent0, out=gates)
        for extra in layer0_inputs:
            np.add(gates, extra, out=gates)
        self._activate(0)
        for layer, kernel in enumerate(self.stack.upper, start=1):
            np.matmul(self.upper_inputs[layer - 1], kernel, out=self.gates[layer])
            self._activate(layer)
            if layer <= len(self.copies):
                np.copyto(*reversed(self.copies[layer - 1]))
        return self.top_with_one

    def _activate(self, layer: int) -> None:
        gates, c, h, scratch = self.gates[layer], self.cells[layer], self.h[layer], \
            self.scratch[layer]
        sigmoids, i, f, o, j = self.views[layer]
        np.tanh(gates, out=gates)
        np.multiply(sigmoids, 0.5, out=sigmoids)
        np.add(sigmoids, 0.5, out=sigmoids)
        np.multiply(c, f, out=c)
        np.multiply(i, j, out=scratch)
        np.add(c, scratch, out=c)
        np.tanh(c, out=h)
        np.multiply(h, o, out=h)
