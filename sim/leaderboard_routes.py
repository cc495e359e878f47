"""CARLA Leaderboard route files, read into scenarios.

1.0: ``<routes><route id town><waypoint x y z pitch roll yaw/>...</route></routes>``;
2.0: ``<route id town>`` with ``<waypoints><position x y z/>...</waypoints>``,
``<weathers><weather route_percentage ... sun_altitude_angle .../></weathers>`` and
``<scenarios><scenario name type><trigger_point x y z yaw/>...</scenario></scenarios>``.

The keypoints become the ego's start, ``route.via`` and goal: every world plans the
route through each of them on the lane graph (``sim.placement.plan_ego_route``), as the
Leaderboard's ``interpolate_trajectory`` traces each pair with its GlobalRoutePlanner at
1 m. The first weather becomes the embedded world's lighting (sun altitude and azimuth,
cloudiness as overcast, fog as visibility). roadmind stages none of the Leaderboard's
scenario types (its scenarios come from YAML); the route's entries are kept so that
``metrics.json`` can list them as not run.
"""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from roadmind.errors import UserError
from sim.lighting import CLEAR_VISIBILITY_M, LightingConfig
from sim.scenario import EgoConfig, Place, RouteConfig, Scenario

SECONDS_PER_M = 0.4  # Leaderboard 1.0 route timeout: 0.4 s per metre of route ...
INITIAL_DELAY_S = 5.0  # ... plus 5 s (2.0's route_scenario gives 0.8 s per metre)


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """A Leaderboard scenario on the route (2.0's ``<scenario>``)."""

    name: str
    type: str
    trigger_xyz: tuple[float, float, float] | None


@dataclass(frozen=True)
class LeaderboardRoute:
    route_id: str
    town: str
    keypoints: tuple[tuple[float, float, float], ...]  # world [m]
    weather: dict[str, float]  # the first weather's attributes; empty: none given
    scenarios: tuple[RouteEntry, ...]
    version: str  # "1.0" or "2.0": the file's layout
    source: Path

    @property
    def keypoint_length_m(self) -> float:
        """The straight-line polyline through the keypoints (not the lane route)."""
        return sum(math.dist(a[:2], b[:2]) for a, b in itertools.pairwise(self.keypoints))


def read_route(path: Path, route_id: str) -> LeaderboardRoute:
    """Route ``route_id`` of a Leaderboard 1.0 or 2.0 route file; UserError names what is
    wrong (file, route id, the ids there are, a keypoint's missing coordinate)."""
    if not path.is_file():
        raise UserError(f"{path}: route file not found")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise UserError(f"{path}: not valid XML: {exc}") from None
    routes = root.findall("route") if root.tag == "routes" else []
    if not routes:
        raise UserError(f"{path}: expected <routes> with <route id town> elements")
    found = [r for r in routes if r.get("id") == str(route_id)]
    if not found:
        ids = ", ".join(str(r.get("id")) for r in routes[:40])
        raise UserError(f"{path}: no route with id {route_id!r} (routes: {ids})")
    route = found[0]
    town = route.get("town") or route.get("map")
    if not town:
        raise UserError(f"{path}: route {route_id}: no town attribute")
    where = f"{path}: route {route_id}"
    if route.find("waypoints") is not None:
        version = "2.0"
        points = route.findall("waypoints/position")
    else:
        version = "1.0"
        points = route.findall("waypoint")
    keypoints = tuple(_xyz(p, f"{where}: keypoint {i}") for i, p in enumerate(points))
    if len(keypoints) < 2:
        raise UserError(f"{where}: a route needs at least two keypoints, found {len(keypoints)}")
    weathers = route.findall("weathers/weather") or route.findall("weather")
    weather = (
        {k: _number(v, f"{where}: weather {k}") for k, v in weathers[0].attrib.items()}
        if (weathers)
        else {}
    )
    scenarios = tuple(
        RouteEntry(
            s.get("name", ""),
            s.get("type", ""),
            _xyz(t, f"{where}: scenario {s.get('name')}")
            if (t := s.find("trigger_point")) is not None
            else None,
        )
        for s in route.findall("scenarios/scenario")
    )
    return LeaderboardRoute(str(route_id), town, keypoints, weather, scenarios, version, path)


def _number(text: str | None, what: str) -> float:
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UserError(f"{what}: {text!r} is not a number") from None


def _xyz(elem: ET.Element, what: str) -> tuple[float, float, float]:
    return (
        _number(elem.get("x"), f"{what} x"),
        _number(elem.get("y"), f"{what} y"),
        _number(elem.get("z", "0"), f"{what} z"),
    )


def weather_lighting(weather: dict[str, float]) -> LightingConfig:
    """CARLA weather parameters -> the embedded world's lighting."""
    if not weather:
        return LightingConfig()
    fog = min(max(weather.get("fog_density", 0.0), 0.0), 100.0)
    return LightingConfig(
        sun_elevation_deg=min(max(weather.get("sun_altitude_angle", 50.0), -10.0), 90.0),
        sun_azimuth_deg=math.fmod(weather.get("sun_azimuth_angle", 135.0), 360.0),
        overcast=min(max(weather.get("cloudiness", 0.0), 0.0), 100.0) / 100.0,
        visibility_m=max(20.0, CLEAR_VISIBILITY_M * (1.0 - 0.95 * fog / 100.0)),
    )


def route_scenario(route: LeaderboardRoute, base: Scenario | None = None) -> Scenario:
    """The scenario that drives ``route``: the ego starts on the first keypoint and goes
    through every other one; lighting from the weather; the rest from ``base`` (its
    actors, signs and notes are dropped: their places belong to another map)."""
    places = [Place(x_m=x, y_m=y, z_m=z) for x, y, z in route.keypoints]
    ego = (base.ego if base is not None else EgoConfig(start=places[0])).model_copy(
        update={"start": places[0], "route": RouteConfig(goal=places[-1], via=places[1:-1])}
    )
    fields = {
        "name": f"{route.source.stem}_{route.route_id}",
        "description": f"Leaderboard {route.version} route {route.route_id} in {route.town}",
        "map": route.town,
        "ego": ego,
        "lighting": weather_lighting(route.weather),
        "duration_s": 3600.0,  # the route timeout ends the drive (loop.drive)
    }
    if base is None:
        return Scenario(**fields)
    return base.model_copy(
        update={**fields, "actors": [], "signs": [], "notes": [], "source": None}
    )


def route_timeout_s(route_length_m: float) -> float:
    """The Leaderboard 1.0 route timeout for an interpolated route of this length."""
    return INITIAL_DELAY_S + SECONDS_PER_M * route_length_m
