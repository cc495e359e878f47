"""Camera-LiDAR association: projection with the camera's calibration, Hungarian
pairing on overlap, and the embedded world's truth boxes pairing with LiDAR boxes."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.associate import associate, iou, projected_box
from perception.lidar.pipeline import LidarPipeline
from roadmind.frames import Pose
from roadmind.messages import CameraImage, Detection2D, LidarObject, ObjectClass
from sim.embedded.world import EmbeddedWorld
from sim.rig import load_rig, resolve_rig_path
from sim.scenario import load_scenario

CAMERA = CameraImage("front", np.zeros((360, 640, 4), np.uint8), 90.0, Pose(z_m=1.5), 0.0)


def _car(x: float, y: float) -> LidarObject:
    return LidarObject(np.array([x, y, 0.75]), np.array([2.3, 0.95, 0.75]), 0.0, 200)


def test_projection_matches_the_pinhole_model() -> None:
    box = projected_box(_car(20.0, 0.0), CAMERA)
    assert box is not None
    f = 320.0  # 640 px wide, 90 degrees
    # nearest face at 17.7 m: half width 0.95 m -> 17.2 px; roof 0 m above the camera
    assert box[0] == pytest.approx(320 - f * 0.95 / 17.7, abs=0.2)
    assert box[1] == pytest.approx(180 - f * (1.5 - 1.5) / 17.7, abs=0.2)
    assert box[3] == pytest.approx(180 + f * 1.5 / 17.7, abs=0.2)
    assert projected_box(_car(-20.0, 0.0), CAMERA) is None  # behind the camera


def test_pairs_by_overlap_and_leaves_the_rest_alone() -> None:
    near, far, behind = _car(20.0, 0.0), _car(40.0, 6.0), _car(-10.0, 0.0)
    b_near, b_far = projected_box(near, CAMERA), projected_box(far, CAMERA)
    assert b_near is not None and b_far is not None
    dets = [
        Detection2D("front", ObjectClass.VEHICLE, b_far + 1.5, 0.9),
        Detection2D("front", ObjectClass.VEHICLE, b_near - 2.0, 0.8),
        Detection2D("front", ObjectClass.TRAFFIC_SIGN, np.array([10.0, 10, 30, 30]), 0.7),
        Detection2D("front", ObjectClass.PEDESTRIAN, np.array([500.0, 150, 520, 220]), 0.6),
    ]
    result = associate(dets, [near, far, behind], CAMERA)
    assert result.pairs == ((0, 1), (1, 0))
    assert result.camera_only == (2, 3)
    assert result.lidar_only == (2,)
    assert iou(b_near, b_near) == pytest.approx(1.0)


def test_truth_boxes_pair_with_lidar_boxes_of_the_same_actors() -> None:
    with EmbeddedWorld(load_rig(resolve_rig_path("default"))) as world:
        frame = world.reset(load_scenario("default"))
    camera, scan, truth = frame.cameras[0], frame.lidars[0], frame.ground_truth
    assert truth is not None
    objects = LidarPipeline().detect(scan.points_xyzi, scan.sensor_to_ego)
    boxes = [
        b
        for b in truth.boxes_2d["front"]
        if b.object_class in (ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN) and b.occlusion < 0.5
    ]
    dets = [Detection2D("front", b.object_class, b.xyxy_px, 1.0) for b in boxes]
    result = associate(dets, objects, camera)
    assert result.pairs, "the default scene has cars both sensors see"
    actors = {a.actor_id: a for a in truth.actors}
    for i, j in result.pairs:
        actor = actors[boxes[i].object_id]
        centre = frame.ego.pose.inverse_transform_points(actor.pose.translation[None, :])[0]
        assert np.linalg.norm(objects[j].center_m[:2] - centre[:2]) < 2.0
