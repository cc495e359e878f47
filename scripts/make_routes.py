"""Write the Leaderboard route files in configs/routes from CARLA's towns.

    python scripts/make_routes.py --maps-dir ../shared/maps

Each route is a seeded lane walk from a driving lane point; its keypoints are the walk's
lane-centre points every KEYPOINT_M metres (and its last point), so each lies on a lane
and the route planned through them follows the walk. Town01 and Town02 are written in
the Leaderboard 1.0 layout, Town04 and Town10HD in 2.0's (with weathers and scenarios).
Route 0 is the long one; route 1 a short one for tests.
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from pathlib import Path

import carla
import numpy as np

from maps.routes import random_lane_walk

OUT = Path(__file__).resolve().parent.parent / "configs" / "routes"
KEYPOINT_M = 60
# town: (layout, [(road, lane, s, length_m, seed), ...]) for routes 0, 1, ...
ROUTES = {
    "Town01": ("1.0", [(8, -1, 40.0, 900, 3), (15, 1, 200.0, 150, 1)]),
    "Town02": ("1.0", [(1, -1, 5.0, 900, 5), (11, 1, 60.0, 150, 2)]),
    "Town04": ("2.0", [(36, -1, 20.0, 1200, 7), (7, -2, 10.0, 150, 1)]),
    "Town10HD": ("2.0", [(0, -1, 5.0, 700, 4), (1, -1, 2.0, 150, 3)]),
}
WEATHER = {  # CARLA's WeatherParameters names, ClearNoon-like and a late-afternoon one
    "route_percentage": "0",
    "cloudiness": "15.0",
    "precipitation": "0.0",
    "precipitation_deposits": "0.0",
    "wetness": "0.0",
    "wind_intensity": "10.0",
    "sun_azimuth_angle": "120.0",
    "sun_altitude_angle": "45.0",
    "fog_density": "2.0",
}


def _walk(town: carla.Map, road: int, lane: int, s: float, length: float, seed: int):
    start = town.get_waypoint_xodr(road, lane, s)
    if start is None:
        raise SystemExit(f"no lane point at road {road} lane {lane} s {s}")
    return random_lane_walk(start, length, np.random.default_rng(seed))


def _keypoints(walk: list[carla.Waypoint]) -> list[carla.Location]:
    picked = [w for i, w in enumerate(walk) if i % KEYPOINT_M == 0 and not w.is_junction]
    if walk[-1] is not picked[-1]:
        picked.append(walk[-1])
    return [w.transform.location for w in picked]


def _f(v: float) -> str:
    return f"{v:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--maps-dir", type=Path, required=True)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (layout, routes) in ROUTES.items():
        town = carla.Map(name, (args.maps_dir / f"{name}.xodr").read_text())
        root = ET.Element("routes")
        for rid, (road, lane, s, length, seed) in enumerate(routes):
            route = ET.SubElement(root, "route", id=str(rid), town=name)
            points = _keypoints(_walk(town, road, lane, s, length, seed))
            if layout == "1.0":
                for p in points:
                    ET.SubElement(
                        route,
                        "waypoint",
                        pitch="0.0",
                        roll="0.0",
                        x=_f(p.x),
                        y=_f(p.y),
                        yaw="0.0",
                        z=_f(p.z),
                    )
                continue
            weathers = ET.SubElement(route, "weathers")
            ET.SubElement(weathers, "weather", WEATHER)
            ET.SubElement(weathers, "weather", {**WEATHER, "route_percentage": "100"})
            wps = ET.SubElement(route, "waypoints")
            for p in points:
                ET.SubElement(wps, "position", x=_f(p.x), y=_f(p.y), z=_f(p.z))
            scenarios = ET.SubElement(route, "scenarios")
            mid = points[len(points) // 2]
            sc = ET.SubElement(
                scenarios, "scenario", name="HardBreakRoute_1", type="HardBreakRoute"
            )
            ET.SubElement(sc, "trigger_point", x=_f(mid.x), y=_f(mid.y), z=_f(mid.z), yaw="0")
        ET.indent(root)
        (OUT / f"{name.lower()}.xml").write_text(ET.tostring(root, encoding="unicode") + "\n")
        print(f"{OUT / name.lower()}.xml")


if __name__ == "__main__":
    main()
