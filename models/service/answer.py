"""How a loaded model answers the service's requests (in the model worker's process).

``LoadedModel.answer`` is a plain function of (model, request), reproducible for a given
seed and testable without a process. The latent moves are planned here, once: a sample's
windows, a walk, the points between two loops, the mix of four. Decoded classes go out as
notes on the step grid, read by the model's own converter (so what a class means lives in
one place), and a played-in loop comes in as notes and goes through the same converter to
be encoded.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from latentjam.models.configs import ModelConfig, any_program
from latentjam.models.encodings.converters import Converter, get_converter
from latentjam.models.errors import InputError, ModelError
from latentjam.models.inference.latent import slerp_at, walk
from latentjam.models.notesequence import Note, NoteSequence, Tempo, TimeSignature
from latentjam.models.parts import note_part
from latentjam.models.service.requests import (
    BlendRequest,
    DecodeRequest,
    EncodeNotesRequest,
    EncodeRequest,
    HumanizeRequest,
    InterpolateRequest,
    ModelInfo,
    ModelRequest,
    ModelResult,
    SampleRequest,
    StepLoop,
    StepNote,
    WalkRequest,
)
from latentjam.models.trained_model import TrainedModel

BEATS_PER_WINDOW_BAR = 4  # Magenta's windows are 4/4 bars
DRUM_INSTRUMENT = 9  # where a played-in drum note goes in a NoteSequence (GM channel 10)


class LoadedModel:
    """A model loaded once (``TrainedModel.load``), answering requests one at a time."""

    def __init__(self, model: str | Path | None = None,
                 config: str | Path | ModelConfig | None = None) -> None:
        began = time.perf_counter()
        self.model = TrainedModel.load(model, config)
        self.info = ModelInfo(self.model.config, self.model.source, self.model.vae.z_size,
                              self.model.window_steps, time.perf_counter() - began)

    def answer(self, request: ModelRequest) -> ModelResult:
        return answer(self.model, request)


def answer(model: TrainedModel, request: ModelRequest) -> ModelResult:
    """The model's answer to one request. A ``ModelError`` (a z of the wrong size, classes
    or notes the converter refuses) says what the model could not take."""
    began = time.perf_counter()
    rng = np.random.default_rng(getattr(request, "seed", None))
    if isinstance(request, HumanizeRequest):
        from latentjam.models.service.groove import humanized

        return humanized(model, request, rng, began)
    if isinstance(request, EncodeRequest | EncodeNotesRequest):
        classes = request.classes if isinstance(request, EncodeRequest) else \
            first_window(get_converter(any_program(model.config)), request.loop,
                         model.config.name)
        try:
            inputs = model.converter.encoder_inputs(classes)
        except (ValueError, IndexError) as err:
            raise InputError(f"classes do not fit {model.config.name}: {err}") from err
        _, mu, _ = model.vae.encode(inputs[None], rng=rng)
        return ModelResult(mu, classes[None].copy(), (), time.perf_counter() - began)
    z = plan(request, model.vae.z_size, rng)
    classes = model.vae.decode(z, temperature=request.temperature, rng=rng)
    loops = tuple(step_loop(window, model.converter) for window in classes)
    return ModelResult(np.ascontiguousarray(z), classes, loops, time.perf_counter() - began)


def plan(request: ModelRequest, z_size: int, rng: np.random.Generator) -> np.ndarray:
    """The latent vectors ``[n, z_size]`` a decoding request asks for."""
    if isinstance(request, SampleRequest):
        if request.walk_step is None:
            return rng.standard_normal((request.count, z_size)).astype(np.float32)
        first = rng.standard_normal((1, z_size)).astype(np.float32)
        rest = walk(first[0], request.walk_step, request.count - 1, rng)
        return np.concatenate([first, rest])
    if isinstance(request, WalkRequest):
        return walk(request.z, request.step_size, request.count, rng)
    if isinstance(request, InterpolateRequest):
        start, end = np.atleast_2d(request.z_start), np.atleast_2d(request.z_end)
        return np.stack([slerp_at(start[i % len(start)], end[i % len(end)], [fraction])[0]
                         for fraction in request.fractions
                         for i in range(request.windows)]).astype(np.float32)
    if isinstance(request, BlendRequest):
        corners = [np.atleast_2d(c) for c in request.corners]
        return np.stack([blend_at([c[i % len(c)] for c in corners], *request.point)
                         for i in range(request.windows)]).astype(np.float32)
    if isinstance(request, DecodeRequest):
        return request.z if request.z.ndim == 2 else request.z[None]
    raise InputError(f"unknown model request {type(request).__name__}")


def blend_at(corners: list[np.ndarray], x: float, y: float) -> np.ndarray:
    """The bilinear mix of four latent vectors at (x, y) of the unit square: corner 0 at
    (0, 0), 1 at (1, 0), 2 at (0, 1), 3 at (1, 1); at a corner, that corner exactly."""
    weights = ((1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y)
    mixed = sum(w * np.asarray(c, np.float64) for w, c in zip(weights, corners, strict=True))
    for weight, corner in zip(weights, corners, strict=True):
        if weight == 1:
            return np.asarray(corner, np.float32)
    return mixed.astype(np.float32)


def step_loop(classes: np.ndarray, converter: Converter) -> StepLoop:
    """One window of decoded classes (melody or drums ``[T]``, trio ``[T, 3]``, a
    multi-instrument bar ``[8 * 64]`` of events) as notes, with each note's program.

    The converter reads the classes (as the model's own ``to_sequence`` does) at the tempo
    that makes one step last exactly one second, so its times are exact step counts."""
    config = converter.config
    if config.kind == "multiperf":  # events, not steps: the window is the bar
        steps = config.window_steps
    else:
        steps = int(np.shape(classes)[0]) if np.ndim(classes) else 0
    steps_per_bar = config.steps_per_quarter * BEATS_PER_WINDOW_BAR
    if steps < steps_per_bar or steps % steps_per_bar:
        raise InputError(f"decoded classes must cover whole bars of {steps_per_bar} steps, "
                         f"got {steps} steps")
    sequence = converter.to_sequence(np.asarray(classes), qpm=60.0 / config.steps_per_quarter)
    notes = []
    for note in sequence.notes:
        start, end = note.start_time, note.end_time
        if not (float(start).is_integer() and float(end).is_integer()):
            raise ModelError(f"converter put a note off the step grid: {start}..{end} steps")
        notes.append(StepNote(note_part(config.kind, note.instrument, note.is_drum),
                              note.pitch, note.velocity, int(start), int(end), note.is_drum,
                              note.program))
    return StepLoop(tuple(notes), steps)


def loop_sequence(loop: StepLoop, steps_per_quarter: int,
                  beats_per_bar: int = BEATS_PER_WINDOW_BAR) -> NoteSequence:
    """A loop on the step grid as a NoteSequence at the tempo that makes a step last one
    second, so the converter finds every note exactly on its step."""
    notes = [Note(n.pitch, n.velocity, float(n.start_step), float(n.end_step),
                  instrument=DRUM_INSTRUMENT if n.is_drum else 0, is_drum=n.is_drum)
             for n in loop.notes]
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, 60.0 / steps_per_quarter)],
                        time_signatures=[TimeSignature(0.0, beats_per_bar, 4)],
                        total_time=float(loop.steps))


def first_window(converter: Converter, loop: StepLoop, name: str) -> np.ndarray:
    """The classes of the first window of a played-in loop, taken as it is."""
    sequence = loop_sequence(loop, converter.config.steps_per_quarter)
    examples = converter.to_examples(sequence, training=False).examples
    if not examples:
        raise InputError(f"no {name} window in it (too short, or nothing the model can play)")
    return np.asarray(examples[0])
