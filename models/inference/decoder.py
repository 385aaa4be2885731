"""Magenta's CategoricalLstmDecoder and the hierarchical conductor, on ``LstmStack``.

A categorical decoder is conditioned on one vector per segment (the whole z for a flat
model; each bar's conductor embedding for a hierarchical one): each segment starts from
``tanh(condition @ z_to_initial_state)`` and every step's input is ``[previous class
one-hot, condition]``. The previous class carries across segments (Magenta starts each bar
from the last sample of the bar before) and is all zeros at the very first step. The
one-hot part of a step's pre-activation is a row lookup; the condition part is multiplied
once per segment.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from latentjam.models.inference.stack import LstmStack


def _stack(variables: Mapping[str, np.ndarray], cell_prefix: str, layers: int,
           input_size: int, dtype: type) -> LstmStack:
    kernels = [variables[f"{cell_prefix}/cell_{layer}/lstm_cell/kernel"] for layer in range(layers)]
    biases = [variables[f"{cell_prefix}/cell_{layer}/lstm_cell/bias"] for layer in range(layers)]
    return LstmStack(kernels, biases, input_size, dtype)


class CategoricalDecoder:
    """One CategoricalLstmDecoder (variables under ``prefix``) with ``depth`` classes."""

    def __init__(self, variables: Mapping[str, np.ndarray], prefix: str, depth: int,
                 condition_size: int, layers: int, dtype: type = np.float32):
        self.depth = depth
        self.dtype = dtype
        self.stack = _stack(variables, f"{prefix}/multi_rnn_cell", layers,
                            depth + condition_size, dtype)
        rows = self.stack.input_rows
        # One extra zero row: the "no previous output" input of the first step.
        self.class_rows = np.vstack([rows[:depth], np.zeros((1, rows.shape[1]), dtype)])
        self.condition_rows = np.ascontiguousarray(rows[depth:])
        self.init_kernel = np.ascontiguousarray(variables[f"{prefix}/z_to_initial_state/kernel"],
                                                dtype)
        self.init_bias = np.asarray(variables[f"{prefix}/z_to_initial_state/bias"], dtype)
        self.out_kernel = np.ascontiguousarray(np.vstack([
            variables[f"{prefix}/output_projection/kernel"],
            variables[f"{prefix}/output_projection/bias"][None]]), dtype)

    def run(self, conditions: np.ndarray, segment_steps: int, temperature: float = 0.0,
            rng: np.random.Generator | None = None, forced: np.ndarray | None = None,
            keep_logits: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Decode ``segment_steps`` steps for each of the ``S`` conditions ``[S, B, C]``.

        Free-running, each step's class is the argmax of the logits (``temperature`` 0) or a
        sample from ``softmax(logits / temperature)`` (by the Gumbel-max trick); with
        ``forced [B, S * segment_steps]`` those classes are fed instead (teacher forcing).
        Returns the classes ``[B, S * segment_steps]`` (int64) and, if asked, the logits
        ``[B, S * segment_steps, depth]``.
        """
        segments, batch, _ = conditions.shape
        total = segments * segment_steps
        flat = conditions.reshape(segments * batch, -1).astype(self.dtype, copy=False)
        initial = np.tanh(flat @ self.init_kernel + self.init_bias).reshape(segments, batch, -1)
        constant = (flat @ self.condition_rows + self.stack.bias0).reshape(segments, batch, -1)
        classes = np.empty((batch, total), np.int64)
        logits_out = np.empty((batch, total, self.depth), self.dtype) if keep_logits else None
        logits = np.empty((batch, self.depth), self.dtype)
        noisy = np.empty((batch, self.depth), self.dtype)
        previous = np.full(batch, self.depth, np.int64)
        run, class_rows, out_kernel = self.stack.start(batch), self.class_rows, self.out_kernel
        rng = rng if rng is not None or temperature == 0 or forced is not None \
            else np.random.default_rng()
        t = 0
        for segment in range(segments):
            run.load(initial[segment])
            segment_constant = constant[segment]
            noise = None
            if temperature > 0 and forced is None:
                noise = _gumbel(rng, (segment_steps, batch, self.depth), self.dtype)
                noise *= self.dtype(temperature)
            for step in range(segment_steps):
                top = run.step(segment_constant, class_rows[previous])
                np.matmul(top, out_kernel, out=logits)
                if logits_out is not None:
                    logits_out[:, t] = logits
                if forced is not None:
                    previous = forced[:, t]
                elif noise is None:
                    previous = logits.argmax(axis=1)
                else:
                    np.add(logits, noise[step], out=noisy)
                    previous = noisy.argmax(axis=1)
                classes[:, t] = previous
                t += 1
        return classes, logits_out


def _gumbel(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """Standard Gumbel noise: argmax(logits / T + G) samples softmax(logits / T)."""
    u = rng.random(shape, dtype=np.float32).astype(dtype, copy=False)
    # u is in [0, 1): -log(u) is in (0, inf], so the noise is finite or -inf (never chosen).
    with np.errstate(divide="ignore"):
        return -np.log(-np.log(u))


class Conductor:
    """The hierarchical decoder's level-0 LSTM: one embedding per bar, from z.

    Its input is a constant 1-wide zero (``disable_autoregression``), so only the bias
    reaches layer 0's input pre-activation.
    """

    def __init__(self, variables: Mapping[str, np.ndarray], layers: int,
                 dtype: type = np.float32):
        prefix = "decoder/hierarchical_level_0"
        self.dtype = dtype
        self.stack = _stack(variables, prefix, layers, 1, dtype)
        self.init_kernel = np.ascontiguousarray(variables[f"{prefix}/initial_state/kernel"], dtype)
        self.init_bias = np.asarray(variables[f"{prefix}/initial_state/bias"], dtype)

    def embeddings(self, z: np.ndarray, bars: int) -> np.ndarray:
        """The top layer's h for each of the first ``bars`` steps: ``[bars, B, units]``."""
        batch = z.shape[0]
        run = self.stack.start(batch)
        run.load(np.tanh(z.astype(self.dtype, copy=False) @ self.init_kernel + self.init_bias))
        out = np.empty((bars, batch, self.stack.units[-1]), self.dtype)
        for bar in range(bars):
            out[bar] = run.step(self.stack.bias0)[:, :-1]
        return out
