"""A blend track's point, loop by loop: the circle, the walk inside the square, a line to a
point set over OSC, the grid's lattice; corners moving toward the next ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
from latentjam.engine.blend import (
    BlendMotion,
    advance,
    cell_point,
    grid_cell,
    moved_to,
    on_grid,
    toward,
)
from latentjam.models.service.answer import blend_at


def test_the_circle_turns_speed_a_loop_around_the_centre():
    motion = BlendMotion(path="circle", speed=0.25)
    points = []
    for _ in range(4):
        motion = advance(motion, np.random.default_rng(0))
        points.append(motion.point)
    np.testing.assert_allclose(points, [(0.5, 1.0), (0.0, 0.5), (0.5, 0.0), (1.0, 0.5)],
                               atol=1e-12)


def test_the_walk_takes_steps_of_its_speed_and_never_leaves_the_square():
    rng = np.random.default_rng(1)
    motion = BlendMotion((0.9, 0.1), path="walk", speed=0.3)
    for _ in range(500):
        moved = advance(motion, rng)
        x, y = moved.point
        assert 0 <= x <= 1 and 0 <= y <= 1
        assert math.dist(moved.point, motion.point) <= 0.3 + 1e-9
        motion = moved
    assert motion.point != (0.9, 0.1)


def test_a_point_set_is_reached_along_a_line_and_then_kept():
    motion = moved_to(BlendMotion((0.0, 0.0), path="circle"), (1.0, 0.5), loops=4)
    rng = np.random.default_rng(2)
    points = []
    for _ in range(6):
        motion = advance(motion, rng)
        points.append(motion.point)
    np.testing.assert_allclose(points, [(0.25, 0.125), (0.5, 0.25), (0.75, 0.375)] +
                               [(1.0, 0.5)] * 3, atol=1e-12)
    assert motion.path == "still"


def test_a_point_set_at_once_stays():
    motion = moved_to(BlendMotion(path="walk"), (0.2, 0.7))
    assert advance(motion, np.random.default_rng(3)).point == (0.2, 0.7)


@pytest.mark.parametrize("size", [2, 3, 5, 16])
def test_grid_cells_and_points_are_one_lattice(size):
    for row in range(size):
        for column in range(size):
            point = cell_point(row, column, size)
            assert grid_cell(point, size) == (row, column)
            assert on_grid(point, size) == point
    assert on_grid((0.49, 0.01), 3) == (0.5, 0.0)


def test_corners_moved_toward_the_next_mix_the_old_and_the_new_point():
    rng = np.random.default_rng(0)
    old = tuple(rng.standard_normal((2, 8)).astype(np.float32) for _ in range(4))
    new = tuple(rng.standard_normal((1, 8)).astype(np.float32) for _ in range(4))
    assert all(a is b for a, b in zip(toward(old, new, 0.0), old, strict=True))
    np.testing.assert_array_equal(toward(old, new, 1.0)[2], np.repeat(new[2], 2, axis=0))
    for share in (0.25, 0.5, 0.9):
        mixed = toward(old, new, share)
        assert all(c.shape == (2, 8) and c.dtype == np.float32 for c in mixed)
        for window in range(2):  # the one-window corners repeat to the two-window ones
            point = blend_at([c[window] for c in mixed], 0.3, 0.8)
            expected = (1 - share) * blend_at([c[window] for c in old], 0.3, 0.8) \
                + share * blend_at([c[0] for c in new], 0.3, 0.8)
            np.testing.assert_allclose(point, expected, atol=1e-5)


def test_a_next_corner_that_could_not_be_made_leaves_its_corner_where_it_is():
    old = tuple(np.full((1, 4), float(i), np.float32) for i in range(4))
    new = (np.ones((1, 4), np.float32), None, None, np.zeros((1, 4), np.float32))
    mixed = toward(old, new, 0.5)
    assert mixed[1] is old[1] and mixed[2] is old[2]
    np.testing.assert_allclose(mixed[0], 0.5)
    np.testing.assert_allclose(mixed[3], 1.5)
