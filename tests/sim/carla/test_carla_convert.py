"""CARLA <-> roadmind conversions on buffers in CARLA's exact layouts (built byte by
byte with struct, independent of the numpy code under test) and on real carla types."""

from __future__ import annotations

import math
import struct

import carla
import numpy as np
import pytest

from roadmind.frames import Pose
from roadmind.messages import CameraImage, LidarScan, LightState, ObjectClass, VehicleControl
from sim.carla.convert import (
    camera_attributes,
    image_to_bgra,
    lidar_attributes,
    lidar_to_xyzi,
    light_state,
    mount_to_transform,
    object_class,
    pose_to_transform,
    to_carla_control,
    transform_to_pose,
    weather_for,
)
from sim.lighting import LightingConfig
from sim.rig import CameraConfig, LidarConfig, MountPose


def _bgra_buffer(width: int, height: int) -> tuple[bytes, dict[tuple[int, int], tuple]]:
    """carla.Image.raw_data: rows top to bottom, pixels left to right, B G R A bytes."""
    pixels = {}
    raw = bytearray()
    for row in range(height):
        for col in range(width):
            bgra = ((7 * col + row) % 256, (3 * row) % 256, (col * row) % 256, 255 - row)
            pixels[(row, col)] = bgra
            raw += struct.pack("<BBBB", *bgra)
    return bytes(raw), pixels


def test_camera_buffer_becomes_bgra_byte_for_byte() -> None:
    raw, pixels = _bgra_buffer(7, 5)
    bgra = image_to_bgra(raw, 7, 5)
    assert bgra.shape == (5, 7, 4) and bgra.dtype == np.uint8
    for (row, col), value in pixels.items():
        assert tuple(bgra[row, col]) == value
    assert bgra.tobytes() == raw
    assert bgra.flags.writeable and bgra.flags.owndata  # a copy: CARLA reuses its buffer
    CameraImage("front", bgra, 90.0, Pose(), 0.0)  # the message takes it as it is


def test_camera_buffer_of_the_wrong_size_is_refused() -> None:
    raw, _ = _bgra_buffer(7, 5)
    with pytest.raises(ValueError, match="140 bytes, expected 168 for 7x6 BGRA"):
        image_to_bgra(raw, 7, 6)


def test_lidar_buffer_becomes_xyzi_float32_byte_for_byte() -> None:
    points = [(12.5, -3.25, -1.75, 0.5), (0.0, 7.0, 0.25, 1.0), (-80.0, 0.125, 3.0, 0.0)]
    raw = b"".join(struct.pack("<ffff", *p) for p in points)  # LidarDetection: x, y, z, i
    xyzi = lidar_to_xyzi(memoryview(raw))
    assert xyzi.shape == (3, 4) and xyzi.dtype == np.float32
    assert xyzi.tolist() == [list(p) for p in points]
    assert xyzi.tobytes() == raw and xyzi.flags.writeable
    LidarScan("top", xyzi, Pose(z_m=2.0), 0.0)
    assert lidar_to_xyzi(b"").shape == (0, 4)  # a sweep that hit nothing


def test_lidar_buffer_with_a_partial_point_is_refused() -> None:
    with pytest.raises(ValueError, match="20 bytes, not a whole number of 16-byte points"):
        lidar_to_xyzi(b"\0" * 20)


def test_poses_match_carlas_own_matrices() -> None:
    transform = carla.Transform(
        carla.Location(10.0, -4.0, 1.5), carla.Rotation(pitch=5.0, yaw=-120.0, roll=2.0)
    )
    pose = transform_to_pose(transform)
    np.testing.assert_allclose(pose.matrix(), np.array(transform.get_matrix()), atol=1e-5)
    back = pose_to_transform(pose, lift_m=0.3)
    assert back.location.z == pytest.approx(1.8)
    assert back.rotation.yaw == pytest.approx(-120.0, abs=1e-4)
    assert back.rotation.pitch == pytest.approx(5.0, abs=1e-4)
    mount = MountPose(x_m=0.8, z_m=1.6, pitch_deg=-2.0, yaw_deg=10.0)
    np.testing.assert_allclose(
        np.array(mount_to_transform(mount).get_matrix()), mount.to_pose().matrix(), atol=1e-5
    )


def test_rig_becomes_blueprint_attributes() -> None:
    cam = camera_attributes(CameraConfig(width_px=640, height_px=360, fov_deg=70.0))
    assert cam == {
        "image_size_x": "640",
        "image_size_y": "360",
        "fov": "70.0",
        "sensor_tick": "0.0",
    }
    lidar = lidar_attributes(
        LidarConfig(channels=32, columns=1024, range_m=80.0, dropout=0.02, range_noise_std_m=0.02)
    )
    assert lidar["points_per_second"] == str(32 * 1024 * 20)  # a full turn per 20 Hz tick
    assert lidar["rotation_frequency"] == "20.0"
    assert (lidar["upper_fov"], lidar["lower_fov"], lidar["range"]) == ("10.0", "-30.0", "80.0")
    assert lidar["dropoff_general_rate"] == "0.02" and lidar["dropoff_zero_intensity"] == "0.0"
    assert all(isinstance(v, str) for v in lidar.values())  # CARLA takes strings only


def test_control_is_carlas_with_the_steering_range_mapped() -> None:
    control = to_carla_control(VehicleControl(throttle=0.4, steer=-0.5, brake=0.1), 0.5)
    assert isinstance(control, carla.VehicleControl)
    assert control.throttle == pytest.approx(0.4) and control.brake == pytest.approx(0.1)
    assert control.steer == pytest.approx(-0.25)
    assert to_carla_control(VehicleControl(steer=0.9), 2.0).steer == pytest.approx(1.0)
    assert to_carla_control(VehicleControl(hand_brake=True)).hand_brake


def test_light_states_and_object_classes() -> None:
    assert [light_state(s) for s in carla.TrafficLightState.values.values()] == [
        LightState.RED,
        LightState.YELLOW,
        LightState.GREEN,
        LightState.OFF,
        LightState.UNKNOWN,
    ]
    assert object_class("vehicle.lincoln.mkz_2020") is ObjectClass.VEHICLE
    assert object_class("walker.pedestrian.0001") is ObjectClass.PEDESTRIAN
    assert object_class("traffic.traffic_light") is ObjectClass.TRAFFIC_LIGHT
    assert object_class("traffic.speed_limit.30") is ObjectClass.TRAFFIC_SIGN
    assert object_class("static.pole") is ObjectClass.UNKNOWN


def test_lighting_becomes_weather() -> None:
    dusk = weather_for(LightingConfig(preset="dusk"))
    assert dusk.sun_altitude_angle == pytest.approx(3.0)
    assert dusk.sun_azimuth_angle == pytest.approx(260.0)
    grey = weather_for(LightingConfig(preset="overcast", sun_elevation_deg=20.0))
    assert grey.cloudiness == pytest.approx(85.0) and grey.sun_altitude_angle == pytest.approx(20)
    assert math.isfinite(weather_for(LightingConfig()).cloudiness)
