"""CLI commands of the fusion stage: ``eval fusion`` and ``bench fusion``."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cli.output import emit_json, timing_ms

if TYPE_CHECKING:  # the CLI's --help stays light: Open3D loads only when needed
    from fusion.bev_fusion import CameraView
    from perception.lidar_pipeline import LidarResult
    from sim.rig import RigConfig

BENCH_OBJECTS = 30


def cmd_eval_fusion(args: argparse.Namespace) -> int:
    from evaluation.fusion import evaluate
    from sim.rig import load_rig, resolve_rig_path
    from sim.scenario import SCENARIOS_DIR

    names = args.scenarios or sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml"))
    from fusion.config import load_fusion_config

    rig = load_rig(resolve_rig_path(args.rig))
    fusion = load_fusion_config(Path(args.config) if args.config else None)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
        result = evaluate(
            names,
            args.frames,
            args.stride,
            rig,
            progress=lambda msg: print(msg, file=sys.stderr),
            fusion=fusion,
        )
    result["rig"] = args.rig
    result["config"] = args.config or "configs/perception/fusion.yaml"
    return emit_json(result, args.out)


def cmd_bench_fusion(args: argparse.Namespace) -> int:
    """Fusion + tracking + grid per cycle on a synthetic 30-object scene: the rig's
    cameras with a box for every object in view, LiDAR boxes and their points."""
    from fusion.bev_fusion import BevFusion, LidarView
    from fusion.config import load_fusion_config
    from roadmind.frames import Pose
    from sim.rig import load_rig, resolve_rig_path

    rng = np.random.default_rng(0)
    rig = load_rig(resolve_rig_path(args.rig))
    fusion = BevFusion(load_fusion_config(), (), [c.name for c in rig.cameras])
    objects = bench_objects(rng, BENCH_OBJECTS)
    times: list[float] = []
    for k in range(args.repeats + 5):
        t_s = 0.1 * k
        moved = [(center + v * t_s, half) for (center, half), v in objects]
        cameras, lidar = bench_inputs(rng, moved, t_s, rig)
        t0 = time.perf_counter()
        scene = fusion.update(k, t_s, Pose(), cameras, LidarView(lidar, Pose(), t_s))
        if k >= 5:  # the first cycles create tracks
            times.append((time.perf_counter() - t0) * 1000.0)
    out = {
        "benchmark": "fusion",
        "rig": args.rig,
        "objects": BENCH_OBJECTS,
        "cameras": len(cameras),
        "detections": sum(len(v.detections) for v in cameras.values()),
        "lidar_points": int(lidar.points_m.shape[0]),
        "tracks_out": len(scene.objects),
        "cycle": timing_ms(times),
        "target_ms": 10.0,
    }
    return emit_json(out, args.out)


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
    from fusion.associate import projected_box
    from fusion.bev_fusion import CameraView
    from perception.lidar_pipeline import LidarResult
    from roadmind.messages import CameraImage, Detection2D, LidarObject, ObjectClass

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


def add_commands(evals: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    e = evals.add_parser(
        "fusion",
        help="nuScenes-style AP (0.5/1/2/4 m), velocity error and ID switches of the fused scene",
    )
    e.add_argument("--scenarios", nargs="*", default=None, help="default: every scenario")
    e.add_argument(
        "--frames", type=int, default=None, help="at most this many scored frames per scenario"
    )
    e.add_argument("--stride", type=int, default=2, help="score one scan in this many")
    e.add_argument("--rig", default="surround", help="sensor rig (name in configs/rigs or a path)")
    e.add_argument("--config", default=None, help="fusion settings (default: the shipped)")
    e.add_argument("--out", default=None, help="also write the JSON to this file")
    e.set_defaults(func=cmd_eval_fusion)
    b = bench.add_parser("fusion", help="fusion + tracking + grid ms per cycle, 30 objects")
    b.add_argument("--repeats", type=int, default=100)
    b.add_argument("--rig", default="default", help="whose cameras see the objects")
    b.add_argument("--out", default=None, help="also write the JSON to this file")
    b.set_defaults(func=cmd_bench_fusion)
