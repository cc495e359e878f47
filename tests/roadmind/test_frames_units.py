from __future__ import annotations

import math

import carla
import numpy as np
import pytest

from roadmind.frames import Pose
from roadmind.units import kmh_to_mps, mph_to_mps, speed_to_mps, wrap_angle_rad


@pytest.mark.parametrize("angles", [(0, 0, 0), (10, -20, 135), (-5, 30, -80), (0, 0, 270)])
def test_pose_matrix_matches_carla(angles: tuple[float, float, float]) -> None:
    roll, pitch, yaw = angles
    tr = carla.Transform(
        carla.Location(1.0, 2.0, 3.0), carla.Rotation(pitch=pitch, yaw=yaw, roll=roll)
    )
    pose = Pose.from_carla_degrees(1.0, 2.0, 3.0, roll, pitch, yaw)
    np.testing.assert_allclose(pose.matrix(), np.array(tr.get_matrix()), atol=1e-5)
    point = carla.Location(0.5, -1.5, 2.0)
    expected = tr.transform(point)
    got = pose.transform_points(np.array([[0.5, -1.5, 2.0]]))[0]
    np.testing.assert_allclose(got, [expected.x, expected.y, expected.z], atol=1e-4)


def test_positive_yaw_turns_forward_to_the_right() -> None:
    np.testing.assert_allclose(Pose(yaw_rad=math.pi / 2).forward, [0.0, 1.0, 0.0], atol=1e-12)


def test_compose_inverse_and_from_matrix() -> None:
    a = Pose(3.0, -1.0, 0.2, 0.05, -0.1, 2.0)
    b = Pose(1.0, 0.5, 1.5, 0.0, 0.1, -0.4)
    ab = a.compose(b)
    pts = np.random.default_rng(1).normal(size=(10, 3))
    np.testing.assert_allclose(
        ab.transform_points(pts), a.transform_points(b.transform_points(pts))
    )
    np.testing.assert_allclose(
        ab.inverse_transform_points(ab.transform_points(pts)), pts, atol=1e-9
    )
    back = Pose.from_matrix(ab.matrix())
    np.testing.assert_allclose(back.matrix(), ab.matrix(), atol=1e-9)


def test_from_matrix_rejects_non_rigid() -> None:
    m = np.eye(4)
    m[0, 0] = 2.0
    with pytest.raises(ValueError, match="not a rigid transform"):
        Pose.from_matrix(m)


def test_speed_units() -> None:
    assert kmh_to_mps(36.0) == pytest.approx(10.0)
    assert mph_to_mps(20.0) == pytest.approx(8.9408)
    assert speed_to_mps(50, "km/h") == pytest.approx(13.8889, rel=1e-4)
    assert speed_to_mps(30, "mph") == pytest.approx(13.4112)
    with pytest.raises(ValueError, match="unknown speed unit 'knots'"):
        speed_to_mps(10, "knots")
    assert wrap_angle_rad(3 * math.pi) == pytest.approx(-math.pi)
