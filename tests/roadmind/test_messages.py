from __future__ import annotations

import json

import numpy as np
import pytest

from roadmind.frames import Pose
from roadmind.messages import (
    Action,
    ActorTruth,
    BevLight,
    BevObject,
    BevScene,
    BevSign,
    Box2DTruth,
    CameraImage,
    CollisionTruth,
    Decision,
    Detection2D,
    EgoState,
    GroundTruth,
    LidarObject,
    LidarScan,
    LightState,
    LightTruth,
    ObjectClass,
    PerceptionResult,
    Reason,
    SensorFrame,
    SignTruth,
    SignType,
    VehicleControl,
)
from roadmind.serialize import from_dict, to_dict

POSE = Pose(1.0, -2.0, 0.5, 0.01, -0.02, 1.2)


def _frame() -> SensorFrame:
    rng = np.random.default_rng(0)
    cam = CameraImage("front", rng.integers(0, 255, (6, 8, 4), dtype=np.uint8), 90.0, POSE, 0.05)
    scan = LidarScan("top", rng.normal(size=(5, 4)).astype(np.float32), Pose(z_m=2.0), 0.05)
    actor = ActorTruth(
        3, ObjectClass.VEHICLE, POSE, np.array([2.3, 0.9, 0.75]), np.array([5.0, 0.0, 0.0])
    )
    box = Box2DTruth(3, ObjectClass.VEHICLE, np.array([1.0, 2.0, 5.0, 6.0]), 12, 0.25, 0.0)
    truth = GroundTruth(
        (actor,),
        {"front": (box,)},
        (SignTruth(7, SignType.SPEED_LIMIT, POSE, 30.0, "km/h"),),
        (LightTruth(9, LightState.RED, POSE, 1),),
    )
    ego = EgoState(POSE, 8.0, -0.5, 0.02, 0.01)
    return SensorFrame(4, 0.2, ego, (cam,), (scan,), truth)


MESSAGES = [
    _frame(),
    PerceptionResult(
        4,
        0.2,
        (Detection2D("front", ObjectClass.TRAFFIC_SIGN, np.array([1.0, 2.0, 3.0, 4.0]), 0.9),),
        (
            LidarObject(
                np.array([10.0, 1.0, 0.8]), np.array([2.2, 0.9, 0.8]), 0.1, 140, ObjectClass.VEHICLE
            ),
        ),
    ),
    BevScene(
        4,
        0.2,
        (
            BevObject(
                1,
                ObjectClass.PEDESTRIAN,
                np.array([12.0, 3.0, 0.9]),
                np.array([0.0, -1.4, 0.0]),
                np.array([0.3, 0.3, 0.9]),
                1.57,
                0.8,
            ),
        ),
        (BevSign(SignType.STOP, 22.0, 3.5, landmark_id=301),),
        (BevLight(LightState.YELLOW, 30.0, 4.0, 201),),
        np.zeros((4, 6), dtype=np.uint8),
        0.5,
        ("no lidar this frame",),
    ),
    Decision(
        4, Action.STOP, 0.0, 12.5, (Reason("stop_sign", "stop at the line", ("landmark 301",)),)
    ),
    VehicleControl(0.3, -0.2, 0.0),
    GroundTruth(  # a CARLA frame's sensor events
        collisions=(CollisionTruth(55, ObjectClass.UNKNOWN, "static.pole", 812.5),),
        lane_invasions=("Solid", "Broken"),
    ),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip_through_json(message: object) -> None:
    data = json.loads(json.dumps(to_dict(message)))
    back = from_dict(type(message), data)
    assert json.dumps(to_dict(back), sort_keys=True) == json.dumps(data, sort_keys=True)
    assert type(back) is type(message)


def test_round_trip_keeps_array_dtype_and_shape() -> None:
    frame = from_dict(SensorFrame, to_dict(_frame()))
    cam = frame.cameras[0]
    assert cam.bgra.dtype == np.uint8 and cam.bgra.shape == (6, 8, 4)
    assert frame.lidars[0].points_xyzi.dtype == np.float32
    assert frame.ground_truth is not None
    assert frame.ground_truth.boxes_2d["front"][0].object_class is ObjectClass.VEHICLE


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (
            lambda: CameraImage("c", np.zeros((4, 4, 3), np.uint8), 90.0, POSE, 0.0),
            r"shape \(N, N, 4\)",
        ),
        (lambda: CameraImage("c", np.zeros((4, 4, 4), np.float32), 90.0, POSE, 0.0), "dtype uint8"),
        (lambda: CameraImage("c", np.zeros((4, 4, 4), np.uint8), 180.0, POSE, 0.0), "fov_deg"),
        (lambda: LidarScan("l", np.zeros((3, 3), np.float32), POSE, 0.0), r"shape \(N, 4\)"),
        (lambda: LidarScan("l", np.zeros((3, 4), np.float64), POSE, 0.0), "dtype float32"),
        (lambda: EgoState(POSE, float("nan"), 0.0, 0.0), "speed_mps must be finite"),
        (lambda: Pose(float("inf")), "x_m must be finite"),
        (lambda: VehicleControl(throttle=1.5), "throttle must be in"),
        (lambda: VehicleControl(steer=-1.1), "steer must be in"),
        (lambda: Decision(0, Action.CRUISE, -1.0), "target_speed_mps"),
        (lambda: Detection2D("c", ObjectClass.VEHICLE, np.zeros(4), 1.5), "score"),
        (
            lambda: Box2DTruth(1, ObjectClass.VEHICLE, np.array([5.0, 0, 1.0, 2.0]), 3, 0, 0),
            "x1 > x0",
        ),
        (
            lambda: ActorTruth(
                1, ObjectClass.VEHICLE, POSE, np.array([1.0, 0.0, 1.0]), np.zeros(3)
            ),
            "positive",
        ),
    ],
)
def test_invalid_messages_raise_value_error(build, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()


def test_sensor_names_must_be_unique() -> None:
    frame = _frame()
    with pytest.raises(ValueError, match="unique"):
        SensorFrame(0, 0.0, frame.ego, frame.cameras * 2)
