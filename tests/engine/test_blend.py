"""A blend track's point, loop by loop: the circle, the walk inside the square, a line to a
point set over OSC, the grid's lattice."""

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
)


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
