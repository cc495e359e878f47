"""The one drive-and-watch loop: how many steps it yields, and who closes the world."""

from __future__ import annotations

import pytest

from loop.rollout import frames_at, rollout
from loop.worlds import WorldOptions
from sim.embedded.world import EmbeddedWorld
from sim.rig import RigConfig
from sim.scenario import load_scenario

NO_SENSORS = RigConfig(cameras=[], lidars=[])


def test_yields_the_steps_asked_for_and_closes_its_world() -> None:
    run = rollout(load_scenario("default"), 5, options=WorldOptions(NO_SENSORS))
    steps = list(run)
    assert [s.index for s in steps] == [0, 1, 2, 3, 4]
    first = steps[0].frame.frame_id
    assert [s.frame.frame_id for s in steps] == [first + k for k in range(5)]  # one step each
    assert all(s.scene.frame_id == s.frame.frame_id for s in steps)
    assert run.world.static is None  # type: ignore[attr-defined]  # closed at the end


def test_an_early_break_or_ctrl_c_closes_the_world() -> None:
    with rollout(load_scenario("default"), options=WorldOptions(NO_SENSORS)) as run:
        for s in run:
            if s.index == 3:
                break
    assert run.world.static is None  # type: ignore[attr-defined]
    run = rollout(load_scenario("default"), options=WorldOptions(NO_SENSORS))
    with pytest.raises(KeyboardInterrupt):
        for s in run:
            if s.index == 2:
                raise KeyboardInterrupt
    assert run.world.static is None  # type: ignore[attr-defined]


def test_a_world_handed_in_stays_open_for_the_next_scenario() -> None:
    with EmbeddedWorld(NO_SENSORS) as world:
        for name in ("default", "stop_sign"):
            assert len(list(rollout(load_scenario(name), 3, world=world))) == 3
            assert world.static is not None


def test_frames_at_finds_the_next_scan_and_stops_without_lidar() -> None:
    camera, lidar = frames_at(load_scenario("default"), 3)
    assert lidar is not None and lidar.lidars and lidar.frame_id >= camera.frame_id
    camera, lidar = frames_at(load_scenario("default"), 2, WorldOptions(NO_SENSORS))
    assert lidar is None and camera.frame_id == 2
