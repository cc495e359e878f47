"""``roadmind bench lidar``: LiDAR pipeline ms on a 32 x 1024 and a 64 x 2048 scan of the
embedded world, and on real scans of real size when ``../shared/realdata`` (or
``--realdata DIR``) holds them: three KITTI HDL-64E sweeps (115-127k points) and a
VLS-128 street sweep (209k points); without them, the 64 x 2048 scan stands in at
real size and a 128 x 2048 one is added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.timing import cpu_count, cpu_name, timing_ms
from loop.rollout import frames_at
from loop.worlds import WorldOptions
from perception.lidar.config import LidarPipelineConfig
from perception.lidar.pipeline import LidarPipeline
from perception.point_cloud_io import read_points
from roadmind.frames import Pose
from sim.rig import LidarConfig, MountPose, RigConfig
from sim.scenario import load_scenario

TARGET_MS_32K = 25.0
TARGET_MS_120K = 30.0  # a KITTI sweep, 2 cores
TARGET_MS_209K = 60.0  # the VLS-128 sweep
KITTI_FRAMES = ("000000", "000001", "000002")
KITTI_SENSOR_Z_M = 1.73  # the HDL-64E above the road
VLS128_SENSOR_Z_M = 2.0  # unknown; the CLI's default


def default_realdata() -> Path:
    """``../shared/realdata`` beside the project's checkout."""
    return Path(__file__).resolve().parents[2] / "shared" / "realdata"


def real_scans(realdata: Path) -> dict[str, tuple[np.ndarray, Pose]]:
    """The real sweeps found under ``realdata`` (none when it is absent)."""
    out: dict[str, tuple[np.ndarray, Pose]] = {}
    for frame in KITTI_FRAMES:
        path = realdata / "kitti" / "velodyne" / f"{frame}.bin"
        if path.is_file():
            out[f"kitti_{frame}"] = (read_points(path), Pose(z_m=KITTI_SENSOR_Z_M))
    path = realdata / "lidar_scans" / "velodyne_vls128.pcd"
    if path.is_file():
        out["vls128"] = (read_points(path), Pose(z_m=VLS128_SENSOR_Z_M))
    return out


def bench_scans(
    scenario_name: str, steps: int, dense: bool = False
) -> dict[str, tuple[np.ndarray, Pose]]:
    """Scans of the bench rig's 32 x 1024 LiDAR and of a 64 x 2048 HDL-64-like one (and,
    ``dense``, a 128 x 2048 one of about a VLS-128's size), taken together after
    ``steps`` oracle-driven steps (traffic around the car)."""
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
    if dense:
        lidars.append(
            lidars[1].model_copy(
                update={"name": "128x2048", "channels": 128, "lower_fov_deg": -25.0}
            )
        )
    rig = RigConfig(cameras=[], lidars=lidars)
    _, frame = frames_at(load_scenario(scenario_name), steps, WorldOptions(rig))
    assert frame is not None  # the rig has LiDARs
    return {scan.name: (scan.points_xyzi, scan.sensor_to_ego) for scan in frame.lidars}


def bench_lidar(
    scenario_name: str,
    steps: int,
    repeats: int,
    base: LidarPipelineConfig,
    realdata: Path | None = None,
) -> dict[str, object]:
    """Each embedded scan through grid and DBSCAN clustering, each real one through the
    configured method, ``repeats`` timed runs after 3."""
    runs: list[dict[str, Any]] = []
    real = real_scans(realdata or default_realdata())
    scans = bench_scans(scenario_name, steps, dense=not real)
    for name, (points, mount) in {**scans, **real}.items():
        methods = ("grid", "dbscan") if name in ("32x1024", "64x2048") else (base.cluster.method,)
        for method in methods:
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
    method = base.cluster.method
    mid = [r for r in runs if r["scan"].startswith("kitti_") and r["method"] == method]
    if not mid:  # no real scans: the synthetic scans of their size stand in
        mid = [r for r in runs if r["scan"] == "64x2048" and r["method"] == method]
    big = [r for r in runs if r["scan"] in ("vls128", "128x2048")]
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
        "real_size": {
            "scans": [r["scan"] for r in mid + big],
            "target_ms_120k": TARGET_MS_120K,
            "target_ms_209k": TARGET_MS_209K,
            "met_120k": bool(mid) and max(float(r["mean_ms"]) for r in mid) <= TARGET_MS_120K,
            "met_209k": bool(big) and max(float(r["mean_ms"]) for r in big) <= TARGET_MS_209K,
        },
        "cpu": cpu_name(),
        "threads": cpu_count(),
    }
