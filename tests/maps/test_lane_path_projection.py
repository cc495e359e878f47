"""Projecting points onto a lane path, one at a time and many at once."""

from __future__ import annotations

import math

import numpy as np

from maps.lane_path import LanePath


def _bend() -> LanePath:
    """A path along x for 50 m, then a quarter circle of radius 20 m to the right."""
    straight = LanePath.straight(50.0)
    arc = [
        (50.0 + 20.0 * math.sin(t), 20.0 - 20.0 * math.cos(t), 0.0)
        for t in np.linspace(0.0, math.pi / 2, 32)[1:]
    ]
    points = np.vstack([straight.points, np.array(arc)])
    steps = np.linalg.norm(np.diff(points[:, :2], axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(steps)])
    yaw = np.arctan2(np.gradient(points[:, 1]), np.gradient(points[:, 0]))
    n = len(points)
    zeros = np.zeros(n, int)
    return LanePath(points, yaw, s, zeros, zeros, s.copy(), np.full(n, -1))


def test_a_point_beside_the_straight_part_projects_to_its_x_and_offset() -> None:
    path = _bend()
    s, lateral = path.project(np.array([20.0, 1.5]))
    assert math.isclose(s, 20.0, abs_tol=1e-9) and math.isclose(lateral, 1.5, abs_tol=1e-9)
    s, lateral = path.project(np.array([30.0, -2.0]), s_hint=30.0, window_m=5.0)
    assert math.isclose(s, 30.0, abs_tol=1e-9) and math.isclose(lateral, -2.0, abs_tol=1e-9)


def test_many_at_once_equal_one_at_a_time_bit_for_bit() -> None:
    path = _bend()
    rng = np.random.default_rng(3)
    xy = path.points[rng.integers(len(path.points), size=40), :2] + rng.normal(0, 4, (40, 2))
    for hint in (None, 10.0, 60.0):
        s_many, lat_many = path.project_many(xy, s_hint=hint, window_m=25.0)
        for i, point in enumerate(xy):
            assert (s_many[i], lat_many[i]) == path.project(point, s_hint=hint, window_m=25.0)
