"""Sensor calibration given as a 4x4 matrix: a rigid transform loads, anything else is
rejected when the rig is loaded, naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from roadmind.errors import ConfigError
from roadmind.frames import Pose
from sim.rig import load_rig


def _write(tmp_path: Path, pose: dict) -> Path:
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump({"cameras": [{"name": "front", "pose": pose}], "lidars": []}))
    return path


def test_a_rigid_matrix_is_the_same_mount_as_its_angles(tmp_path: Path) -> None:
    pose = Pose.from_carla_degrees(0.8, -0.2, 1.6, 1.5, -3.0, 12.0)
    rig = load_rig(_write(tmp_path, {"matrix": pose.matrix().tolist()}))
    assert np.allclose(rig.cameras[0].pose.to_pose().matrix(), pose.matrix(), atol=1e-9)


@pytest.mark.parametrize(
    ("matrix", "says"),
    [
        (np.diag([1.0, 1.0, 2.0, 1.0]), "not a rigid transform"),  # scales
        (np.diag([1.0, 1.0, -1.0, 1.0]), "determinant -1.0000"),  # mirrors
        (np.eye(3), "must be 4x4"),
        (np.vstack([np.eye(4)[:3], [0.0, 0.0, 1.0, 1.0]]), "last row"),
    ],
)
def test_a_matrix_that_is_not_a_rigid_transform_is_rejected(
    tmp_path: Path, matrix: np.ndarray, says: str
) -> None:
    path = _write(tmp_path, {"matrix": matrix.tolist()})
    with pytest.raises(ConfigError, match=says) as err:
        load_rig(path)
    assert str(path) in str(err.value) and "cameras.0.pose" in str(err.value)


def test_matrix_and_angles_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="either matrix or x_m"):
        load_rig(_write(tmp_path, {"matrix": np.eye(4).tolist(), "x_m": 1.0}))
