"""Conversions between CARLA's client types and roadmind's, no server involved.

Sensor buffers keep CARLA's layouts, which are roadmind's: a ``carla.Image``'s
``raw_data`` is B, G, R, A bytes row by row (H * W * 4), a ``carla.LidarMeasurement``'s
is float32 x, y, z, intensity per point in the sensor frame (x forward, y right,
z up). Poses take CARLA's degrees in, radians out. The rig's sensors become blueprint
attributes so that a CARLA sensor delivers what the embedded world's would.
"""

from __future__ import annotations

import math
from typing import Any

import carla
import numpy as np

from roadmind.frames import Pose
from roadmind.messages import LightState, ObjectClass, VehicleControl
from roadmind.rates import PHYSICS_HZ
from sim.lighting import CLEAR_VISIBILITY_M, PRESETS, LightingConfig
from sim.rig import CameraConfig, LidarConfig, MountPose

LIDAR_POINT_BYTES = 16  # float32 x, y, z, intensity

LIGHT_STATES = {
    carla.TrafficLightState.Red: LightState.RED,
    carla.TrafficLightState.Yellow: LightState.YELLOW,
    carla.TrafficLightState.Green: LightState.GREEN,
    carla.TrafficLightState.Off: LightState.OFF,
    carla.TrafficLightState.Unknown: LightState.UNKNOWN,
}


def image_to_bgra(raw_data: bytes | memoryview, width_px: int, height_px: int) -> np.ndarray:
    """(H, W, 4) uint8 B, G, R, A from a ``carla.Image``'s ``raw_data``, copied (CARLA
    reuses the buffer once the callback returns)."""
    flat = np.frombuffer(raw_data, dtype=np.uint8)
    want = width_px * height_px * 4
    if flat.size != want:
        raise ValueError(
            f"camera buffer has {flat.size} bytes, expected {want} for {width_px}x{height_px} BGRA"
        )
    return flat.reshape(height_px, width_px, 4).copy()


def lidar_to_xyzi(raw_data: bytes | memoryview) -> np.ndarray:
    """(N, 4) float32 x, y, z [m], intensity from a ``carla.LidarMeasurement``'s
    ``raw_data``, copied, in the sensor frame as CARLA gives it."""
    flat = np.frombuffer(raw_data, dtype=np.uint8)
    if flat.size % LIDAR_POINT_BYTES:
        raise ValueError(
            f"LiDAR buffer has {flat.size} bytes, not a whole number of "
            f"{LIDAR_POINT_BYTES}-byte points (float32 x, y, z, intensity)"
        )
    return flat.view(np.float32).reshape(-1, 4).copy()


def transform_to_pose(transform: carla.Transform) -> Pose:
    """A CARLA transform (metres, degrees) as a Pose (metres, radians)."""
    loc, rot = transform.location, transform.rotation
    return Pose.from_carla_degrees(loc.x, loc.y, loc.z, rot.roll, rot.pitch, rot.yaw)


def pose_to_transform(pose: Pose, lift_m: float = 0.0) -> carla.Transform:
    """A Pose as a CARLA transform, ``lift_m`` higher (spawning a touch above the road
    keeps CARLA from reporting a collision with it)."""
    return carla.Transform(
        carla.Location(pose.x_m, pose.y_m, pose.z_m + lift_m),
        carla.Rotation(
            pitch=math.degrees(pose.pitch_rad),
            yaw=math.degrees(pose.yaw_rad),
            roll=math.degrees(pose.roll_rad),
        ),
    )


def mount_to_transform(mount: MountPose) -> carla.Transform:
    return carla.Transform(
        carla.Location(mount.x_m, mount.y_m, mount.z_m),
        carla.Rotation(pitch=mount.pitch_deg, yaw=mount.yaw_deg, roll=mount.roll_deg),
    )


def vector_np(vector: carla.Vector3D) -> np.ndarray:
    """(3,) float64 from a CARLA vector (same axes)."""
    return np.array([vector.x, vector.y, vector.z], dtype=np.float64)


def camera_attributes(cfg: CameraConfig) -> dict[str, str]:
    """``sensor.camera.rgb`` attributes. Every sensor reports every tick (sensor_tick 0),
    so a missing message is a dropped frame, never a rate question; frames the rig's
    rate does not want are dropped client-side, as the embedded world skips them."""
    return {
        "image_size_x": str(cfg.width_px),
        "image_size_y": str(cfg.height_px),
        "fov": str(cfg.fov_deg),
        "sensor_tick": "0.0",
    }


def lidar_attributes(cfg: LidarConfig) -> dict[str, str]:
    """``sensor.lidar.ray_cast`` attributes: one full turn of ``columns`` per channel in
    each tick, plain random dropout and Gaussian range noise as in the embedded world
    (CARLA's intensity-based dropoff is switched off)."""
    return {
        "channels": str(cfg.channels),
        "range": str(cfg.range_m),
        "points_per_second": str(int(cfg.channels * cfg.columns * PHYSICS_HZ)),
        "rotation_frequency": str(PHYSICS_HZ),
        "upper_fov": str(cfg.upper_fov_deg),
        "lower_fov": str(cfg.lower_fov_deg),
        "horizontal_fov": "360.0",
        "noise_stddev": str(cfg.range_noise_std_m),
        "dropoff_general_rate": str(cfg.dropout),
        "dropoff_intensity_limit": "1.0",
        "dropoff_zero_intensity": "0.0",
        "sensor_tick": "0.0",
    }


def to_carla_control(control: VehicleControl, steer_scale: float = 1.0) -> carla.VehicleControl:
    """roadmind's control as CARLA's; ``steer_scale`` maps the agent's steering range onto
    the vehicle's (agent max angle / vehicle max angle)."""
    return carla.VehicleControl(
        throttle=float(control.throttle),
        steer=float(np.clip(control.steer * steer_scale, -1.0, 1.0)),
        brake=float(control.brake),
        hand_brake=bool(control.hand_brake),
        reverse=bool(control.reverse),
    )


def object_class(type_id: str) -> ObjectClass:
    """roadmind's class of a CARLA actor by its type id; UNKNOWN for everything static."""
    if type_id.startswith("vehicle."):
        return ObjectClass.VEHICLE
    if type_id.startswith("walker."):
        return ObjectClass.PEDESTRIAN
    if type_id.startswith("traffic.traffic_light"):
        return ObjectClass.TRAFFIC_LIGHT
    if type_id.startswith("traffic."):
        return ObjectClass.TRAFFIC_SIGN
    return ObjectClass.UNKNOWN


def weather_for(cfg: LightingConfig) -> carla.WeatherParameters:
    """The scenario's lighting as CARLA weather: sun angles, cloud cover and fog from the
    visibility (inverting ``leaderboard_routes.weather_lighting``; haze and sky colours
    are the embedded renderer's own)."""
    elev, azim, over = PRESETS[cfg.preset]
    fog = min(100.0, max(0.0, (1.0 - cfg.visibility() / CLEAR_VISIBILITY_M) / 0.95 * 100.0))
    return carla.WeatherParameters(
        cloudiness=100.0 * (cfg.overcast if cfg.overcast is not None else over),
        sun_altitude_angle=cfg.sun_elevation_deg if cfg.sun_elevation_deg is not None else elev,
        sun_azimuth_angle=cfg.sun_azimuth_deg if cfg.sun_azimuth_deg is not None else azim,
        fog_density=fog,
    )


def light_state(state: Any) -> LightState:
    return LIGHT_STATES.get(state, LightState.UNKNOWN)
