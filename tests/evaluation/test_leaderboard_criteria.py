"""The Leaderboard's route criteria on hand-made drives along straight_speed's road 1
(lanes -1, -2 eastbound at y 1.75 and 5.25; lanes 1, 2 westbound at y -1.75, -5.25):
outside route lanes, route deviation, agent blocked, minimum speed (2.0), the penalty
tables of 1.0 and 2.0, and the embedded world's lane-invasion sensor."""

from __future__ import annotations

import math

import carla
import numpy as np
import pytest

from evaluation.driving import DrivingMetrics
from evaluation.law import RouteLaw
from evaluation.leaderboard import (
    FIXED_PENALTY,
    Infraction,
    coefficient,
    lane_status,
    scored_kinds,
)
from maps.lane_path import LanePath
from maps.road_map import MAPS_DIR
from roadmind.clock import Clock
from roadmind.frames import Pose
from roadmind.messages import ActorTruth, ObjectClass
from sim.embedded.lane_invasion import LaneInvasionSensor

EGO_EXTENT = np.array([2.35, 0.95, 0.75])
DT = 0.05
LANE_Y = {-2: 5.25, -1: 1.75, 1: -1.75, 2: -5.25}


@pytest.fixture(scope="module")
def town() -> carla.Map:
    return carla.Map("straight_speed", (MAPS_DIR / "straight_speed.xodr").read_text())


def _route(town: carla.Map, s_from: float = 10.0, s_to: float = 210.0) -> LanePath:
    wps = [town.get_waypoint_xodr(1, -1, s) for s in np.arange(s_from, s_to + 0.5, 1.0)]
    return LanePath.from_waypoints(wps)


def _metrics(town: carla.Map, route: LanePath, version: str = "1.0") -> DrivingMetrics:
    return DrivingMetrics(
        RouteLaw(route.length_m),
        Clock.parse("08:00", "tue"),
        EGO_EXTENT,
        carla_map=town,
        route=route,
        version=version,
    )


def _drive(
    m: DrivingMetrics,
    xs: np.ndarray,
    ys: np.ndarray,
    speed_mps: float = 10.0,
    t0: float = 0.0,
    actors: tuple[ActorTruth, ...] = (),
) -> float:
    """One frame per (x, y); x from the route's start at x = 10. Returns the last time."""
    t = t0
    for x, y in zip(xs, ys, strict=True):
        t += DT
        m.update(t, Pose(float(x), float(y)), speed_mps, float(x) - 10.0, 0.0, actors, {})
    return t


def test_coefficients_of_both_versions() -> None:
    for version in ("1.0", "2.0"):
        assert FIXED_PENALTY[version][Infraction.COLLISION_PEDESTRIAN] == 0.50
        assert FIXED_PENALTY[version][Infraction.STOP_SIGN] == 0.80
        assert coefficient(Infraction.OUTSIDE_ROUTE_LANES, 25.0, version) == pytest.approx(0.75)
        assert coefficient(Infraction.ROUTE_DEVIATION, None, version) == 1.0
    assert coefficient(Infraction.MIN_SPEED, 60.0, "2.0") == pytest.approx(1 - 0.3 * 0.4)
    assert coefficient(Infraction.MIN_SPEED, 60.0, "1.0") == 1.0  # 1.0 has no such test
    assert coefficient(Infraction.SCENARIO_TIMEOUT, None, "2.0") == 0.70
    assert Infraction.MIN_SPEED not in scored_kinds("1.0")


def test_lane_status_off_lanes_and_opposite_direction(town: carla.Map) -> None:
    assert lane_status(town, 100, LANE_Y[-1], 0, 0.0) == (False, False)
    assert lane_status(town, 100, LANE_Y[-2], 0, 0.0) == (False, False)  # same direction
    assert lane_status(town, 100, LANE_Y[1], 0, 0.0) == (False, True)  # oncoming lane
    assert lane_status(town, 100, LANE_Y[1], 0, math.pi) == (False, False)  # driving it right
    assert lane_status(town, 100, 7.0 + 0.3, 0, 0.0)[0] is False  # within the 0.5 m margin
    assert lane_status(town, 100, 9.0, 0, 0.0)[0] is True  # on the shoulder / sidewalk


def test_outside_route_lanes_costs_its_share_of_the_route(town: carla.Map) -> None:
    route = _route(town)
    m = _metrics(town, route)
    xs = np.arange(10.0, 210.0, 0.5)
    ys = np.where((xs >= 110) & (xs < 160), LANE_Y[1], LANE_Y[-1])  # 50 of 200 m oncoming
    _drive(m, xs, ys)
    summary = m.summary()
    lb = summary["leaderboard"]
    assert lb["outside_route_lanes_pct"] == pytest.approx(25.0, abs=1.0)
    assert [e["kind"] for e in summary["infractions"]] == ["outside_route_lanes"]
    assert summary["infraction_penalty"] == pytest.approx(0.75, abs=0.01)
    assert lb["by_version"]["2.0"]["infraction_penalty"] == summary["infraction_penalty"]
    assert lb["route_end"] is None


def test_route_deviation_ends_the_route(town: carla.Map) -> None:
    route = _route(town)
    far = _metrics(town, route)
    t = _drive(far, np.arange(10.0, 60.0, 0.5), np.full(100, LANE_Y[-1]))
    _drive(far, np.arange(60.0, 80.0, 0.5), np.full(40, LANE_Y[-1] - 31.0), t0=t)
    assert far.route_end is Infraction.ROUTE_DEVIATION
    completion = far.route_completion
    assert completion < 0.3
    _drive(far, np.arange(80.0, 210.0, 0.5), np.full(260, LANE_Y[-1]), t0=t + 2)
    assert far.route_completion == completion  # the route ended: later frames do nothing
    assert far.summary()["leaderboard"]["route_end"] == "route_deviation"
    # no coefficient of its own: the completion reached is what scores (the jump's one
    # frame off the lanes costs its 1 % of the 50 m completed)
    assert far.counts()["route_deviation"] == 1 and far.penalty == pytest.approx(0.99)

    # 20 m off (beyond 15, within 30) for more than 30 % of the route also ends it
    near = _metrics(town, route)
    xs = np.arange(10.0, 210.0, 0.5)
    _drive(near, xs, np.where(xs > 30, LANE_Y[-1] - 20.0, LANE_Y[-1]))
    assert near.route_end is Infraction.ROUTE_DEVIATION
    # off from route s 20, ended 60 m (30 % of 200) later; events carry the front's s
    assert near.infractions[-1].route_s_m == pytest.approx(20 + 0.3 * 200 + 2.35, abs=1.0)


def test_agent_blocked_after_180_s(town: carla.Map) -> None:
    route = _route(town)
    m = _metrics(town, route)
    t = _drive(m, np.arange(10.0, 60.0, 0.5), np.full(100, LANE_Y[-1]))
    still = np.full(round(180.0 / DT) - 1, 60.0)  # 179.95 s
    t = _drive(m, still, np.full(len(still), LANE_Y[-1]), speed_mps=0.0, t0=t)
    assert m.route_end is None
    _drive(m, still[:2], np.full(2, LANE_Y[-1]), speed_mps=0.0, t0=t)  # 180.05 s
    assert m.route_end is Infraction.AGENT_BLOCKED
    assert m.summary()["infraction_counts"]["agent_blocked"] == 1


def _car(actor_id: int, speed_mps: float) -> ActorTruth:
    return ActorTruth(
        actor_id,
        ObjectClass.VEHICLE,
        Pose(300.0, 5.25),
        np.array([2.0, 0.9, 0.7]),
        np.array([speed_mps, 0.0, 0.0]),
    )


def test_minimum_speed_is_a_2_0_infraction_per_checkpoint(town: carla.Map) -> None:
    route = _route(town)
    xs = np.arange(10.0, 210.0, 0.25)
    ys = np.full(len(xs), LANE_Y[-1])
    traffic = (_car(5, 10.0), _car(6, 0.0))  # 6 never moves: a parked car, not traffic
    slow = _metrics(town, route, version="2.0")
    _drive(slow, xs, ys, speed_mps=5.0, actors=traffic)
    summary = slow.summary()
    assert summary["leaderboard"]["min_speed_checkpoints_pct"] == [50.0] * 4
    assert summary["infraction_counts"]["min_speed"] == 4
    assert slow.penalty == pytest.approx((1 - 0.3 * 0.5) ** 4)
    assert summary["leaderboard"]["by_version"]["1.0"]["driving_score"] == 100.0
    parked = _metrics(town, route, version="2.0")
    _drive(parked, xs, ys, speed_mps=5.0, actors=(_car(6, 0.0),))
    assert parked.summary()["driving_score"] == 100.0  # no traffic: every checkpoint 100 %


def test_lane_invasion_sensor_reports_the_marking_crossed(town: carla.Map) -> None:
    sensor = LaneInvasionSensor(town, EGO_EXTENT)

    def crossings(ys: np.ndarray) -> list[str]:
        events = []
        for i, y in enumerate(ys):
            events += sensor.tick(Pose(50.0 + 0.5 * i, float(y)))
        return [m for e in events for m in e.split("+")]

    assert crossings(np.full(40, LANE_Y[-1])) == []  # in its lane: nothing
    sensor = LaneInvasionSensor(town, EGO_EXTENT)
    assert crossings(np.linspace(LANE_Y[-1], LANE_Y[-2], 40)) == ["Broken"] * 4  # 4 corners
    sensor = LaneInvasionSensor(town, EGO_EXTENT)
    assert crossings(np.linspace(LANE_Y[-1], LANE_Y[1], 40)) == ["Solid"] * 4  # centre line
    sensor = LaneInvasionSensor(town, EGO_EXTENT)
    onto_shoulder = crossings(np.linspace(LANE_Y[-2], LANE_Y[-2] + 3.5, 40))
    assert onto_shoulder == ["Solid"] * 4  # every corner leaves the road over its edge line
