"""Paths through the latent space: spherical interpolation as Magenta's TrainedModel does it."""

from __future__ import annotations

import numpy as np
from latentjam.models.errors import InputError

# Below this sin(angle) the two directions are (anti)parallel and slerp's weights blow up.
_PARALLEL_SIN = 1e-6


def slerp(z_a: np.ndarray, z_b: np.ndarray, num_steps: int) -> np.ndarray:
    """``num_steps`` points from ``z_a`` to ``z_b`` (both included) along the great circle.

    ``z_a`` and ``z_b`` are ``[..., Z]`` of one shape; the result is ``[num_steps, ..., Z]``
    in their dtype. Like Magenta's ``_slerp``, the angle comes from the unit directions and
    the weights apply to the vectors themselves, so lengths blend linearly-ish between the
    ends. Where the angle vanishes (parallel, opposite or zero vectors) it interpolates
    linearly instead.
    """
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) \
            or num_steps < 1:
        raise InputError(f"num_steps must be a positive integer, got {num_steps!r}")
    return slerp_at(z_a, z_b, np.linspace(0.0, 1.0, num_steps))


def slerp_at(z_a: np.ndarray, z_b: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """The points at ``fractions`` (each 0..1: 0 is ``z_a``, 1 is ``z_b``, exactly) of the
    great circle from ``z_a`` to ``z_b``: ``[len(fractions), ..., Z]`` (see ``slerp``)."""
    a, b = np.asarray(z_a), np.asarray(z_b)
    if a.shape != b.shape or a.ndim == 0:
        raise InputError(f"slerp needs two latent vectors of one shape, got {a.shape} "
                         f"and {b.shape}")
    t = np.asarray(fractions, np.float64).reshape(-1)
    if t.size == 0 or not np.all((t >= 0) & (t <= 1)):
        raise InputError(f"slerp fractions must be numbers in 0..1, got {fractions!r}")
    dtype = np.result_type(a.dtype, np.float32)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    norms = np.linalg.norm(a64, axis=-1) * np.linalg.norm(b64, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.clip(np.sum(a64 * b64, axis=-1) / norms, -1.0, 1.0)
    omega = np.arccos(np.where(np.isfinite(cos), cos, 1.0))[..., None]
    sin = np.sin(omega)
    t = t.reshape((t.size,) + (1,) * a.ndim)
    spherical = sin > _PARALLEL_SIN
    safe_sin = np.where(spherical, sin, 1.0)
    weight_a = np.where(spherical, np.sin((1.0 - t) * omega) / safe_sin, 1.0 - t)
    weight_b = np.where(spherical, np.sin(t * omega) / safe_sin, t)
    out = weight_a * a64 + weight_b * b64
    # The ends exactly, whatever the rounding.
    out[t.reshape(-1) == 0] = a64
    out[t.reshape(-1) == 1] = b64
    return out.astype(dtype)


def walk(z: np.ndarray, step_size: float, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` successive steps of a random walk from ``z``: ``[count, Z]`` float32.

    Each step is ``z' = sqrt(1 - s²)·z + s·ε`` with ``ε ~ N(0, I)``: for a small step size
    ``s`` it moves about ``s·sqrt(Z)``, a fraction ``s`` of a typical z's length, and, unlike
    adding noise, it keeps a long walk inside the prior (the variance of z stays 1) instead of
    drifting outwards where the decoder has never been. ``s = 1`` is a fresh sample.
    """
    if not 0 <= step_size <= 1:
        raise InputError(f"walk step size must be in 0..1, got {step_size!r}")
    keep = float(np.sqrt(1.0 - step_size ** 2))
    out = np.empty((count, np.shape(z)[-1]), np.float32)
    current = np.asarray(z, np.float32)
    for step in range(count):
        current = keep * current + step_size * rng.standard_normal(current.shape
                                                                     ).astype(np.float32)
        out[step] = current
    return out
