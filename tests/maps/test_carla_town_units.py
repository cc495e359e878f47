"""CARLA's towns read as CARLA reads them: Speed_<n> signs are km/h signs and lane speed
records give way to CARLA's 30 km/h default before the first sign."""

from __future__ import annotations

import carla
import pytest

from maps.carla_towns import is_carla_speed_sign, is_carla_town, is_town_name, landmark_unit
from maps.landmarks import map_landmarks
from maps.lane_path import LanePath
from maps.road_map import load_road_map
from maps.route_map import route_landmarks, speed_segments
from maps.routes import RoutePlanner
from roadmind.messages import SignType

KMH = 1 / 3.6


def _route(carla_map: carla.Map, road: int, lane: int, s_from: float, s_to: float) -> LanePath:
    planner = RoutePlanner(carla_map)
    start = carla_map.get_waypoint_xodr(road, lane, s_from)
    goal = carla_map.get_waypoint_xodr(road, lane, s_to)
    return LanePath.from_waypoints(planner.plan(start, goal, "test"))


def _limit_at(segments, signs, s_m: float) -> float:
    """Record and last passed sign, the lower holding (as the scorer's law reads them)."""
    limits = [r.limit_mps for r in segments if r.s_from_m <= s_m < r.s_to_m]
    passed = [g for g in signs if g.sign_type is SignType.SPEED_LIMIT and g.s_m <= s_m]
    if passed:
        last = max(passed, key=lambda g: g.s_m)
        limits.append(last.value * (KMH if last.unit == "km/h" else 1 / 2.2369362920544))
    return min(limits)


def test_town01_speed_30_sign_is_30_kmh(carla_town) -> None:
    road_map = load_road_map(carla_town("Town01"))
    town = road_map.carla_map
    assert is_carla_town(town)
    sign = next(lm for lm in town.get_all_landmarks() if lm.id == "437")
    assert (sign.name, sign.value, sign.unit) == ("Speed_30", 30.0, "mph")  # as carla.Map says
    assert is_carla_speed_sign(sign) and landmark_unit(sign, "km/h") == "km/h"
    signs, _, _ = map_landmarks(road_map)
    assert {(g.value, g.unit) for g in signs} == {(30.0, "km/h"), (60.0, "km/h"), (90.0, "km/h")}

    path = _route(town, 15, 1, 200.0, 100.0)  # passes Speed_30 (437) at road s 117.8
    problems: list[str] = []
    route_signs, _, _ = route_landmarks(town, path, problems)
    limit = next(g for g in route_signs if g.landmark_id == 437)
    assert (limit.value, limit.unit) == (30.0, "km/h")
    segments = speed_segments(town, path, problems, route_signs)
    assert _limit_at(segments, route_signs, limit.s_m + 5.0) == pytest.approx(30 * KMH)
    assert any("speed records ignored" in p for p in problems)


def test_town01_default_30_kmh_before_a_90_sign(carla_town) -> None:
    town = load_road_map(carla_town("Town01")).carla_map
    path = _route(town, 8, -1, 5.0, 80.0)  # Speed_90 (433) at road s 17.8
    problems: list[str] = []
    route_signs, _, _ = route_landmarks(town, path, problems)
    ninety = next(g for g in route_signs if g.landmark_id == 433)
    segments = speed_segments(town, path, problems, route_signs)
    assert _limit_at(segments, route_signs, 1.0) == pytest.approx(30 * KMH)  # CARLA's default
    assert _limit_at(segments, route_signs, ninety.s_m + 1.0) == pytest.approx(90 * KMH)


def test_town_names() -> None:
    for name in ("Town01", "Town10HD_Opt", "Carla/Maps/Town04", "/x/Town02.xodr", "town05"):
        assert is_town_name(name), name
    for name in ("four_way_stop", "MyTown01", "Town", "Town01b"):
        assert not is_town_name(name), name


def test_project_maps_are_not_carla_towns() -> None:
    from roadmind.resources import configs_dir

    road_map = load_road_map(configs_dir() / "maps" / "straight_speed.xodr")
    assert not is_carla_town(road_map.carla_map)
