"""Where a blending track stands in the square between its four corner loops, loop by loop.

In ``blend`` mode (Magenta's Beat Blender) each loop is the model's decode of the mix of the
four corners (anchor slots 0-3) at a point of the unit square; in ``grid`` mode (Latent
Loops) the point is on an N×N lattice, so the loops are the cells of a grid. The point
moves along a path, one move per new loop: ``still`` (where it was set), ``circle`` (around
the centre, ``speed`` turns a loop), ``walk`` (a random step of ``speed``, bouncing off the
edges) or, after a move was asked for, a straight ``line`` to a target over a number of
loops. Pure: the caller keeps the motion and gives the random generator.

Between two sets of corners (the radio's transition into the next song) the corners
themselves move: ``toward`` mixes each corner's latent vectors with the next set's, so the
decoded point is the same mix of the old point's vector and the new one's.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

CORNER_SLOTS = (0, 1, 2, 3)  # the anchors a blend mixes: (0, 0), (1, 0), (0, 1), (1, 1)
BLEND_PATHS = ("still", "circle", "walk")  # the paths a controller may choose
Point = tuple[float, float]


@dataclass(frozen=True)
class BlendMotion:
    point: Point = (0.5, 0.5)
    path: str = "circle"  # one of BLEND_PATHS, or "line" while a move is under way
    speed: float = 0.125  # circle: turns a loop; walk: the step's length (the square is 1)
    phase: float = 0.0  # circle: where on it, in turns from the right edge's middle
    target: Point | None = None  # line: where it goes
    loops_left: int = 0  # line: loops until it is there


def advance(motion: BlendMotion, rng: np.random.Generator) -> BlendMotion:
    """The motion one loop on."""
    x, y = motion.point
    if motion.path == "circle":
        phase = (motion.phase + motion.speed) % 1.0
        angle = 2 * math.pi * phase
        point = (0.5 + 0.5 * math.cos(angle), 0.5 + 0.5 * math.sin(angle))
        return dataclasses.replace(motion, point=_clamped(point), phase=phase)
    if motion.path == "walk":
        angle = rng.uniform(0.0, 2 * math.pi)
        point = (_bounced(x + motion.speed * math.cos(angle)),
                 _bounced(y + motion.speed * math.sin(angle)))
        return dataclasses.replace(motion, point=point)
    if motion.path == "line" and motion.target is not None and motion.loops_left > 0:
        share = 1.0 / motion.loops_left
        tx, ty = motion.target
        point = (x + share * (tx - x), y + share * (ty - y))
        if motion.loops_left == 1:  # there: it stays
            return BlendMotion(motion.target, "still", motion.speed)
        return dataclasses.replace(motion, point=_clamped(point),
                                   loops_left=motion.loops_left - 1)
    return motion


def moved_to(motion: BlendMotion, point: Point, loops: int = 0) -> BlendMotion:
    """The motion after a controller set the point: there at once (``loops`` 0), or along a
    line that gets there in ``loops`` loops; either way it stays there after."""
    if loops <= 0:
        return BlendMotion(point, "still", motion.speed)
    return dataclasses.replace(motion, path="line", target=point, loops_left=loops)


def toward(corners: tuple[np.ndarray, ...], upcoming: tuple[np.ndarray | None, ...],
           share: float) -> tuple[np.ndarray, ...]:
    """Each corner ``share`` (0..1) of the way to the upcoming one (None: it stays). A
    corner is ``[windows, z_size]``; two of different window counts repeat their windows to
    the longer one's, as a blend mixes them."""
    out = []
    for corner, new in zip(corners, upcoming, strict=True):
        if new is None or share <= 0:
            out.append(corner)
            continue
        old, new = np.atleast_2d(corner), np.atleast_2d(new)
        windows = np.arange(max(len(old), len(new)))
        mixed = (1 - share) * old[windows % len(old)].astype(np.float64) \
            + share * new[windows % len(new)].astype(np.float64)
        out.append(mixed.astype(np.float32))
    return tuple(out)


def on_grid(point: Point, size: int) -> Point:
    """The nearest point of the ``size`` × ``size`` lattice of the square's cells."""
    return tuple(round(v * (size - 1)) / (size - 1) for v in point)


def grid_cell(point: Point, size: int) -> tuple[int, int]:
    """(row, column) of the cell nearest ``point``: row from y, column from x."""
    x, y = point
    return round(y * (size - 1)), round(x * (size - 1))


def cell_point(row: int, column: int, size: int) -> Point:
    return column / (size - 1), row / (size - 1)


def _bounced(value: float) -> float:
    value = abs(value) % 2.0
    return 2.0 - value if value > 1.0 else value


def _clamped(point: Point) -> Point:
    return tuple(min(max(v, 0.0), 1.0) for v in point)
