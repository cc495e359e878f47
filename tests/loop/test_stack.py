"""The real perception stack (shipped YOLO weights, Open3D LiDAR pipeline, fusion) on
the embedded world's frames: it finds the cars the world has, keeps their ids, and
degrades instead of crashing when a sensor goes bad or silent."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from loop.rollout import rollout, stack_for
from loop.stack import PerceptionStack
from roadmind.messages import BevScene, LidarScan, ObjectClass, SensorFrame
from sim.embedded.world import EmbeddedWorld
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def drive_log() -> list[tuple[SensorFrame, BevScene, PerceptionStack]]:
    """60 steps (3 s) of the default scenario: the stack sees every frame."""
    out = []
    with rollout(load_scenario("default"), 60) as run:
        stack = stack_for(run.world)
        assert isinstance(stack, PerceptionStack)
        out += [(s.frame, stack(s.frame), stack) for s in run]
    return out


def _nearest_truth(frame: SensorFrame, xy: np.ndarray) -> tuple[int, float]:
    assert frame.ground_truth is not None
    best = (-1, float("inf"))
    for actor in frame.ground_truth.actors:
        local = frame.ego.pose.inverse_transform_points(actor.pose.translation[None, :])[0]
        d = float(np.hypot(*(local[:2] - xy)))
        if d < best[1]:
            best = (actor.actor_id, d)
    return best


def test_the_car_ahead_is_a_fused_vehicle_where_the_world_has_it(drive_log) -> None:  # type: ignore[no-untyped-def]
    frame, scene, _ = drive_log[-1]
    in_lane = [
        o
        for o in scene.objects
        if o.object_class is ObjectClass.VEHICLE
        and o.position_m[0] > 0
        and abs(o.position_m[1]) < 2
    ]
    assert in_lane, "no vehicle ahead in the fused scene"
    ahead = min(in_lane, key=lambda o: o.position_m[0])
    actor, distance = _nearest_truth(frame, ahead.position_m[:2])
    assert distance < 1.5
    # the lead car drives at 35 km/h; the track's velocity is close to the truth
    assert frame.ground_truth is not None
    truth = next(a for a in frame.ground_truth.actors if a.actor_id == actor)
    speed_truth = float(np.hypot(*truth.velocity_mps[:2]))
    assert abs(float(np.hypot(*ahead.velocity_mps[:2])) - speed_truth) < 1.5


def test_track_ids_stay_with_their_cars(drive_log) -> None:  # type: ignore[no-untyped-def]
    ids_of: dict[int, set[int]] = {}
    for frame, scene, _ in drive_log[20:]:
        for obj in scene.objects:
            if obj.object_class is not ObjectClass.VEHICLE:
                continue
            actor, distance = _nearest_truth(frame, obj.position_m[:2])
            if distance < 1.5:
                ids_of.setdefault(actor, set()).add(obj.track_id)
    assert ids_of and all(len(ids) == 1 for ids in ids_of.values()), ids_of


def test_the_scene_is_whole_when_every_sensor_reports(drive_log) -> None:  # type: ignore[no-untyped-def]
    assert all(scene.degraded == () for _, scene, _ in drive_log[2:])
    _, scene, stack = drive_log[-1]
    assert scene.occupancy is not None and scene.occupancy.any()
    # the detector ran only for frames a fusion cycle used: 10 Hz of two cameras
    assert len(stack.times.detector_ms) <= 2 * 31
    # the second look runs once per scan, after the detector (a look per scan at most)
    assert 0 < len(stack.times.second_look_ms) <= 31


def test_a_broken_scan_and_a_silent_lidar_degrade_the_scene(drive_log) -> None:  # type: ignore[no-untyped-def]
    frame, _, _ = next(entry for entry in drive_log if entry[0].lidars)
    with EmbeddedWorld() as world:
        world.reset(load_scenario("default"))
        stack = stack_for(world)
    assert isinstance(stack, PerceptionStack)
    scan = frame.lidars[0]
    nan_scan = LidarScan(
        scan.name, np.full_like(scan.points_xyzi, np.nan), scan.sensor_to_ego, scan.timestamp_s
    )
    scene = stack(dataclasses.replace(frame, lidars=(nan_scan,)))
    assert any("LiDAR top: scan unusable" in d for d in scene.degraded)
    # cameras go on alone: 0.5 s later with no scan at all
    later = dataclasses.replace(
        frame,
        frame_id=frame.frame_id + 10,
        timestamp_s=frame.timestamp_s + 0.5,
        lidars=(),
        cameras=tuple(
            dataclasses.replace(c, timestamp_s=c.timestamp_s + 0.5) for c in frame.cameras
        ),
    )
    scene = stack(later)
    assert any("LiDAR: no scan yet" in d for d in scene.degraded)
