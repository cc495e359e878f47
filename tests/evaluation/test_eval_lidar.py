"""LiDAR scoring: matching and counting without a world."""

from __future__ import annotations

import numpy as np

from evaluation.lidar import MIN_TRUTH_POINTS, Tally, TruthBox, truth_in_ego
from roadmind.frames import Pose
from roadmind.messages import ActorTruth, LidarObject, ObjectClass

VEHICLE, PEDESTRIAN, UNKNOWN = ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN, ObjectClass.UNKNOWN


def _obj(x: float, y: float, cls: ObjectClass = VEHICLE) -> LidarObject:
    return LidarObject(np.array([x, y, 0.7]), np.array([2.1, 0.9, 0.7]), 0.0, 50, cls)


def _truth(x: float, y: float, returns: int = 50, cls: ObjectClass = VEHICLE) -> TruthBox:
    return TruthBox(cls, np.array([x, y, 0.7]), returns)


def test_matching_counts_per_class_and_band():
    tally = Tally()
    tally.add_frame(
        [_obj(10.5, 0.0), _obj(30.0, 5.0), _obj(12.0, 3.0, PEDESTRIAN), _obj(5.0, 5.0, UNKNOWN)],
        [
            _truth(10.0, 0.0),
            _truth(25.0, 0.0),
            _truth(45.0, 0.0),
            _truth(12.0, 3.5, cls=PEDESTRIAN),
        ],
    )
    report = tally.report()
    assert report["vehicle"]["0-20"] == {
        "tp": 1,
        "fp": 0,
        "fn": 0,
        "precision": 1.0,
        "recall": 1.0,
    }
    # (30, 5) is 5.4 m from (25, 0): a false positive at 30 m and a miss at 25 m
    assert (report["vehicle"]["20-40"]["fp"], report["vehicle"]["20-40"]["fn"]) == (1, 1)
    assert report["vehicle"]["40-60"]["fn"] == 1
    assert report["vehicle"]["0-40"]["recall"] == 0.5
    assert report["pedestrian"]["0-20"]["tp"] == 1
    assert report["vehicle"]["center_error_m"]["mean"] == 0.5


def test_sparse_truth_is_neither_missed_nor_a_false_positive():
    tally = Tally()
    tally.add_frame([_obj(50.0, 0.0)], [_truth(50.0, 0.0, returns=MIN_TRUTH_POINTS - 1)])
    tally.add_frame([], [_truth(30.0, 0.0, returns=2)])
    band = tally.report()["vehicle"]
    assert all(band[b]["tp"] == band[b]["fp"] == band[b]["fn"] == 0 for b in ("0-40", "0-60"))
    assert tally.ignored_truth == 2


def test_truth_returns_count_points_inside_the_box_above_the_road():
    ego = Pose(x_m=100.0, y_m=50.0, yaw_rad=np.pi / 2)  # facing +y in the world
    actor = ActorTruth(
        7,
        VEHICLE,
        Pose(100.0, 60.0, 0.75, yaw_rad=np.pi / 2),
        np.array([2.0, 0.9, 0.75]),
        np.zeros(3),
    )
    inside = np.array([[10.0, 0.0, z] for z in np.linspace(0.3, 1.4, 8)])  # ego frame
    road = np.array([[10.0, 0.3, 0.02], [9.0, 0.0, 0.05]])
    outside = np.array([[10.0, 3.0, 0.8], [20.0, 0.0, 0.8]])
    (box,) = truth_in_ego([actor], ego, np.vstack([inside, road, outside]), 60.0)
    assert box.returns == 8
    np.testing.assert_allclose(box.center_m, [10.0, 0.0, 0.75], atol=1e-9)
