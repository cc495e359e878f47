"""``roadmind bench lidar``: LiDAR pipeline ms on a 32 x 1024 and a 64 x 2048 scan."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.timing import cpu_count, cpu_name, timing_ms
from loop.rollout import frames_at
from loop.worlds import WorldOptions
from perception.lidar_pipeline import LidarPipeline, LidarPipelineConfig
from roadmind.frames import Pose
from sim.rig import LidarConfig, MountPose, RigConfig
from sim.scenario import load_scenario

TARGET_MS_32K = 25.0


def bench_scans(scenario_name: str, steps: int) -> dict[str, tuple[np.ndarray, Pose]]:
    """Scans of the bench rig's 32 x 1024 LiDAR and of a 64 x 2048 HDL-64-like one, taken
    together after ``steps`` oracle-driven steps (traffic around the car)."""
    mount = MountPose(z_m=2.0)
    lidars = [
        LidarConfig(name="32x1024", channels=32, columns=1024, pose=mount, dropout=0.02),
        LidarConfig(
            name="64x2048",
            channels=64,
            columns=2048,
            upper_fov_deg=2.0,
            lower_fov_deg=-24.8,
            range_m=120.0,
            pose=mount,
            dropout=0.02,
        ),
    ]
    rig = RigConfig(cameras=[], lidars=lidars)
    _, frame = frames_at(load_scenario(scenario_name), steps, WorldOptions(rig))
    assert frame is not None  # the rig has LiDARs
    return {scan.name: (scan.points_xyzi, scan.sensor_to_ego) for scan in frame.lidars}


def bench_lidar(
    scenario_name: str, steps: int, repeats: int, base: LidarPipelineConfig
) -> dict[str, object]:
    """Each scan through grid and DBSCAN clustering, ``repeats`` timed runs after 3."""
    runs: list[dict[str, Any]] = []
    for name, (points, mount) in bench_scans(scenario_name, steps).items():
        for method in ("grid", "dbscan"):
            cluster = base.cluster.model_copy(update={"method": method})
            pipeline = LidarPipeline(base.model_copy(update={"cluster": cluster}))
            for _ in range(3):
                result = pipeline.run(points, mount)
            stages: dict[str, list[float]] = {}
            for _ in range(repeats):
                result = pipeline.run(points, mount)
                for key, value in result.stage_ms.items():
                    stages.setdefault(key, []).append(value)
            ms = np.array(stages.pop("total"))
            runs.append(
                {
                    "scan": name,
                    "method": method,
                    "points_in": result.counts["points_in"],
                    "after_crop": result.counts["after_crop"],
                    "non_ground": result.counts["non_ground"],
                    "objects": len(result.objects),
                    **timing_ms(ms),
                    "stage_ms_mean": {k: round(float(np.mean(v)), 2) for k, v in stages.items()},
                }
            )
    target = [float(r["mean_ms"]) for r in runs if r["scan"] == "32x1024"]
    return {
        "benchmark": "lidar",
        "what": "LidarPipeline.run: crop, ground, clustering, boxes",
        "scenario": scenario_name,
        "reps": repeats,
        "voxel_m": base.crop.voxel_m,
        "max_range_m": base.crop.max_range_m,
        "runs": runs,
        "target_ms_32k": TARGET_MS_32K,
        "target_met": bool(target) and max(target) <= TARGET_MS_32K,
        "cpu": cpu_name(),
        "threads": cpu_count(),
    }
