"""What the engine asks a model for, what it gets back, and how a loaded model answers.

Requests are small frozen dataclasses, checked where they are made (in the engine's
process), so a bad value fails at once with a message naming it rather than in the worker.
``answer`` is the worker's side: a plain function of (model, request), reproducible for a
given seed, and testable without a process. Every result holds the latent vectors ``z``
``[n, z_size]`` and the decoded classes ``[n, steps]`` (a trio: ``[n, steps, 3]``).

The walk and the interpolation are ``models.inference.latent``'s ``walk`` and ``slerp_at``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from latentjam.engine.commands import check_temperature
from latentjam.engine.errors import SettingError
from latentjam.models.configs import ModelConfig
from latentjam.models.errors import InputError
from latentjam.models.inference.latent import slerp_at, walk

if TYPE_CHECKING:
    from latentjam.models.trained_model import TrainedModel

MAX_COUNT = 64  # most windows one request may ask for


def _check_seed(value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 0):
        raise SettingError(f"seed must be None or an int >= 0, got {value!r}")


def _check_count(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise SettingError(f"count must be an int in 1..{MAX_COUNT}, got {value!r}")


def _check_fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or not 0 <= value <= 1:
        raise SettingError(f"{name} must be a number in 0..1, got {value!r}")
    return float(value)


def _latent(name: str, value: object, batch: bool = False) -> np.ndarray:
    array = np.array(value, dtype=np.float32)  # a private copy: the caller may reuse theirs
    shapes_ok = array.ndim == 1 or (batch and array.ndim == 2)
    if not shapes_ok or array.shape[-1] < 1 or array.size == 0:
        raise SettingError(f"{name} must be one latent vector{' (or a batch)' if batch else ''}"
                           f", got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise SettingError(f"{name} holds NaN or infinite values")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class SampleRequest:
    """``count`` fresh draws of z from the prior, decoded."""

    temperature: float = 0.5  # 0 takes the likeliest class at each step; higher is wilder
    seed: int | None = None  # same seed, same answer; None draws from the OS
    count: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", check_temperature(self.temperature))
        _check_seed(self.seed)
        _check_count(self.count)


@dataclass(frozen=True, eq=False)
class WalkRequest:
    """``count`` successive steps of a random walk from ``z``, each decoded."""

    z: np.ndarray  # [z_size] where the walk stands
    step_size: float  # 0..1: 0 stays, 1 is a fresh sample (see the module docstring)
    temperature: float = 0.0
    seed: int | None = None
    count: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "z", _latent("z", self.z))
        object.__setattr__(self, "step_size", _check_fraction("step_size", self.step_size))
        object.__setattr__(self, "temperature", check_temperature(self.temperature))
        _check_seed(self.seed)
        _check_count(self.count)


@dataclass(frozen=True, eq=False)
class InterpolateRequest:
    """Points at ``fractions`` of the great circle from ``z_start`` to ``z_end``, decoded."""

    z_start: np.ndarray  # [z_size]
    z_end: np.ndarray  # [z_size]
    fractions: tuple[float, ...]  # each 0..1: 0 is z_start, 1 is z_end
    temperature: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        start, end = _latent("z_start", self.z_start), _latent("z_end", self.z_end)
        if start.shape != end.shape:
            raise SettingError(f"z_start and z_end differ in shape: {start.shape} and "
                               f"{end.shape}")
        fractions = tuple(self.fractions) if isinstance(self.fractions, list | tuple) else ()
        if not 1 <= len(fractions) <= MAX_COUNT:
            raise SettingError(f"fractions must be 1..{MAX_COUNT} numbers in 0..1, got "
                               f"{self.fractions!r}")
        object.__setattr__(self, "z_start", start)
        object.__setattr__(self, "z_end", end)
        object.__setattr__(self, "fractions",
                           tuple(_check_fraction("fraction", f) for f in fractions))
        object.__setattr__(self, "temperature", check_temperature(self.temperature))
        _check_seed(self.seed)


@dataclass(frozen=True, eq=False)
class EncodeRequest:
    """The latent vector (the encoder's mean, deterministic) of one window of classes."""

    classes: np.ndarray  # [steps] or, for a trio, [steps, 3]

    def __post_init__(self) -> None:
        classes = np.array(self.classes)
        if classes.ndim not in (1, 2) or classes.shape[0] < 1 \
                or not np.issubdtype(classes.dtype, np.integer):
            raise SettingError(f"classes must be integers shaped [steps] or [steps, parts], "
                               f"got {classes.dtype} {classes.shape}")
        classes = classes.astype(np.int64)
        classes.flags.writeable = False
        object.__setattr__(self, "classes", classes)


@dataclass(frozen=True, eq=False)
class DecodeRequest:
    """The decode of given latent vectors."""

    z: np.ndarray  # [z_size] or [n, z_size]
    temperature: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "z", _latent("z", self.z, batch=True))
        if self.z.ndim == 2 and not 1 <= self.z.shape[0] <= MAX_COUNT:
            raise SettingError(f"decode takes 1..{MAX_COUNT} latent vectors, got "
                               f"{self.z.shape[0]}")
        object.__setattr__(self, "temperature", check_temperature(self.temperature))
        _check_seed(self.seed)


ModelRequest = SampleRequest | WalkRequest | InterpolateRequest | EncodeRequest | DecodeRequest


@dataclass(frozen=True, eq=False)
class ModelResult:
    z: np.ndarray  # [n, z_size] float32
    classes: np.ndarray  # [n, steps] int64, or [n, steps, 3] for a trio
    compute_s: float = 0.0  # the worker's time on it (perf_counter), for logs and benchmarks


@dataclass(frozen=True)
class ModelInfo:
    """What the engine needs to know of the loaded model (its converter is built from it)."""

    config: ModelConfig
    source: str  # what was loaded, for messages
    z_size: int
    window_steps: int  # steps of one decoded window
    load_s: float = 0.0  # the worker's time to load it (s)


def answer(model: TrainedModel, request: ModelRequest) -> ModelResult:
    """The model's answer to one request (in the worker process). A ``ModelError`` (a z of
    the wrong size, classes the converter refuses) says what the model could not take."""
    began = time.perf_counter()
    rng = np.random.default_rng(getattr(request, "seed", None))
    vae = model.vae
    temperature = getattr(request, "temperature", 0.0)
    if isinstance(request, SampleRequest):
        z = rng.standard_normal((request.count, vae.z_size)).astype(np.float32)
    elif isinstance(request, WalkRequest):
        z = walk(request.z, request.step_size, request.count, rng)
    elif isinstance(request, InterpolateRequest):
        z = slerp_at(request.z_start, request.z_end, request.fractions).astype(np.float32)
    elif isinstance(request, EncodeRequest):
        try:
            inputs = model.converter.encoder_inputs(request.classes)
        except (ValueError, IndexError) as err:
            raise InputError(f"classes do not fit {model.config.name}: {err}") from err
        _, mu, _ = vae.encode(inputs[None], rng=rng)
        return ModelResult(mu, request.classes[None].copy(), time.perf_counter() - began)
    elif isinstance(request, DecodeRequest):
        z = request.z if request.z.ndim == 2 else request.z[None]
    else:
        raise InputError(f"unknown model request {type(request).__name__}")
    classes = vae.decode(z, temperature=temperature, rng=rng)
    return ModelResult(np.ascontiguousarray(z), classes, time.perf_counter() - began)
