"""The LiDAR bench's real scans: read from a realdata folder when there, none when not."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.lidar import real_scans


def test_no_realdata_folder_gives_no_real_scans(tmp_path):
    assert real_scans(tmp_path / "absent") == {}


def test_kitti_sweeps_are_read_with_their_sensor_height(tmp_path):
    velodyne = tmp_path / "kitti" / "velodyne"
    velodyne.mkdir(parents=True)
    points = np.arange(40, dtype=np.float32).reshape(10, 4)
    points.tofile(velodyne / "000001.bin")
    scans = real_scans(tmp_path)
    assert list(scans) == ["kitti_000001"]
    read, pose = scans["kitti_000001"]
    assert read.shape == (10, 4) and np.allclose(read[:, 1], -points[:, 1])  # y left -> right
    assert abs(pose.translation[2] - 1.73) < 1e-9


def test_default_folder_is_beside_the_checkout():
    from benchmarks.lidar import default_realdata

    assert default_realdata() == Path(__file__).resolve().parents[3] / "shared" / "realdata"
