"""Perception evaluations over the scenario suite: drive each scenario with the oracle
agent (so every run takes the same path), run a stage on what the world renders and
hand frames and predictions to the scorers in ``evaluation/``, which never drive a
world themselves.

One embedded world serves the whole suite, so scenarios on one map share its meshes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from evaluation.fusion import FusedFrame, score_frames
from evaluation.lidar import ScanDetections, score_scans
from fusion.config import FusionConfig
from loop.rollout import rollout, stack_for
from maps.road_area import RoadArea
from perception.lidar.config import LidarPipelineConfig
from perception.lidar.pipeline import LidarPipeline, RoadView
from roadmind.rates import PHYSICS_HZ
from sim.embedded.world import EmbeddedWorld
from sim.lighting import LightingConfig
from sim.rig import LidarConfig, RigConfig
from sim.scenario import Scenario, load_scenario
from sim.world import World

Progress = Callable[[str], None]


def lidar_only_rig(lidar: LidarConfig | None = None) -> RigConfig:
    return RigConfig(cameras=[], lidars=[lidar or LidarConfig()])


def eval_lidar(
    scenarios: Sequence[str],
    frames: int = 20,
    stride: int = 5,
    config: LidarPipelineConfig | None = None,
    lidar: LidarConfig | None = None,
    progress: Progress | None = None,
    use_map: bool = True,
    weather: LightingConfig | None = None,
) -> dict[str, object]:
    """Score ``frames`` scans of each scenario, one every ``stride`` scans, with a
    LiDAR-only rig; the JSON report of ``roadmind eval lidar``. ``use_map``: the pipeline
    knows the map's road area, as in the loop; False: the pipeline alone. ``weather``:
    lighting and weather for every scenario instead of its own (e.g. rain)."""
    pipeline = LidarPipeline(config)
    loaded = [load_scenario(name) for name in scenarios]
    if weather is not None:
        loaded = [s.model_copy(update={"lighting": weather}) for s in loaded]
    with EmbeddedWorld(lidar_only_rig(lidar)) as world:
        scans = _lidar_scans(world, loaded, pipeline, frames, stride, progress, use_map)
        scores = score_scans(scans, pipeline.config.crop.max_range_m, [s.name for s in loaded])
    return {
        "eval": "lidar",
        "method": pipeline.config.cluster.method,
        "map": use_map,
        "weather": weather.model_dump(exclude_defaults=True) if weather else "the scenarios'",
        **scores,
    }


def _lidar_scans(
    world: World,
    scenarios: Sequence[Scenario],
    pipeline: LidarPipeline,
    frames: int,
    stride: int,
    progress: Progress | None,
    use_map: bool = False,
) -> Iterator[ScanDetections]:
    for scenario in scenarios:
        scans = used = 0
        area = None
        # the frames after each of the scenario's steps; the reset frame is not scored
        for s in rollout(scenario, int(scenario.duration_s * PHYSICS_HZ) + 1, world=world):
            if s.index == 0 or not s.frame.lidars:
                continue
            scans += 1
            if scans % stride:
                continue
            scan = s.frame.lidars[0]
            if use_map and area is None:  # the world is reset for this scenario now
                area = RoadArea(world.drive_map().carla_map)
            road = RoadView(area, s.frame.ego.pose) if area is not None else None
            t0 = time.perf_counter()
            objects = pipeline.detect(scan.points_xyzi, scan.sensor_to_ego, road)
            elapsed_ms = (time.perf_counter() - t0) * 1000.0
            yield ScanDetections(scenario.name, s.frame, objects, elapsed_ms)
            used += 1
            if used >= frames:
                break
        if progress:
            progress(f"{scenario.name}: {used} scans")


def eval_fusion(
    scenarios: Sequence[str],
    frames: int | None = None,
    stride: int = 2,
    rig: RigConfig | None = None,
    progress: Progress | None = None,
    fusion: FusionConfig | None = None,
) -> dict[str, object]:
    """Drive each scenario for its whole length with the perception stack watching
    every frame; score one LiDAR frame in ``stride`` (at most ``frames`` per scenario).
    The JSON report of ``roadmind eval fusion``."""
    start = time.perf_counter()
    loaded = [load_scenario(name) for name in scenarios]
    fusion_ms: list[float] = []
    with EmbeddedWorld(rig) as world:
        fused = _fused_frames(world, loaded, frames, stride, fusion, fusion_ms, progress)
        scores = score_frames(fused, [s.name for s in loaded])
    ms = np.array(fusion_ms) if fusion_ms else np.zeros(1)
    return {
        "eval": "fusion",
        "cameras": [c.name for c in world.rig.cameras],
        **scores,
        "fusion_ms_mean": round(float(ms.mean()), 2),
        "wall_s": round(time.perf_counter() - start, 1),
    }


def _fused_frames(
    world: World,
    scenarios: Sequence[Scenario],
    frames: int | None,
    stride: int,
    fusion: FusionConfig | None,
    fusion_ms: list[float],
    progress: Progress | None,
) -> Iterator[FusedFrame]:
    for scenario in scenarios:
        run = rollout(scenario, int(scenario.duration_s * PHYSICS_HZ), world=world)
        stack = stack_for(world, fusion)  # watches; the oracle drives
        scans = used = 0
        for s in run:
            scene = stack(s.frame)
            if not s.frame.lidars:
                continue
            scans += 1
            scored = scans % stride == 0
            yield FusedFrame(scenario.name, s.frame, scene, scored)
            used += scored
            if scored and frames is not None and used >= frames:
                break
        fusion_ms += stack.times.fusion_ms
        if progress:
            progress(f"{scenario.name}: {used} scored frames")
