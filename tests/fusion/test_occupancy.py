"""Occupancy grid: cells under obstacle points, oriented like the bird's-eye view."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.occupancy import GridSpec, occupancy


def test_a_car_ahead_right_fills_its_cells_and_nothing_else() -> None:
    spec = GridSpec(ahead_m=40, behind_m=10, side_m=20, resolution_m=0.5)
    xs, ys = np.meshgrid(np.linspace(19.1, 23.4, 30), np.linspace(2.1, 3.9, 12))
    car = np.stack([xs.ravel(), ys.ravel(), np.full(xs.size, 1.0)], axis=1)
    grid = occupancy(car, spec)
    assert grid.shape == (100, 80)
    rows, cols = np.nonzero(grid)
    # x 19..23.5 m ahead -> rows (40 - x) / 0.5 = 33..41; y 2..4 m right -> cols 44..47
    assert rows.min() == 33 and rows.max() == 41
    assert cols.min() == 44 and cols.max() == 47
    assert grid.sum() == 9 * 4


def test_sparse_far_and_broken_points_stay_free() -> None:
    spec = GridSpec(min_points=2)
    lone = np.array([[5.0, 0.0, 1.0]])  # one return is noise
    outside = np.array([[500.0, 0.0, 1.0], [500.0, 0.0, 1.0]])
    broken = np.array([[np.nan, 1.0, 1.0], [np.nan, 1.0, 1.0]])
    grid = occupancy(np.concatenate([lone, outside, broken]), spec)
    assert grid.sum() == 0
    assert occupancy(np.zeros((0, 3)), spec).shape == spec.shape


def test_bad_grid_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="resolution_m"):
        GridSpec(resolution_m=0.0)
