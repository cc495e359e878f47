"""Placing camera-only detections: the pinhole ray, LiDAR points in the frustum, the
ground plane and the size prior, each with the uncertainty it claims."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.associate import project_to_image, projected_box
from fusion.config import PriorsConfig
from fusion.locate import ProjectedPoints, camera_range, frustum_depth, pixel_ray, place
from roadmind.frames import Pose
from roadmind.messages import CameraImage, Detection2D, LidarObject, ObjectClass

CAMERA = CameraImage("front", np.zeros((540, 960, 4), np.uint8), 70.0, Pose(0.8, 0, 1.6), 0.0)
PRIORS = PriorsConfig()
CAR_HALF = np.array([2.2, 0.9, 0.75])


def _car_box(x: float, y: float) -> np.ndarray:
    box = projected_box(LidarObject(np.array([x, y, 0.75]), CAR_HALF, 0.0, 100), CAMERA)
    assert box is not None
    return box


def test_ray_through_the_principal_point_is_the_optical_axis() -> None:
    origin, ray = pixel_ray(CAMERA, 480.0, 270.0)
    assert np.allclose(origin, [0.8, 0.0, 1.6])
    assert np.allclose(ray, [1.0, 0.0, 0.0])
    _, right_up = pixel_ray(CAMERA, 960.0, 0.0)  # top right corner: right and up
    assert right_up[1] > 0 and right_up[2] > 0


def test_frustum_takes_the_nearest_surface_not_the_background() -> None:
    rng = np.random.default_rng(0)
    car_back = np.column_stack(
        [np.full(60, 17.8), rng.uniform(-0.8, 0.8, 60), rng.uniform(0.2, 1.4, 60)]
    )
    wall = np.column_stack(
        [np.full(200, 40.0), rng.uniform(-3, 3, 200), rng.uniform(0.0, 3.0, 200)]
    )
    points = ProjectedPoints.of(np.vstack([car_back, wall]), CAMERA)
    depth = frustum_depth(_car_box(20.0, 0.0), points)
    assert depth == pytest.approx(17.8 - 0.8, abs=0.1)  # camera 0.8 m ahead of the origin
    assert frustum_depth(_car_box(20.0, 0.0), ProjectedPoints.of(np.zeros((0, 3)), CAMERA)) is None


def test_lidar_points_place_a_car_at_its_centre() -> None:
    rng = np.random.default_rng(1)
    back = np.column_stack(
        [np.full(40, 27.8), 3.0 + rng.uniform(-0.8, 0.8, 40), rng.uniform(0.2, 1.4, 40)]
    )
    det = Detection2D("front", ObjectClass.VEHICLE, _car_box(30.0, 3.0), 0.9)
    placed = place(det, CAMERA, ProjectedPoints.of(back, CAMERA), PRIORS.vehicle)
    assert placed is not None and placed.source == "lidar"
    # the surface is exact; the centre behind it is a prior (1 m of a car's 0.9-2.2 m)
    assert np.hypot(*(placed.center_m[:2] - [30.0, 3.0])) < 1.3
    assert placed.center_m[0] > 27.8 + 0.5


@pytest.mark.parametrize("distance_m", [10.0, 25.0, 45.0])
def test_ground_and_size_place_a_car_within_its_claimed_error(distance_m: float) -> None:
    det = Detection2D("front", ObjectClass.VEHICLE, _car_box(distance_m, -2.0), 0.9)
    placed = place(det, CAMERA, ProjectedPoints.of(np.zeros((0, 3)), CAMERA), PRIORS.vehicle)
    assert placed is not None and placed.source == "size+ground"
    error = float(np.hypot(*(placed.center_m[:2] - [distance_m, -2.0])))
    assert error < max(1.0, 2.5 * placed.std_m)
    assert placed.std_m < 0.25 * distance_m  # and the claim is not vacuous


def test_uncertainty_grows_with_distance() -> None:
    empty = ProjectedPoints.of(np.zeros((0, 3)), CAMERA)
    near = place(
        Detection2D("front", ObjectClass.VEHICLE, _car_box(10, 0), 0.9),
        CAMERA,
        empty,
        PRIORS.vehicle,
    )
    far = place(
        Detection2D("front", ObjectClass.VEHICLE, _car_box(40, 0), 0.9),
        CAMERA,
        empty,
        PRIORS.vehicle,
    )
    assert near is not None and far is not None and far.std_m > 3 * near.std_m


def test_a_box_cut_at_the_top_is_placed_by_its_width() -> None:
    # a traffic-light head 1 m tall, 0.36 m wide, centre 3 m up, 3 m ahead of the
    # camera: its top is above the image, so only the width tells the distance
    head = LidarObject(np.array([3.8, 1.0, 3.0]), np.array([0.15, 0.18, 0.5]), 0.0, 10)
    box = projected_box(head, CAMERA)
    assert box is not None and box[1] <= 1.0
    det = Detection2D("front", ObjectClass.TRAFFIC_LIGHT, box, 0.8)
    empty = ProjectedPoints.of(np.zeros((0, 3)), CAMERA)
    placed = place(det, CAMERA, empty, PRIORS.traffic_light, on_ground=False)
    assert placed is not None and placed.source == "size"
    assert np.hypot(*(placed.center_m[:2] - [3.65, 1.0])) < 0.6


def test_nothing_to_go_on_places_nothing() -> None:
    # a light box cut at the top and at the side: neither size tells the distance
    det = Detection2D("front", ObjectClass.TRAFFIC_LIGHT, np.array([940.0, 0.0, 960.0, 40.0]), 0.8)
    empty = ProjectedPoints.of(np.zeros((0, 3)), CAMERA)
    assert place(det, CAMERA, empty, PRIORS.traffic_light, on_ground=False) is None


def test_projection_and_ray_agree() -> None:
    point = np.array([[15.0, -4.0, 0.5]])
    px, _ = project_to_image(point, CAMERA)
    origin, ray = pixel_ray(CAMERA, float(px[0, 0]), float(px[0, 1]))
    t = (point[0] - origin) @ ray
    assert np.allclose(origin + t * ray, point[0], atol=1e-6)


def _pedestrian_box(x: float, y: float) -> np.ndarray:
    half = np.array([0.25, 0.25, 0.85])
    box = projected_box(LidarObject(np.array([x, y, 0.85]), half, 0.0, 1), CAMERA)
    assert box is not None
    return box


def test_one_return_where_the_camera_expects_it_places_a_far_pedestrian() -> None:
    det = Detection2D("front", ObjectClass.PEDESTRIAN, _pedestrian_box(42.0, 2.0), 0.8)
    without = place(det, CAMERA, ProjectedPoints.of(np.zeros((0, 3)), CAMERA), PRIORS.pedestrian)
    assert without is not None and without.std_m > 3.0  # the camera alone is unsure at 42 m
    torso = np.array([[41.8, 2.0, 1.1]])
    wall = np.array([[70.0, 3.36, 0.8], [70.0, 3.4, 0.4]])  # behind it, in the same frustum
    for points in (torso, np.vstack([torso, wall])):
        projected = ProjectedPoints.of(points, CAMERA)
        placed = place(det, CAMERA, projected, PRIORS.pedestrian)
        assert placed is not None and placed.source == "lidar-lone"
        assert np.hypot(*(placed.center_m[:2] - [42.0, 2.0])) < 0.5
        assert placed.std_m < 1.0
    # the wall is the nearest dense surface, but 28 m beyond where the camera puts it
    assert frustum_depth(det.xyxy_px, projected) == pytest.approx(69.2, abs=0.1)
    # a lone return far from where the camera puts the object is something else
    stray = ProjectedPoints.of(np.array([[12.0, 0.57, 0.5]]), CAMERA)
    far_off = place(det, CAMERA, stray, PRIORS.pedestrian)
    assert far_off is not None and far_off.source != "lidar-lone"


def test_a_tiny_box_takes_the_lidar_depth_its_inflated_size_misreads() -> None:
    # a car 66 m ahead is 4 px tall in a 120-degree 640 px camera; the detector boxes
    # it in 9 px, whose size reads 31 m
    wide = CameraImage(
        "front_wide", np.zeros((360, 640, 4), np.uint8), 120.0, Pose(0.8, 0, 1.6), 0.0
    )
    det = Detection2D("front_wide", ObjectClass.VEHICLE, np.array([316.0, 176.0, 325, 185]), 0.8)
    guess = camera_range(det, wide, PRIORS.vehicle)
    assert guess is not None and 25.0 < guess[0] < 40.0  # size and ground both misread it
    assert guess[1] > 0.3 * guess[0]  # and says how unsure it is
    _, ray = pixel_ray(wide, 320.5, 180.5)
    car_back = np.array([0.8, 0.0, 1.6]) + ray[None, :] * np.array([[66.0], [66.2], [66.4]])
    placed = place(det, wide, ProjectedPoints.of(car_back, wide), PRIORS.vehicle)
    assert placed is not None and placed.source == "lidar"
    assert placed.center_m[0] > 66.0


def test_a_far_cars_box_over_a_near_lidar_object_is_not_that_object() -> None:
    from fusion.bev_fusion import box_range_agrees
    from fusion.config import FusionConfig

    near_pole = LidarObject(np.array([33.0, 0.0, 1.2]), np.array([0.2, 0.2, 1.5]), 0.0, 12)
    far_car = Detection2D("front", ObjectClass.VEHICLE, _car_box(90.0, 0.0), 0.8)
    car_there = Detection2D("front", ObjectClass.VEHICLE, _car_box(33.0, 0.0), 0.8)
    config = FusionConfig()
    assert not box_range_agrees(far_car, near_pole, CAMERA, config)
    assert box_range_agrees(car_there, near_pole, CAMERA, config)
