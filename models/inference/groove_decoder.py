"""Magenta's GrooveLstmDecoder: continuous outputs, hits, velocities and offsets.

A flat LSTM decoder like the categorical one (``decoder.py``): it starts from
``tanh(z @ z_to_initial_state)`` and each step reads ``[previous output row, z]``, all zeros
for the first row. Its 27 outputs are split in three: hits are Bernoulli draws with logits
``logits / temperature`` (temperature 0: a hit where the logit is above 0), velocities
``sigmoid``, offsets ``tanh``; that row, hits drawn, is what the next step reads (what
Magenta's sampling helper feeds back). The draws' uniforms are taken for all steps up
front, so a decode is a function of (z, temperature, rng).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from latentjam.models.configs import DRUM_CLASSES
from latentjam.models.inference.decoder import _stack
from latentjam.models.inference.lstm import sigmoid


def activate(logits: np.ndarray, uniforms: np.ndarray | None = None,
             temperature: float = 0.0) -> np.ndarray:
    """Rows ``[..., 27]`` from the logits: drawn hits (``uniforms`` in [0, 1), or the logit's
    sign at temperature 0), sigmoid velocities, tanh offsets."""
    d = DRUM_CLASSES
    out = np.empty_like(logits)
    hits = logits[..., :d]
    if temperature > 0 and uniforms is not None:
        out[..., :d] = uniforms < sigmoid(hits / hits.dtype.type(temperature))
    else:
        out[..., :d] = hits > 0
    out[..., d:2 * d] = sigmoid(logits[..., d:2 * d])
    out[..., 2 * d:] = np.tanh(logits[..., 2 * d:])
    return out


class GrooveDecoder:
    """One GrooveLstmDecoder (variables under ``prefix``), ``depth`` (27) outputs."""

    def __init__(self, variables: Mapping[str, np.ndarray], prefix: str, depth: int,
                 condition_size: int, layers: int, dtype: type = np.float32):
        self.depth = depth
        self.dtype = dtype
        output = (variables[f"{prefix}/output_projection/kernel"],
                  variables[f"{prefix}/output_projection/bias"])
        self.stack = _stack(variables, f"{prefix}/multi_rnn_cell", layers,
                            depth + condition_size, output, dtype)
        rows = self.stack.input_rows
        self.row_kernel = np.ascontiguousarray(rows[:depth])
        self.condition_rows = np.ascontiguousarray(rows[depth:])
        self.init_kernel = np.ascontiguousarray(variables[f"{prefix}/z_to_initial_state/kernel"],
                                                dtype)
        self.init_bias = np.asarray(variables[f"{prefix}/z_to_initial_state/bias"], dtype)

    def run(self, z: np.ndarray, steps: int, temperature: float = 0.0,
            rng: np.random.Generator | None = None, forced: np.ndarray | None = None,
            keep_logits: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Decode ``steps`` rows for each ``z [B, Z]``: ``(rows [B, steps, 27], logits or
        None)``. With ``forced [B, steps, 27]`` those rows are fed back instead (teacher
        forcing) and the rows returned are the activated logits."""
        z = np.asarray(z, self.dtype)
        batch = z.shape[0]
        initial = np.tanh(z @ self.init_kernel + self.init_bias)
        run = self.stack.start(batch)
        run.load(initial)
        constant = z @ self.condition_rows
        uniforms = None
        if temperature > 0 and forced is None:
            rng = rng if rng is not None else np.random.default_rng()
            uniforms = rng.random((batch, steps, DRUM_CLASSES), dtype=self.dtype)
        rows = np.empty((batch, steps, self.depth), self.dtype)
        logits_out = np.empty((batch, steps, self.depth), self.dtype) if keep_logits else None
        previous = np.zeros((batch, self.depth), self.dtype)
        for step in range(steps):
            run.step(constant + previous @ self.row_kernel)
            logits = run.output
            if logits_out is not None:
                logits_out[:, step] = logits
            rows[:, step] = activate(logits, None if uniforms is None else uniforms[:, step],
                                     temperature)
            previous = rows[:, step] if forced is None else \
                np.asarray(forced[:, step], self.dtype)
        return rows, logits_out


__all__ = ["GrooveDecoder", "activate"]
