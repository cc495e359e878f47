"""``roadmind bench fusion``: fusion + tracking + grid per cycle on a synthetic scene."""

from __future__ import annotations

import math
import time

import numpy as np

from benchmarks.timing import timing_ms
from fusion.associate import projected_box
from fusion.bev_fusion import BevFusion, CameraView, LidarView
from fusion.config import load_fusion_config
from perception.lidar.pipeline import LidarResult
from roadmind.frames import Pose
from roadmind.messages import CameraImage, Detection2D, LidarObject, ObjectClass
from sim.rig import RigConfig

BENCH_OBJECTS = 30


def bench_fusion(rig: RigConfig, rig_label: str, repeats: int) -> dict[str, object]:
    """Fusion + tracking + grid per cycle on a synthetic 30-object scene: the rig's
    cameras with a box for every object in view, LiDAR boxes and their points."""
    rng = np.random.default_rng(0)
    fusion = BevFusion(load_fusion_config(), (), [c.name for c in rig.cameras])
    objects = bench_objects(rng, BENCH_OBJECTS)
    times: list[float] = []
    for k in range(repeats + 5):
        t_s = 0.1 * k
        moved = [(center + v * t_s, half) for (center, half), v in objects]
        cameras, lidar = bench_inputs(rng, moved, t_s, rig)
        t0 = time.perf_counter()
        scene = fusion.update(k, t_s, Pose(), cameras, LidarView(lidar, Pose(), t_s))
        if k >= 5:  # the first cycles create tracks
            times.append((time.perf_counter() - t0) * 1000.0)
    out = {
        "benchmark": "fusion",
        "rig": rig_label,
        "objects": BENCH_OBJECTS,
        "cameras": len(cameras),
        "detections": sum(len(v.detections) for v in cameras.values()),
        "lidar_points": int(lidar.points_m.shape[0]),
        "tracks_out": len(scene.objects),
        "cycle": timing_ms(times),
        "target_ms": 10.0,
    }
    return out


def bench_objects(
    rng: np.random.Generator, count: int
) -> list[tuple[tuple[np.ndarray, np.ndarray], np.ndarray]]:
    """((centre, half extent), velocity) of road users 5-50 m around the ego."""
    out = []
    for i in range(count):
        car = i % 3 != 0
        # half of them ahead, where the cameras look; the rest all around
        angle = rng.uniform(-math.pi, math.pi) if i % 2 else rng.uniform(-0.6, 0.6)
        rng_m = rng.uniform(5.0, 50.0)
        half = np.array([2.2, 0.9, 0.75]) if car else np.array([0.3, 0.3, 0.87])
        center = np.array([rng_m * np.cos(angle), rng_m * np.sin(angle), half[2]])
        velocity = np.array([rng.uniform(-8, 8), rng.uniform(-1, 1), 0.0]) if car else np.zeros(3)
        out.append(((center, half), velocity))
    return out


def bench_inputs(
    rng: np.random.Generator,
    moved: list[tuple[np.ndarray, np.ndarray]],
    t_s: float,
    rig: RigConfig,
) -> tuple[dict[str, CameraView], LidarResult]:
    """Camera views and a LiDAR result for objects at their current places."""
    lidar_objects, points = [], []
    for center, half in moved:
        cls = ObjectClass.VEHICLE if half[0] > 1 else ObjectClass.PEDESTRIAN
        lidar_objects.append(LidarObject(center, half, 0.0, 200, cls))
        points.append(center + rng.uniform(-1, 1, (200, 3)) * half)
    points.append(rng.uniform([-20, -30, 0.3], [60, 30, 2.0], (5000, 3)))  # walls, bushes
    pts = np.vstack(points)
    lidar = LidarResult(
        tuple(lidar_objects),
        pts,
        pts[:, 2].copy(),
        np.zeros(len(pts), bool),
        np.zeros(len(pts), np.int32),
    )
    cameras = {}
    for cam in rig.cameras:
        image = CameraImage(
            cam.name,
            np.zeros((cam.height_px, cam.width_px, 4), np.uint8),
            cam.fov_deg,
            cam.pose.to_pose(),
            t_s,
        )
        dets = []
        for obj in lidar_objects:
            box = projected_box(obj, image)
            if box is not None:
                cls = obj.class_hint
                dets.append(Detection2D(cam.name, cls, box + rng.normal(0, 2, 4), 0.8))
        cameras[cam.name] = CameraView(image, tuple(dets))
    return cameras, lidar
