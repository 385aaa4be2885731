"""Magenta's CategoricalLstmDecoder and the hierarchical conductor, on ``LstmStack``.

A categorical decoder is conditioned on one vector per segment (the whole z for a flat
model; each bar's conductor embedding for a hierarchical one, or each instrument's for the
multi-instrument performance models): each segment starts from
``tanh(condition @ z_to_initial_state)`` and every step's input is ``[previous class
one-hot, condition]``. The previous class carries across segments (Magenta starts each bar
from the last sample of the bar before, and an instrument from the last token of the one
before) and is all zeros at the very first step. Every segment runs its full length (no
stop at an end token: the converter trims after it). The one-hot part of a step's
pre-activation is a row lookup; the condition part is multiplied once per segment.

Since a segment depends on the one before only through that one class, segments can run
side by side as one batch, which reads each weight once per step for all of them instead
of once per segment: teacher-forced, every segment's first input is known. Free-running at
batch 1 or 2, segments after the first may start from a guessed class (speculation): one
pass runs every segment at once, then the segments are checked in order and each one whose
start was wrong is run again alone, from the right start, before the next is checked. The
result is exactly what one segment after another gives, because sampling noise is drawn
per segment and step in advance. Whether that pays depends on the weights: a trained model
often ends a bar on the guessed class and gains (the shipped trio: 12 ms instead of 21),
while on a checkpoint with Magenta's initialisers nearly every guess is wrong and the first
pass is wasted (about a third of the decode's time on the full-size trio). So each decoder
times its passes and follows what speculating saved against one segment after another (a
moving average over its decodes); while that is negative it runs its next decodes segment
after segment before guessing again (``RETRY_AFTER``, doubling after each try that does not
pay): on weights where every guess fails, a wasted pass once in ever more decodes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from latentjam.models.inference.stack import LstmStack

# Side-by-side segments pay off while a step's matrix products stay memory-bound; past this
# batch size they are compute-bound and re-running guessed segments costs more than it saves.
SPECULATE_MAX_BATCH = 2
GUESSED_START = 0  # every part's class 0: no event / no hit, the usual end of a bar
# Before a decoder has timed a one-segment pass, it takes one for this share of a first pass
# (S segments side by side) over S (measured 0.34-0.40 on the full-size trio, 0.46-0.56 on
# the shipped one, 16 segments at batch 1).
BATCHED_PASS_SHARE = 0.5
# What speculation saved (the share of a plain decode's time; below 0 it cost) is followed as
# a moving average, each decode weighing this much; while the average is below 0 the decoder
# runs its next RETRY_AFTER decodes segment after segment, then guesses again (and after each
# further try that does not pay, waits twice as long, up to MAX_RETRY_AFTER).
SAVING_WEIGHT = 0.25
RETRY_AFTER = 16
MAX_RETRY_AFTER = 1024
_clock = time.perf_counter  # what passes are timed with (tests give a fake one)


def _stack(variables: Mapping[str, np.ndarray], cell_prefix: str, layers: int,
           input_size: int, output: tuple[np.ndarray, np.ndarray] | None,
           dtype: type) -> LstmStack:
    kernels = [variables[f"{cell_prefix}/cell_{layer}/lstm_cell/kernel"] for layer in range(layers)]
    biases = [variables[f"{cell_prefix}/cell_{layer}/lstm_cell/bias"] for layer in range(layers)]
    return LstmStack(kernels, biases, input_size, output, dtype)


@dataclass
class _Segments:
    """Everything per (segment, example) a decode needs, computed once up front."""

    steps: int  # per segment
    initial: np.ndarray  # [S, B, state_size]
    terms: list[np.ndarray]  # per layer [S, B, 4U]: the first recurrent terms
    constant: np.ndarray  # [S, B, 4U0]: the condition's part of layer 0's pre-activation
    noise: np.ndarray | None  # [S, B, steps, depth]: temperature * Gumbel noise
    forced: np.ndarray | None  # [S, B, steps]: teacher-forced classes


class CategoricalDecoder:
    """One CategoricalLstmDecoder (variables under ``prefix``) with ``depth`` classes."""

    def __init__(self, variables: Mapping[str, np.ndarray], prefix: str, depth: int,
                 condition_size: int, layers: int, dtype: type = np.float32):
        self.depth = depth
        self.dtype = dtype
        output = (variables[f"{prefix}/output_projection/kernel"],
                  variables[f"{prefix}/output_projection/bias"])
        self.stack = _stack(variables, f"{prefix}/multi_rnn_cell", layers,
                            depth + condition_size, output, dtype)
        rows = self.stack.input_rows
        # One extra zero row: the "no previous output" input of the first step.
        self.class_rows = np.vstack([rows[:depth], np.zeros((1, rows.shape[1]), dtype)])
        self.condition_rows = np.ascontiguousarray(rows[depth:])
        self.init_kernel = np.ascontiguousarray(variables[f"{prefix}/z_to_initial_state/kernel"],
                                                dtype)
        self.init_bias = np.asarray(variables[f"{prefix}/z_to_initial_state/bias"], dtype)
        # Speculation's bookkeeping (SPECULATE_MAX_BATCH): seconds of a one-segment pass at
        # each batch size, the moving average of what speculating saved, decodes to run
        # without it.
        self.segment_s: dict[int, float] = {}
        self.saving = 0.0
        self.plain_runs_left = 0
        self.retry_after = RETRY_AFTER

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
        prepared = self._prepare(conditions, segment_steps, temperature, rng, forced)
        every = np.indices((segments, batch)).reshape(2, -1)
        starts = np.full((segments, batch), self.depth, np.int64)
        if forced is not None:
            starts[1:] = prepared.forced[:-1, :, -1]
            results = self._run_rows(prepared, *every, starts.ravel(), keep_logits)
        elif segments > 1 and batch <= SPECULATE_MAX_BATCH and self._may_speculate():
            results = self._run_speculating(prepared, starts, keep_logits)
        else:
            results = []
            timed = batch <= SPECULATE_MAX_BATCH
            for segment in range(segments):
                if segment:
                    starts[segment] = results[-1][0][:, -1]
                began = _clock() if timed else 0.0
                results.append(self._run_rows(prepared, np.full(batch, segment),
                                              np.arange(batch), starts[segment], keep_logits))
                if timed:
                    self._time_segment(batch, _clock() - began)
            results = _concat_rows(results)
        classes, logits = results
        # Rows are segment-major; put each example's segments one after another.
        classes = classes.reshape(segments, batch, -1).transpose(1, 0, 2).reshape(batch, -1)
        if logits is not None:
            logits = logits.reshape(segments, batch, segment_steps, self.depth)
            logits = logits.transpose(1, 0, 2, 3).reshape(batch, -1, self.depth)
        return classes, logits

    def _prepare(self, conditions: np.ndarray, steps: int, temperature: float,
                 rng: np.random.Generator | None, forced: np.ndarray | None) -> _Segments:
        segments, batch, _ = conditions.shape
        flat = conditions.reshape(segments * batch, -1).astype(self.dtype, copy=False)
        initial = np.tanh(flat @ self.init_kernel + self.init_bias)
        terms = [t.reshape(segments, batch, -1) for t in self.stack.recurrent_terms(initial)]
        noise = None
        if temperature > 0 and forced is None:
            noise = _gumbel(rng, (segments, batch, steps, self.depth), self.dtype)
            noise *= self.dtype(temperature)
        if forced is not None:
            forced = forced.reshape(batch, segments, steps).transpose(1, 0, 2)
        return _Segments(steps, initial.reshape(segments, batch, -1), terms,
                         (flat @ self.condition_rows).reshape(segments, batch, -1), noise, forced)

    def _may_speculate(self) -> bool:
        if self.plain_runs_left > 0:
            self.plain_runs_left -= 1
            return False
        return True

    def _time_segment(self, batch: int, seconds: float) -> None:
        known = self.segment_s.get(batch)
        self.segment_s[batch] = seconds if known is None else \
            known + SAVING_WEIGHT * (seconds - known)

    def _run_speculating(self, prepared: _Segments, starts: np.ndarray,
                         keep_logits: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Every segment at once from guessed starts, then until every start is right:
        rounds that run every wrong segment again side by side from the end the segment
        before has now (what pays when a segment's end hardly depends on its start), for as
        long as a round settles more segments than it costs; after that, the first wrong
        segment alone, and so on (a one-segment pass is the cheapest pass over the weights:
        on the full-size trio a few rows side by side cost nearly a full batch's)."""
        segments, batch = starts.shape
        began = _clock()
        starts[1:] = GUESSED_START
        segment_ids, items = np.indices((segments, batch)).reshape(2, -1)
        classes, logits = self._run_rows(prepared, segment_ids, items, starts.ravel(),
                                         keep_logits)
        round_s = _clock() - began
        unit = self.segment_s.get(batch, round_s / (BATCHED_PASS_SHARE * segments))
        classes = classes.reshape(segments, batch, -1)
        if logits is not None:
            logits = logits.reshape(segments, batch, -1, self.depth)
        side_by_side = True
        settled = 1  # segments before this one are final
        while True:
            wrong = starts[settled:] != classes[settled - 1:-1, :, -1]
            if not wrong.any():
                break
            wrong_segments = int(wrong.any(axis=1).sum())
            if side_by_side and wrong_segments * unit > round_s:
                segment_ids, items = np.nonzero(wrong)
                segment_ids += settled
                alone = False
            else:  # the first wrong segment alone: it is then final
                side_by_side = False
                first = int(np.flatnonzero(wrong.any(axis=1))[0])
                settled += first
                items = np.flatnonzero(wrong[first])
                segment_ids = np.full(items.size, settled)
                alone = True
            starts[segment_ids, items] = classes[segment_ids - 1, items, -1]
            round_began = _clock()
            redone, redone_logits = self._run_rows(prepared, segment_ids, items,
                                                   starts[segment_ids, items], keep_logits)
            seconds = _clock() - round_began
            classes[segment_ids, items] = redone
            if logits is not None:
                logits[segment_ids, items] = redone_logits
            if alone:
                settled += 1
                if items.size == batch:
                    self._time_segment(batch, seconds)
                    unit = self.segment_s[batch]
            else:
                # The round paid if it settled more segments than the time it took buys.
                still = starts[settled:] != classes[settled - 1:-1, :, -1]
                fixed = wrong_segments - int(still.any(axis=1).sum())
                side_by_side = fixed * unit > seconds
                round_s = seconds
        saved = 1.0 - (_clock() - began) / (segments * unit)
        self.saving += SAVING_WEIGHT * (saved - self.saving)
        if self.saving < 0:
            self.plain_runs_left = self.retry_after
            self.retry_after = min(2 * self.retry_after, MAX_RETRY_AFTER)
        else:
            self.retry_after = RETRY_AFTER
        return classes.reshape(segments * batch, -1), \
            None if logits is None else logits.reshape(segments * batch, -1, self.depth)

    def _run_rows(self, prepared: _Segments, segment_ids: np.ndarray, items: np.ndarray,
                  starts: np.ndarray, keep_logits: bool
                  ) -> tuple[np.ndarray, np.ndarray | None]:
        """Run the (segment, example) rows side by side from the given start classes."""
        rows = len(segment_ids)
        steps = prepared.steps
        run = self.stack.start(rows)
        run.load(prepared.initial[segment_ids, items],
                 [term[segment_ids, items] for term in prepared.terms])
        constant = prepared.constant[segment_ids, items]
        noise = None if prepared.noise is None else prepared.noise[segment_ids, items]
        forced = None if prepared.forced is None else prepared.forced[segment_ids, items]
        class_rows, logits = self.class_rows, run.output
        # One row: the condition's term joins the class rows, one lookup per step.
        table = class_rows + constant[0] if rows == 1 else None
        chosen = []
        logits_out = [] if keep_logits else None
        noisy = np.empty((rows, self.depth), self.dtype)
        previous = np.asarray(starts, np.int64)
        for step in range(steps):
            if table is not None:
                run.step(table[previous[0]])
            else:
                run.step(constant + class_rows[previous])
            if logits_out is not None:
                logits_out.append(logits.copy())
            if forced is not None:
                previous = forced[:, step]
            elif noise is None:
                previous = logits.argmax(axis=1)
            else:
                np.add(logits, noise[:, step], noisy)
                previous = noisy.argmax(axis=1)
            chosen.append(previous)
        return np.stack(chosen, axis=1), \
            None if logits_out is None else np.stack(logits_out, axis=1)


def _concat_rows(results: list[tuple[np.ndarray, np.ndarray | None]]
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    classes = np.concatenate([c for c, _ in results])
    logits = None if results[0][1] is None else np.concatenate([lg for _, lg in results])
    return classes, logits


def _gumbel(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """Standard Gumbel noise: argmax(logits / T + G) samples softmax(logits / T)."""
    u = rng.random(shape, dtype=np.float32).astype(dtype, copy=False)
    # u is in [0, 1): -log(u) is in (0, inf], so the noise is finite or -inf (never chosen).
    with np.errstate(divide="ignore"):
        return -np.log(-np.log(u))


class Conductor:
    """The hierarchical decoder's level-0 LSTM: one embedding per segment (a bar; an
    instrument for multiperf), from z.

    Its input is a constant 1-wide zero (``disable_autoregression``), so only the bias
    reaches layer 0's input pre-activation.
    """

    def __init__(self, variables: Mapping[str, np.ndarray], layers: int,
                 dtype: type = np.float32):
        prefix = "decoder/hierarchical_level_0"
        self.dtype = dtype
        self.stack = _stack(variables, prefix, layers, 1, None, dtype)
        self.init_kernel = np.ascontiguousarray(variables[f"{prefix}/initial_state/kernel"], dtype)
        self.init_bias = np.asarray(variables[f"{prefix}/initial_state/bias"], dtype)

    def embeddings(self, z: np.ndarray, bars: int) -> np.ndarray:
        """The top layer's h for each of the first ``bars`` steps (segments):
        ``[bars, B, units]``."""
        batch = z.shape[0]
        run = self.stack.start(batch)
        run.load(np.tanh(z.astype(self.dtype, copy=False) @ self.init_kernel + self.init_bias))
        out = np.empty((bars, batch, self.stack.units[-1]), self.dtype)
        for bar in range(bars):
            run.step()  # the input is zeros: only the bias, already inside the stack
            out[bar] = run.top_h
        return out
