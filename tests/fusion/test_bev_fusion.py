"""BEV fusion on scenes built by hand (every number known) and on the embedded world:
classes from the camera, geometry from LiDAR, camera-only placement, landmarks,
stale and missing sensors, and the configuration file."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from fusion.associate import projected_box
from fusion.bev_fusion import BevFusion, CameraView, LidarView
from fusion.config import FusionConfig, load_fusion_config
from fusion.landmarks import KnownLandmark
from perception.lidar.pipeline import LidarResult
from roadmind.frames import Pose
from roadmind.messages import (
    BevScene,
    CameraImage,
    Detection2D,
    LidarObject,
    LightState,
    ObjectClass,
    SignType,
)

CAR = np.array([2.2, 0.9, 0.75])
POLE = np.array([0.06, 0.06, 1.75])  # a 3.5 m light pole


def _camera(time_s: float, name: str = "front") -> CameraImage:
    return CameraImage(name, np.zeros((540, 960, 4), np.uint8), 70.0, Pose(0.8, 0, 1.6), time_s)


def _lidar(objects: list[LidarObject], time_s: float, pose: Pose | None = None) -> LidarView:
    points = np.vstack(
        [
            o.center_m + np.random.default_rng(0).uniform(-1, 1, (50, 3)) * o.extent_m
            for o in objects
        ]
        or [np.zeros((0, 3))]
    )
    result = LidarResult(
        tuple(objects),
        points,
        points[:, 2].copy(),
        np.zeros(len(points), bool),
        np.zeros(len(points), np.int32),
    )
    return LidarView(result, pose or Pose(), time_s)


def _box(obj: LidarObject, camera: CameraImage) -> np.ndarray:
    box = projected_box(obj, camera)
    assert box is not None
    return box


def _obj(x: float, y: float, half: np.ndarray = CAR) -> LidarObject:
    return LidarObject(np.array([x, y, half[2]]), half, 0.0, 100)


def _views(camera: CameraImage, *dets: Detection2D) -> dict[str, CameraView]:
    return {camera.name: CameraView(camera, tuple(dets))}


Inputs = Callable[[float], tuple[dict[str, CameraView], LidarView]]


def _run(fusion: BevFusion, cycles: int, make: Inputs) -> BevScene:
    scene = BevScene(0, 0.0)
    for k in range(cycles):
        t = 0.1 * k
        cameras, lidar = make(t)
        scene = fusion.update(k, t, Pose(), cameras, lidar)
    return scene


def test_fused_objects_take_class_from_the_camera_and_place_from_lidar() -> None:
    fusion = BevFusion(FusionConfig(), (), ("front",))
    car, unseen = _obj(20.0, 0.0), _obj(-15.0, 3.0)  # the second is behind the camera

    def make(t: float) -> tuple[dict[str, CameraView], LidarView]:
        cam = _camera(t)
        det = Detection2D("front", ObjectClass.VEHICLE, _box(car, cam) + 3.0, 0.9)
        return _views(cam, det), _lidar([car, unseen], t)

    scene = _run(fusion, 3, make)
    by_class = {o.object_class: o for o in scene.objects}
    assert set(by_class) == {ObjectClass.VEHICLE, ObjectClass.UNKNOWN}
    assert np.allclose(by_class[ObjectClass.VEHICLE].position_m, car.center_m)
    assert by_class[ObjectClass.VEHICLE].score == pytest.approx(0.9)
    assert by_class[ObjectClass.UNKNOWN].score == pytest.approx(FusionConfig().lidar_only_score)
    assert scene.degraded == ()


def test_camera_only_object_is_placed_with_a_ray_and_moves_with_a_velocity() -> None:
    fusion = BevFusion(FusionConfig(), (), ("front",))

    def make(t: float) -> tuple[dict[str, CameraView], LidarView]:
        far = _obj(45.0 + 8.0 * t, 2.0)  # beyond the LiDAR objects: nothing but the camera
        cam = _camera(t)
        return _views(cam, Detection2D("front", ObjectClass.VEHICLE, _box(far, cam), 0.8)), _lidar(
            [], t
        )

    scene = _run(fusion, 12, make)
    (obj,) = scene.objects
    assert obj.object_class is ObjectClass.VEHICLE
    assert abs(obj.position_m[0] - (45.0 + 8.0 * 1.1)) < 6.0  # a camera guess at ~50 m
    assert obj.score == pytest.approx(0.8 * FusionConfig().camera_only_score_factor)
    assert obj.velocity_mps[0] > 3.0  # moving away
    (ray,) = fusion.debug.rays_world
    assert ray.source == "size+ground" and ray.std_m > 1.0


def test_unsure_camera_only_boxes_are_dropped() -> None:
    fusion = BevFusion(FusionConfig(), (), ("front",))
    weak = Detection2D("front", ObjectClass.PEDESTRIAN, np.array([400.0, 250, 420, 300]), 0.3)
    for k in range(3):
        scene = fusion.update(
            k, 0.1 * k, Pose(), _views(_camera(0.1 * k), weak), _lidar([], 0.1 * k)
        )
    assert scene.objects == ()


def test_a_pedestrian_box_on_a_light_pole_stays_unknown() -> None:
    fusion = BevFusion(FusionConfig(), (), ("front",))
    pole = _obj(6.0, 2.5, POLE)

    def make(t: float) -> tuple[dict[str, CameraView], LidarView]:
        cam = _camera(t)
        det = Detection2D("front", ObjectClass.PEDESTRIAN, _box(pole, cam), 0.6)
        return _views(cam, det), _lidar([pole], t)

    scene = _run(fusion, 3, make)
    assert [o.object_class for o in scene.objects] == [ObjectClass.UNKNOWN]


def test_stale_camera_and_missing_lidar_are_named_in_the_scene() -> None:
    fusion = BevFusion(FusionConfig(), (), ("front", "rear"))
    car = _obj(20.0, 0.0)
    old = _camera(0.0)
    det = Detection2D("front", ObjectClass.VEHICLE, _box(car, old), 0.9)
    scene = fusion.update(5, 0.5, Pose(), _views(old, det), _lidar([car], 0.5))
    text = " ".join(scene.degraded)
    assert "camera front: frame 0.50 s older than the scan" in text
    assert "camera rear: no frame yet" in text
    scene = fusion.update(6, 1.0, Pose(), _views(_camera(1.0), det), None)
    assert any("LiDAR: no scan yet" in d for d in scene.degraded)
    scene = fusion.update(7, 1.6, Pose(), _views(_camera(1.6), det), _lidar([car], 1.0))
    assert any("LiDAR: no scan for 0.60 s" in d for d in scene.degraded)


def test_between_scans_tracks_move_on_and_signs_stay_put_in_the_world() -> None:
    landmark = KnownLandmark(
        7, ObjectClass.TRAFFIC_SIGN, np.array([30.0, 4.0, 0.0]), 0.0, SignType.STOP
    )
    fusion = BevFusion(FusionConfig(), [landmark], ("front",))
    sign_face = LidarObject(np.array([30.0, 4.0, 2.2]), np.array([0.05, 0.42, 0.42]), 0.0, 5)
    car = _obj(15.0, 0.0)
    for k in range(4):
        t = 0.1 * k
        cam = _camera(t)
        dets = (
            Detection2D("front", ObjectClass.VEHICLE, _box(car, cam), 0.9),
            Detection2D("front", ObjectClass.TRAFFIC_SIGN, _box(sign_face, cam), 0.7),
        )
        scene = fusion.update(k, t, Pose(), _views(cam, *dets), _lidar([car], t))
    (sign,) = scene.signs
    assert sign.landmark_id == 7 and sign.sign_type is SignType.STOP
    assert sign.distance_m == pytest.approx(30.0, abs=2.0)
    # the ego drives 5 m on with no new scan: the sign is 5 m nearer
    moved = Pose(5.0, 0.0, 0.0)
    later = fusion.update(4, 0.35, moved, _views(_camera(0.3), *dets), _lidar([car], 0.3))
    assert later.signs[0].distance_m == pytest.approx(sign.distance_m - 5.0, abs=1e-6)


def test_signs_for_other_directions_are_dropped_and_unknown_signs_kept() -> None:
    theirs = KnownLandmark(
        3, ObjectClass.TRAFFIC_SIGN, np.array([30.0, 4.0, 0.0]), math.pi, SignType.YIELD
    )
    fusion = BevFusion(FusionConfig(), [theirs], ("front",))
    back = LidarObject(np.array([30.0, 4.0, 2.2]), np.array([0.05, 0.42, 0.42]), 0.0, 5)
    elsewhere = LidarObject(np.array([40.0, -6.0, 2.2]), np.array([0.05, 0.42, 0.42]), 0.0, 5)
    cam = _camera(0.0)
    dets = (
        Detection2D("front", ObjectClass.TRAFFIC_SIGN, _box(back, cam), 0.7),
        Detection2D("front", ObjectClass.TRAFFIC_SIGN, _box(elsewhere, cam), 0.7),
    )
    scene = fusion.update(0, 0.0, Pose(), _views(cam, *dets), _lidar([], 0.0))
    (sign,) = scene.signs
    assert sign.landmark_id is None and sign.sign_type is SignType.TEXT
    assert sign.distance_m == pytest.approx(40.0, abs=5.0)


def test_our_sign_wins_over_a_nearer_cross_street_one() -> None:
    ours = KnownLandmark(
        1, ObjectClass.TRAFFIC_SIGN, np.array([40.0, 4.0, 0.0]), 0.0, SignType.STOP
    )
    cross = KnownLandmark(
        2, ObjectClass.TRAFFIC_SIGN, np.array([44.0, 6.0, 0.0]), math.pi / 2, SignType.STOP
    )
    fusion = BevFusion(FusionConfig(), [ours, cross], ("front",))
    face = LidarObject(np.array([43.0, 5.0, 2.2]), np.array([0.05, 0.42, 0.42]), 0.0, 5)
    cam = _camera(0.0)
    det = Detection2D("front", ObjectClass.TRAFFIC_SIGN, _box(face, cam), 0.7)
    scene = fusion.update(0, 0.0, Pose(), _views(cam, det), _lidar([], 0.0))
    assert [s.landmark_id for s in scene.signs] == [1]


def test_a_light_the_pixel_reader_cannot_tell_is_read_by_the_dual_encoder() -> None:
    """Red and green both lit is a tie for the pixel reader: on a mapped light facing
    us the injected reader is asked and its state kept; off the map it is not asked."""
    mapped = KnownLandmark(4, ObjectClass.TRAFFIC_LIGHT, np.array([30.0, 4.0, 0.0]), 0.0)
    head = LidarObject(np.array([30.0, 4.0, 3.0]), np.array([0.15, 0.15, 0.45]), 0.0, 5)
    asked: list[int] = []

    def read_light(image: CameraImage, box: np.ndarray, frame_id: int) -> LightState:
        asked.append(frame_id)
        return LightState.RED

    for landmarks, expected in (([mapped], [LightState.RED]), ([], [])):
        asked.clear()
        fusion = BevFusion(FusionConfig(), landmarks, ("front",), read_light=read_light)
        cam = _camera(0.0)
        box = _box(head, cam)
        x0, y0, x1, y1 = box.round().astype(int)
        mid = (y0 + y1) // 2
        cam.bgra[y0:mid, x0:x1, 2] = 255  # the red lamp lit
        cam.bgra[mid:y1, x0:x1, 1] = 255  # and the green one
        det = Detection2D("front", ObjectClass.TRAFFIC_LIGHT, box, 0.8)
        scene = fusion.update(3, 0.0, Pose(), _views(cam, det), _lidar([], 0.0))
        assert [light.state for light in scene.lights] == expected
        assert asked == ([3] if landmarks else [])


def test_when_every_sensor_falls_silent_the_scene_empties_and_says_so() -> None:
    fusion = BevFusion(FusionConfig(), (), ("front",))
    car = _obj(20.0, 0.0)
    for k in range(3):
        cam = _camera(0.1 * k)
        det = Detection2D("front", ObjectClass.VEHICLE, _box(car, cam), 0.9)
        scene = fusion.update(k, 0.1 * k, Pose(), _views(cam, det), _lidar([car], 0.1 * k))
    assert scene.objects and scene.occupancy is not None and scene.occupancy.any()
    old_cam, old_scan = _views(cam, det), _lidar([car], 0.2)
    soon = fusion.update(5, 0.45, Pose(), old_cam, old_scan)
    assert soon.objects  # within max_scene_age_s: extrapolated
    later = fusion.update(30, 3.0, Pose(), old_cam, old_scan)
    assert later.objects == () and later.occupancy is not None and not later.occupancy.any()
    assert any("scene emptied" in d for d in later.degraded)
    assert any("and no camera either" in d for d in later.degraded)


def test_occupancy_grid_has_the_configured_shape_and_marks_obstacles() -> None:
    fusion = BevFusion(FusionConfig(), (), ())
    scene = fusion.update(0, 0.0, Pose(), {}, _lidar([_obj(10.0, 0.0)], 0.0))
    spec = FusionConfig().grid
    assert scene.occupancy is not None and scene.occupancy.shape == spec.shape
    row, col = spec.cell_of(np.array([10.0]), np.array([0.0]))
    assert scene.occupancy[row[0], col[0]] == 1
    assert scene.occupancy.sum() < 100  # one car, not the whole grid


def test_config_file_matches_the_defaults() -> None:
    assert load_fusion_config() == FusionConfig()


def test_a_vague_camera_placement_does_not_swallow_the_car_in_the_next_lane() -> None:
    # LiDAR sees the car in the next lane; the camera also sees one farther on in ours,
    # whose range it only guesses (metres of error), but whose bearing it knows
    fusion = BevFusion(FusionConfig(), (), ("front",))
    beside, ahead = _obj(40.0, -3.4), _obj(45.0, 0.0)

    def make(t: float) -> tuple[dict[str, CameraView], LidarView]:
        cam = _camera(t)
        dets = (
            Detection2D("front", ObjectClass.VEHICLE, _box(beside, cam), 0.9),
            Detection2D("front", ObjectClass.VEHICLE, _box(ahead, cam), 0.8),
        )
        return _views(cam, *dets), _lidar([beside], t)

    scene = _run(fusion, 3, make)
    vehicles = sorted(o.position_m[0] for o in scene.objects)
    assert len(vehicles) == 2 and vehicles[1] > 41.0


def test_a_near_camera_only_road_user_the_lidar_did_not_hit_is_dropped() -> None:
    """A vehicle box low in the frame (placed ~10 m ahead by the ground) with no obstacle
    return in it: a fresh scan would have hit a car there, so it is not one. Without a
    scan the camera alone is believed."""
    ghost = _obj(10.0, 0.0)

    def seen(config: FusionConfig, scan: bool) -> tuple:
        fusion = BevFusion(config, (), ("front",))
        scene = BevScene(0, 0.0)
        for k in range(3):
            t = 0.1 * k
            cam = _camera(t)
            det = Detection2D("front", ObjectClass.VEHICLE, _box(ghost, cam), 0.9)
            scene = fusion.update(k, t, Pose(), _views(cam, det), _lidar([], t) if scan else None)
        return scene.objects

    assert seen(FusionConfig(), scan=True) == ()
    (obj,) = seen(FusionConfig(), scan=False)
    assert obj.object_class is ObjectClass.VEHICLE and 7.0 < obj.position_m[0] < 14.0
    assert len(seen(FusionConfig(lidar_veto_m={"vehicle": 0.0}), scan=True)) == 1
