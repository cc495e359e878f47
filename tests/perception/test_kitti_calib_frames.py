"""KITTI labels lie in the rectified reference camera's frame, camera 2 beside it: the
one reader of calib and label files keeps the two apart."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from perception.kitti_labels import read_calib, read_labels
from roadmind.errors import UserError
from roadmind.messages import ObjectClass
from sim.replay.kitti import VELO_HEIGHT_M, camera_pose
from sim.replay.kitti import read_labels as replay_labels

# velodyne (x fwd, y left, z up) -> camera (x right, y down, z fwd), 0.27 m below, 0.3 m back
TR = np.array([[0, -1, 0, 0], [0, 0, -1, -0.27], [1, 0, 0, -0.3]], float)
FX = 700.0
BASELINE_M = 0.5  # camera 2 this far right of the reference camera, exaggerated


def _calib(path: Path, tr: np.ndarray = TR) -> Path:
    p2 = np.array([[FX, 0, 600, FX * BASELINE_M], [0, FX, 180, 0], [0, 0, 1, 0]], float)
    rows = {"P2": p2, "R0_rect": np.eye(3), "Tr_velo_to_cam": tr}
    path.write_text("".join(f"{k}: {' '.join(map(str, v.ravel()))}\n" for k, v in rows.items()))
    return path


def test_label_centres_use_the_reference_camera_and_cam2_its_baseline(tmp_path: Path) -> None:
    calib = read_calib(_calib(tmp_path / "calib.txt"))
    # a car 20 m ahead of the reference camera, 1 m right of it, yaw 0 (facing along x cam)
    label = tmp_path / "label.txt"
    label.write_text(
        "Car 0 0 0 0 0 10 10 1.5 1.8 4.0 1.0 1.5 20.0 0.0\nCyclist 0 0 0 0 0 1 1 1.7 0.6 1.8 -2 1.7 9 0\n"
    )
    car, cyclist = read_labels(label, calib)
    # reference camera at velodyne (0.3, 0, -0.27) in KITTI axes; roadmind's y is right
    np.testing.assert_allclose(car.center_m, [20.3, 1.0, -0.27 - 1.5 + 0.75], atol=1e-9)
    assert car.object_class is ObjectClass.VEHICLE and cyclist.object_class is None
    # ry = 0 points along camera x (right): roadmind yaw +90 degrees (y right)
    assert math.degrees(car.yaw_rad) == pytest.approx(90.0)
    # camera 2 sits BASELINE_M to the left of the reference (P2's translation is +fx*b)
    pose = camera_pose(calib)
    assert pose.y_m == pytest.approx(-BASELINE_M) and pose.z_m == pytest.approx(
        VELO_HEIGHT_M - 0.27
    )
    # the replay world's truth: the same boxes, raised to the ego frame on the ground
    (actor,) = replay_labels(label, calib)
    np.testing.assert_allclose(
        actor.pose.translation, car.center_m + np.array([0.0, 0.0, VELO_HEIGHT_M])
    )


def test_a_calibration_without_p2_or_with_nan_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("R0_rect: 1 0 0 0 1 0 0 0 1\n")
    with pytest.raises(UserError, match="P2"):
        read_calib(path)
    bad = TR.copy()
    bad[0, 3] = np.nan
    with pytest.raises(UserError, match=r"Tr_velo_to_cam.*non-finite"):
        read_calib(_calib(path, bad))
