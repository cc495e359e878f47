"""The LiDAR pipeline on real scans from ../shared/realdata (skipped when absent).

Three KITTI frames and a VLS-128 street scan: a check that the pipeline survives real
sensors, not data it was tuned on (its settings come from the embedded world's scans
and from the shapes of things). Every labelled car, van, truck and pedestrian within
40 m is found within 2 m (bird's-eye centre), and no object in the camera's view that
no label explains and that stands like a wall (thin or tall and flat) is a vehicle."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from perception.kitti_labels import read_labels
from perception.lidar.pipeline import LidarPipeline
from perception.point_cloud_io import read_points
from roadmind.frames import Pose
from roadmind.messages import ObjectClass

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
if not REALDATA.is_dir():
    REALDATA = Path("/work/shared/realdata")
KITTI = REALDATA / "kitti"
KITTI_SENSOR = Pose(z_m=1.73)  # the HDL-64E above the road
FRAMES = ["000000", "000001", "000002"]
KINDS = {
    "Car": ObjectClass.VEHICLE,
    "Van": ObjectClass.VEHICLE,
    "Truck": ObjectClass.VEHICLE,
    "Pedestrian": ObjectClass.PEDESTRIAN,
}

pytestmark = pytest.mark.skipif(not KITTI.is_dir(), reason="no ../shared/realdata/kitti")


@pytest.fixture(scope="module")
def kitti() -> dict[str, tuple]:
    pipeline = LidarPipeline()
    out = {}
    for frame in FRAMES:
        points = read_points(KITTI / "velodyne" / f"{frame}.bin")
        labels = read_labels(KITTI / "label_2" / f"{frame}.txt", KITTI / "calib" / f"{frame}.txt")
        out[frame] = (pipeline.detect(points, KITTI_SENSOR), labels)
    return out


def test_every_labelled_road_user_within_40_m_is_found_within_2_m(kitti):
    checked = 0
    for frame, (objects, labels) in kitti.items():
        for label in labels:
            if label.kind not in KINDS or label.range_m > 40.0:
                continue
            same = [o for o in objects if o.class_hint == KINDS[label.kind]]
            dist = min((math.dist(o.center_m[:2], label.center_m[:2]) for o in same), default=99)
            assert dist <= 2.0, (
                f"{frame} {label.kind} at {label.range_m:.1f} m: nearest {dist:.1f} m"
            )
            checked += 1
    assert checked == 2  # the pedestrian of 000000, the car of 000002


def test_no_thin_or_flat_structure_is_a_vehicle(kitti):
    for objects, _ in kitti.values():
        for obj in objects:
            if obj.class_hint == ObjectClass.VEHICLE:
                length, width, height = 2 * obj.extent_m
                assert not (width < 0.5 and length > 6.0), obj  # a wall's or fence's shape
                assert not (height > 2.6 and width < 0.6), obj


def test_vls128_street_scan_runs_and_reports_objects(tmp_path, capsys):
    scan = REALDATA / "lidar_scans" / "velodyne_vls128.pcd"
    if not scan.is_file():
        pytest.skip("no VLS-128 scan")
    out = tmp_path / "bev.png"
    assert main(["lidar", str(scan), "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["points_in"] > 200_000 and out.is_file()
    listed = report["object_list"]
    assert len(listed) == report["objects"] > 0
    first = listed[0]
    assert set(first) == {"class", "center_m", "size_m", "yaw_rad", "num_points"}
    assert np.all(np.array([o["size_m"] for o in listed]) >= 0)
