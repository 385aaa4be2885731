"""A drum loop through a groove model (GrooVAE): its notes' velocities and timing.

The answer to a ``HumanizeRequest``, in the model worker's process. The loop's notes on the
16th grid become the groove converter's rows (hit and velocity per drum class, no offset:
what the humanize config's encoder reads anyway), window by window; each window's μ is
decoded (at the request's temperature) and every note of the loop takes the decoded velocity
and offset of its step and drum class, whether or not the decoder hit there: the track keeps
its pattern and takes the model's feel. A note whose pitch is in no drum class keeps its
velocity and the grid.
"""

from __future__ import annotations

import time

import numpy as np
from latentjam.models.configs import DRUM_CLASSES, GROOVE_DEPTH
from latentjam.models.encodings.groove import INFER_PITCH_CLASSES, pitch_map
from latentjam.models.errors import InputError
from latentjam.models.service.requests import HumanizeRequest, ModelResult
from latentjam.models.trained_model import TrainedModel

_CLASSES = pitch_map(INFER_PITCH_CLASSES)


def groove_rows(request: HumanizeRequest) -> np.ndarray:
    """The loop's rows ``[steps, 27]``: each note a hit at its velocity, on the grid."""
    rows = np.zeros((request.loop.steps, GROOVE_DEPTH), np.float32)
    for note in request.loop.notes:
        cls = _CLASSES.get(note.pitch)
        if cls is not None and note.velocity / 127.0 > rows[note.start_step, DRUM_CLASSES + cls]:
            rows[note.start_step, cls] = 1.0
            rows[note.start_step, DRUM_CLASSES + cls] = note.velocity / 127.0
    return rows


def humanized(model: TrainedModel, request: HumanizeRequest, rng: np.random.Generator,
              began: float | None = None) -> ModelResult:
    """``ModelResult.played``: per note of the loop, (velocity, timing in steps)."""
    began = time.perf_counter() if began is None else began
    config = model.config
    if not config.is_groove:
        raise InputError(f"{config.name} is not a groove model (GrooVAE): it cannot humanize")
    window = config.hparams.max_seq_len
    steps = request.loop.steps
    steps_per_bar = config.converter.steps_per_bar
    if steps < 1 or steps % steps_per_bar:
        raise InputError(f"a loop to humanize must cover whole bars of {steps_per_bar} steps, "
                         f"got {steps}")
    rows = groove_rows(request)
    windows = -(-steps // window)
    filled = np.resize(rows, (windows * window, GROOVE_DEPTH))  # repeats the loop
    inputs = model.converter.encoder_inputs(filled.reshape(windows, window, GROOVE_DEPTH))
    _, mu, _ = model.vae.encode(inputs, rng=rng)
    decoded = model.vae.decode(mu, temperature=request.temperature, rng=rng)
    flat = decoded.reshape(-1, GROOVE_DEPTH)[:steps]
    played = []
    for note in request.loop.notes:
        cls = _CLASSES.get(note.pitch)
        if cls is None:
            played.append((note.velocity, 0.0))
            continue
        row = flat[note.start_step]
        velocity = int(np.clip(int(np.round(float(row[DRUM_CLASSES + cls]) * 127)), 1, 127))
        # the converter's offset is 2 * (grid - onset) / step: a note plays -offset / 2 late
        timing = -float(np.clip(float(row[2 * DRUM_CLASSES + cls]) / 2, -0.5, 0.5))
        played.append((velocity, timing))
    return ModelResult(np.ascontiguousarray(mu), decoded, (), time.perf_counter() - began,
                       played=tuple(played))


__all__ = ["groove_rows", "humanized"]
