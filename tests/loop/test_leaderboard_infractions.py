"""The Leaderboard's route infractions in closed-loop drives of the embedded world, each
in a scenario made to trigger it: the oracle forced off its route (outside route lanes,
lane invasions, then route deviation ends the drive), the oracle stuck behind a parked
car (agent blocked ends it after 180 s) and a slow ego among faster traffic (minimum
speed: a 2.0 infraction, not a 1.0 one)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from agent.agent import Agent, AgentStep
from loop import rollout as rollout_module
from loop.drive import DriveOptions, drive
from roadmind.messages import BevScene, EgoState, VehicleControl
from sim.rig import RigConfig
from sim.scenario import load_scenario
from sim.world import World

NO_SENSORS = RigConfig(cameras=[], lidars=[])


def _scenario(tmp_path: Path, duration_s: float, cruise_kmh: float, actors: list) -> Path:
    spec = {
        "name": "leaderboard_probe",
        "map": "straight_speed",
        "seed": 1,
        "duration_s": duration_s,
        "ego": {
            "start": {"road": 1, "lane": -1, "s_m": 5},
            "route": {"goal": {"road": 1, "lane": -1, "s_m": 330}},
            "cruise_speed_kmh": cruise_kmh,
        },
        "actors": actors,
        "lighting": {"preset": "day"},
    }
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _drive(scenario: Path, out: Path) -> dict:
    options = DriveOptions(video=False, progress=False, rig=NO_SENSORS)
    result = drive(load_scenario(str(scenario)), out, options)
    assert not result.finished
    return result.metrics


def test_forced_off_route_ends_by_deviation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_agent = rollout_module.make_agent

    def veering_agent(world: World) -> Agent:
        agent = make_agent(world)
        oracle_step = agent.step

        def step(ego: EgoState, scene: BevScene) -> AgentStep:
            out = oracle_step(ego, scene)
            if scene.timestamp_s < 4.0:
                return out
            left = VehicleControl(throttle=0.4, brake=0.0, steer=-0.25)  # across the road
            return dataclasses.replace(out, control=left)

        agent.step = step  # type: ignore[method-assign]
        return agent

    monkeypatch.setattr(rollout_module, "make_agent", veering_agent)
    m = _drive(_scenario(tmp_path, 40, 50, []), tmp_path / "run")
    lb = m["leaderboard"]
    assert lb["route_end"] == "route_deviation"
    kinds = [e["kind"] for e in m["infractions"]]
    assert kinds[0] == "outside_route_lanes" and kinds[-1] == "route_deviation"
    assert 0 < lb["outside_route_lanes_pct"] <= 100
    assert m["lane_invasions"] >= 2 and "Solid" in m["lane_invasion_markings"]  # centre line
    assert m["route_completion_pct"] < 30
    assert m["sim_time_s"] < 20  # the route ended there, not at the scenario's 40 s


def test_stuck_behind_a_parked_car_is_blocked_after_180_s(tmp_path: Path) -> None:
    parked = {"kind": "vehicle", "behaviour": "parked", "start": {"road": 1, "lane": -1, "s_m": 60}}
    m = _drive(_scenario(tmp_path, 230, 50, [parked]), tmp_path / "run")
    assert m["leaderboard"]["route_end"] == "agent_blocked"
    assert [e["kind"] for e in m["infractions"]] == ["agent_blocked"]
    lines = [json.loads(x) for x in (tmp_path / "run" / "decisions.jsonl").read_text().splitlines()]
    last_moving_s = max(d["time_s"] for d in lines if d["speed_mps"] >= 0.1)
    assert m["sim_time_s"] - last_moving_s == pytest.approx(180.0, abs=0.1)
    assert m["infraction_penalty"] == 1.0 and m["driving_score"] == m["route_completion_pct"]
    assert m["lane_invasions"] == 0


def test_a_slow_ego_among_faster_traffic_fails_2_0_minimum_speed(tmp_path: Path) -> None:
    traffic = {"kind": "vehicle", "start": {"road": 1, "lane": -2, "s_m": 20}, "speed_kmh": 50}
    spec = _scenario(tmp_path, 30, 20, [traffic])
    text = spec.read_text().replace("s_m: 330", "s_m: 120")
    spec.write_text(text)
    result = drive(
        load_scenario(str(spec)),
        tmp_path / "run",
        DriveOptions(video=False, progress=False, rig=NO_SENSORS),
    )
    m = result.metrics
    assert result.finished and m["driving_score"] == 100.0  # 1.0, the default: no such test
    v2 = m["leaderboard"]["by_version"]["2.0"]
    assert v2["infraction_counts"]["min_speed"] >= 3
    assert all(e["percentage"] < 100 for e in v2["infractions"])
    assert 0 < v2["driving_score"] < 100
