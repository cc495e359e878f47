"""The project's own OpenDRIVE maps (configs/maps), as CARLA's parser reads them.

Expectations are written out here, independently of scripts/generate_maps.py, so
a change of the generator that moves a sign, flips its direction or drops a
crosswalk fails a test.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import carla
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MAPS_DIR = REPO_ROOT / "configs" / "maps"
GENERATOR = REPO_ROOT / "scripts" / "generate_maps.py"

MAP_NAMES = (
    "straight_speed",
    "four_way_signals",
    "four_way_stop",
    "t_junction_yield",
    "t_junction_signals",
    "crosswalk",
    "hill_street",
)
JUNCTION_MAPS = ("four_way_signals", "four_way_stop", "t_junction_yield", "t_junction_signals")
JUNCTION_ID = 1000

SPEED_LIMIT, STOP, YIELD, TRAFFIC_LIGHT = "274", "206", "205", "1000001"
SIGN_CENTRE_HEIGHT_M = 2.0


@dataclass(frozen=True)
class Landmark:
    id: str
    type: str
    road_id: int
    s: float
    orientation: str  # "+" or "-"
    lanes: tuple[int, ...]  # driving lanes the landmark governs
    value: float = 0.0
    unit: str = ""
    dynamic: bool = False


def _limit(sign_id: str, s: float, orientation: str, kmh: float, lanes: tuple[int, ...]):
    return Landmark(sign_id, SPEED_LIMIT, 1, s, orientation, lanes, kmh, "km/h")


ARM_ROADS = (1, 2, 3, 4)  # east, north, west, south (OpenDRIVE frame)
EXPECTED_LANDMARKS: dict[str, tuple[Landmark, ...]] = {
    "straight_speed": (
        _limit("101", 10.0, "+", 50.0, (-2, -1)),
        _limit("102", 200.0, "+", 30.0, (-2, -1)),
        _limit("103", 400.0, "+", 70.0, (-2, -1)),
        _limit("104", 590.0, "-", 50.0, (1, 2)),
        _limit("105", 400.0, "-", 30.0, (1, 2)),
        _limit("106", 200.0, "-", 70.0, (1, 2)),
    ),
    "four_way_signals": tuple(
        Landmark(f"20{road}", TRAFFIC_LIGHT, road, 6.0, "-", (1,), dynamic=True)
        for road in ARM_ROADS
    ),
    "four_way_stop": tuple(Landmark(f"30{road}", STOP, road, 6.0, "-", (1,)) for road in ARM_ROADS),
    "t_junction_yield": (Landmark("401", YIELD, 3, 2.0, "-", (1,)),),
    "t_junction_signals": tuple(
        Landmark(f"60{road}", TRAFFIC_LIGHT, road, 6.0, "-", (1,), dynamic=True)
        for road in (1, 2, 3)
    ),
    "crosswalk": (
        _limit("501", 20.0, "+", 30.0, (-1,)),
        _limit("502", 280.0, "-", 30.0, (1,)),
    ),
    "hill_street": (
        _limit("701", 10.0, "+", 40.0, (-1,)),
        _limit("702", 340.0, "-", 40.0, (1,)),
    ),
}

# Crosswalk polygon centres in CARLA coordinates (y = -OpenDRIVE y).
EXPECTED_CROSSWALK_CENTRES: dict[str, tuple[tuple[float, float], ...]] = {
    "straight_speed": (),
    "four_way_signals": ((15.0, 0.0), (0.0, -15.0), (-15.0, 0.0), (0.0, 15.0)),
    "four_way_stop": ((15.0, 0.0), (0.0, -15.0), (-15.0, 0.0), (0.0, 15.0)),
    "t_junction_yield": (),
    "t_junction_signals": (),
    "crosswalk": ((150.0, 0.0),),
    "hill_street": ((212.88, -17.41),),  # s = 215, past the bend
}

# Lane layout (lane id -> (type, width)) of every road outside the junction.
_STRAIGHT_LANES = {
    1: (carla.LaneType.Driving, 3.5),
    2: (carla.LaneType.Driving, 3.5),
    3: (carla.LaneType.Shoulder, 1.0),
    4: (carla.LaneType.Sidewalk, 2.5),
}
_TOWN_LANES = {1: (carla.LaneType.Driving, 3.5), 2: (carla.LaneType.Sidewalk, 2.5)}
_HILL_LANES = {
    1: (carla.LaneType.Driving, 3.5),
    2: (carla.LaneType.Parking, 2.4),
    3: (carla.LaneType.Sidewalk, 2.5),
}
EXPECTED_ROADS: dict[str, dict[int, tuple[float, dict[int, tuple[carla.LaneType, float]]]]] = {
    "straight_speed": {1: (600.0, _STRAIGHT_LANES)},
    "four_way_signals": {road: (120.0, _TOWN_LANES) for road in ARM_ROADS},
    "four_way_stop": {road: (120.0, _TOWN_LANES) for road in ARM_ROADS},
    "t_junction_yield": {1: (150.0, _TOWN_LANES), 2: (150.0, _TOWN_LANES), 3: (100.0, _TOWN_LANES)},
    "t_junction_signals": {
        1: (150.0, _TOWN_LANES),
        2: (150.0, _TOWN_LANES),
        3: (100.0, _TOWN_LANES),
    },
    "crosswalk": {1: (300.0, _TOWN_LANES)},
    "hill_street": {1: (350.0, _HILL_LANES)},
}
EXPECTED_CONNECTING_LANES = {
    "four_way_signals": 12,
    "four_way_stop": 12,
    "t_junction_yield": 6,
    "t_junction_signals": 6,
}


@cache
def load(name: str) -> carla.Map:
    return carla.Map(name, (MAPS_DIR / f"{name}.xodr").read_text(encoding="utf-8"))


def xml_root(name: str) -> ET.Element:
    return ET.parse(MAPS_DIR / f"{name}.xodr").getroot()


def landmarks_by_id(name: str) -> dict[str, carla.Landmark]:
    found: dict[str, carla.Landmark] = {}
    for landmark in load(name).get_all_landmarks():
        assert landmark.id not in found, f"{name}: landmark {landmark.id} reported twice"
        found[landmark.id] = landmark
    return found


def yaw_difference(a_deg: float, b_deg: float) -> float:
    return abs((a_deg - b_deg + 180.0) % 360.0 - 180.0)


def governed_lanes(landmark: carla.Landmark) -> list[int]:
    lanes: list[int] = []
    for first, last in landmark.get_lane_validities():
        lanes += [lane for lane in range(min(first, last), max(first, last) + 1) if lane != 0]
    return lanes


def vec(a: carla.Location, b: carla.Location) -> tuple[float, float]:
    return (b.x - a.x, b.y - a.y)


def dot(v: tuple[float, float], w: carla.Vector3D) -> float:
    return v[0] * w.x + v[1] * w.y


@pytest.mark.parametrize("name", MAP_NAMES)
def test_map_loads_with_finite_topology(name: str) -> None:
    carla_map = load(name)
    topology = carla_map.get_topology()
    assert topology
    waypoints = carla_map.generate_waypoints(1.0)
    assert len(waypoints) > 100
    for wp in waypoints:
        loc = wp.transform.location
        assert all(math.isfinite(c) for c in (loc.x, loc.y, loc.z)), (wp.road_id, wp.lane_id, wp.s)


@pytest.mark.parametrize("name", MAP_NAMES)
def test_road_lane_layout(name: str) -> None:
    carla_map = load(name)
    for road_id, (length, lanes) in EXPECTED_ROADS[name].items():
        for side in (-1, 1):
            for lane_number, (lane_type, width) in lanes.items():
                lane_id = side * lane_number
                wp = carla_map.get_waypoint_xodr(road_id, lane_id, length / 2)
                assert wp is not None, (road_id, lane_id)
                assert wp.lane_type == lane_type, (road_id, lane_id, wp.lane_type)
                assert wp.lane_width == pytest.approx(width), (road_id, lane_id)
                assert not wp.is_junction
            outside = carla_map.get_waypoint_xodr(road_id, side * (len(lanes) + 1), length / 2)
            assert outside is None, f"road {road_id} has more lanes than expected"
        forward = carla_map.get_waypoint_xodr(road_id, -1, length / 2)
        backward = carla_map.get_waypoint_xodr(road_id, 1, length / 2)
        assert yaw_difference(forward.transform.rotation.yaw, backward.transform.rotation.yaw) == (
            pytest.approx(180.0, abs=1e-3)
        )


@pytest.mark.parametrize("name", MAP_NAMES)
def test_sidewalks_on_both_sides(name: str) -> None:
    carla_map = load(name)
    for road_id, (length, lanes) in EXPECTED_ROADS[name].items():
        sidewalk_lane = max(lanes)
        for lane_id in (sidewalk_lane, -sidewalk_lane):
            centre = carla_map.get_waypoint_xodr(road_id, lane_id, length / 2).transform.location
            wp = carla_map.get_waypoint(centre, lane_type=carla.LaneType.Sidewalk)
            assert wp is not None
            assert wp.lane_type == carla.LaneType.Sidewalk
            assert (wp.road_id, wp.lane_id) == (road_id, lane_id)
            assert wp.transform.location.distance(centre) < 0.1


@pytest.mark.parametrize("name", MAP_NAMES)
def test_landmarks_types_values_and_units(name: str) -> None:
    found = landmarks_by_id(name)
    expected = {lm.id: lm for lm in EXPECTED_LANDMARKS[name]}
    assert sorted(found) == sorted(expected)
    for lm_id, exp in expected.items():
        got = found[lm_id]
        assert got.type == exp.type, lm_id
        assert got.country == "DE", lm_id
        assert got.road_id == exp.road_id, lm_id
        assert got.s == pytest.approx(exp.s), lm_id
        assert got.is_dynamic is exp.dynamic, lm_id
        assert got.value == pytest.approx(exp.value), lm_id
        assert got.unit == exp.unit, lm_id
        want = (
            carla.LandmarkOrientation.Positive
            if exp.orientation == "+"
            else carla.LandmarkOrientation.Negative
        )
        assert got.orientation == want, lm_id
        assert sorted(governed_lanes(got)) == sorted(exp.lanes), lm_id


def test_speed_limits_change_along_the_road() -> None:
    found = landmarks_by_id("straight_speed")
    forward = sorted(
        (lm for lm in found.values() if lm.get_lane_validities()[0][0] < 0), key=lambda x: x.s
    )
    backward = sorted(
        (lm for lm in found.values() if lm.get_lane_validities()[0][0] > 0), key=lambda x: -x.s
    )
    assert [lm.value for lm in forward] == [50.0, 30.0, 70.0]
    assert [lm.value for lm in backward] == [50.0, 30.0, 70.0]


@pytest.mark.parametrize("name", MAP_NAMES)
def test_signs_stand_beside_the_road_and_face_approaching_traffic(name: str) -> None:
    carla_map = load(name)
    for landmark in landmarks_by_id(name).values():
        lm_id = landmark.id
        sign = landmark.transform.location
        # Mounting height: lights 2.0 m clearance, 1.0 m tall; signs centred at 2 m.
        if landmark.type == TRAFFIC_LIGHT:
            assert landmark.z_offset == pytest.approx(2.0), lm_id
            assert landmark.height == pytest.approx(1.0), lm_id
        else:
            centre = landmark.z_offset + landmark.height / 2
            assert centre == pytest.approx(SIGN_CENTRE_HEIGHT_M), lm_id
            assert 0.5 <= landmark.height <= 1.0, lm_id
        assert sign.z == pytest.approx(landmark.z_offset, abs=1e-3), lm_id

        # The pole stands on the sidewalk of the side the governed traffic drives on.
        ground = carla.Location(sign.x, sign.y, 0.0)
        under = carla_map.get_waypoint(
            ground, project_to_road=False, lane_type=carla.LaneType.Sidewalk
        )
        assert under is not None, f"{name}: sign {lm_id} is not on a sidewalk"
        assert under.road_id == landmark.road_id, lm_id
        lanes = governed_lanes(landmark)
        assert lanes, lm_id
        assert all(math.copysign(1, lane) == math.copysign(1, under.lane_id) for lane in lanes)

        for lane_id in lanes:
            wp = carla_map.get_waypoint_xodr(landmark.road_id, lane_id, landmark.s)
            assert wp is not None and wp.lane_type == carla.LaneType.Driving, (lm_id, lane_id)
            # orientation "+" governs lanes driving along +s (negative ids), "-" the others
            if landmark.orientation == carla.LandmarkOrientation.Positive:
                assert lane_id < 0, lm_id
            else:
                assert lane_id > 0, lm_id
            # The landmark's yaw is the driving direction of the lanes it governs
            # (hOffset = pi on "-" signs; CARLA ignores the orientation here).
            assert yaw_difference(landmark.transform.rotation.yaw, wp.transform.rotation.yaw) < 0.01
            # Beside the lane, on its right-hand side, level with the landmark's s.
            offset = vec(wp.transform.location, sign)
            lateral = dot(offset, wp.transform.get_right_vector())
            along = dot(offset, wp.transform.get_forward_vector())
            assert lateral > wp.lane_width / 2, (lm_id, lane_id, lateral)
            assert abs(along) <= 0.26, (lm_id, lane_id, along)  # lights: CARLA adds 0.25 m

            # Traffic approaching in this lane sees the sign ahead ...
            upstream = wp.previous(5.0)
            assert upstream, (lm_id, lane_id)
            ahead = {lm.id: lm for lm in upstream[0].get_landmarks(10.0)}
            assert lm_id in ahead, (lm_id, lane_id)
            assert ahead[lm_id].waypoint.lane_id == lane_id
            # ... traffic of the other direction passing the same spot does not.
            opposite = carla_map.get_waypoint_xodr(landmark.road_id, -lane_id, landmark.s)
            assert opposite is not None
            opposite_upstream = opposite.previous(5.0)
            assert opposite_upstream
            seen = {lm.id for wp_ in opposite_upstream for lm in wp_.get_landmarks(10.0)}
            assert lm_id not in seen, (lm_id, lane_id)


@pytest.mark.parametrize("name", MAP_NAMES)
def test_junctions(name: str) -> None:
    carla_map = load(name)
    in_junction = [wp for wp in carla_map.generate_waypoints(2.0) if wp.is_junction]
    if name not in JUNCTION_MAPS:
        assert not in_junction
        return
    assert in_junction
    assert {wp.get_junction().id for wp in in_junction} == {JUNCTION_ID}
    connecting = {
        (wp.road_id, wp.lane_id)
        for pair in carla_map.get_topology()
        for wp in pair
        if wp.is_junction
    }
    assert len(connecting) == EXPECTED_CONNECTING_LANES[name]
    # Every approach lane (lane 1 of each arm, driving towards s=0) leads into
    # the junction and out onto the exit lane (-1) of each other arm.
    arms = sorted(EXPECTED_ROADS[name])
    for road_id in arms:
        approach = carla_map.get_waypoint_xodr(road_id, 1, 20.0)
        into = approach.next(25.0)
        assert into and all(wp.is_junction for wp in into), road_id
        exits = set()
        for wp in into:
            out = wp.next_until_lane_end(1.0)[-1].next(5.0)
            assert len(out) == 1 and not out[0].is_junction
            exits.add((out[0].road_id, out[0].lane_id))
        assert exits == {(other, -1) for other in arms if other != road_id}, road_id


@pytest.mark.parametrize("name", MAP_NAMES)
def test_crosswalks(name: str) -> None:
    carla_map = load(name)
    points = carla_map.get_crosswalks()
    expected = EXPECTED_CROSSWALK_CENTRES[name]
    assert len(points) == 5 * len(expected)
    centres = []
    for i in range(0, len(points), 5):
        polygon = points[i : i + 5]
        assert polygon[0].distance(polygon[-1]) < 1e-6, "polygon not closed"
        corners = polygon[:4]
        cx = sum(p.x for p in corners) / 4
        cy = sum(p.y for p in corners) / 4
        centres.append((round(cx, 3), round(cy, 3)))
        area = 0.5 * abs(sum(a.x * b.y - b.x * a.y for a, b in itertools.pairwise(polygon)))
        # 4 m wide, across both driving lanes (2 x 3.5 m); on a slope (hill_street) the
        # plan area is smaller by the grade's cosine
        assert area == pytest.approx(4.0 * 7.0, rel=0.005)
        # It lies across the driving lanes of a road, outside any junction.
        for p in corners:
            inside = carla.Location((p.x + cx) / 2, (p.y + cy) / 2, 0.0)
            wp = carla_map.get_waypoint(inside, project_to_road=False)
            assert wp is not None and wp.lane_type == carla.LaneType.Driving
            assert not wp.is_junction
    assert sorted(centres) == sorted((round(x, 3), round(y, 3)) for x, y in expected)


def test_crosswalks_lie_between_stop_line_and_junction() -> None:
    for name in ("four_way_signals", "four_way_stop"):
        carla_map = load(name)
        points = carla_map.get_crosswalks()
        for landmark in landmarks_by_id(name).values():
            stop = carla_map.get_waypoint_xodr(landmark.road_id, 1, landmark.s)
            entry = carla_map.get_waypoint_xodr(landmark.road_id, 1, 0.0)
            for i in range(0, len(points), 5):
                corners = points[i : i + 4]
                cx = sum(p.x for p in corners) / 4
                cy = sum(p.y for p in corners) / 4
                centre = carla.Location(cx, cy, 0.0)
                if carla_map.get_waypoint(centre).road_id != landmark.road_id:
                    continue
                forward = stop.transform.get_forward_vector()
                to_cross = dot(vec(stop.transform.location, centre), forward)
                to_entry = dot(vec(stop.transform.location, entry.transform.location), forward)
                assert 0.0 < to_cross < to_entry, (name, landmark.id)
                break
            else:
                pytest.fail(f"{name}: no crosswalk on road {landmark.road_id}")


def test_traffic_lights_form_two_phases() -> None:
    carla_map = load("four_way_signals")
    found = landmarks_by_id("four_way_signals")
    groups = {
        lm_id: sorted(g.id for g in carla_map.get_landmark_group(lm)) for lm_id, lm in found.items()
    }
    north_south, east_west = ["202", "204"], ["201", "203"]
    assert groups == {
        "201": east_west,
        "202": north_south,
        "203": east_west,
        "204": north_south,
    }
    root = xml_root("four_way_signals")
    controllers = {
        c.get("id"): sorted(ctl.get("signalId") for ctl in c.findall("control"))
        for c in root.findall("controller")
    }
    assert controllers == {"1": north_south, "2": east_west}
    junction = root.find("junction")
    assert junction is not None and junction.get("id") == str(JUNCTION_ID)
    refs = sorted((c.get("sequence"), c.get("id")) for c in junction.findall("controller"))
    assert refs == [("1", "1"), ("2", "2")]


def test_stop_signs_have_no_controllers() -> None:
    carla_map = load("four_way_stop")
    assert xml_root("four_way_stop").findall("controller") == []
    for landmark in landmarks_by_id("four_way_stop").values():
        assert [g.id for g in carla_map.get_landmark_group(landmark)] == []


def _speed_at(lane: ET.Element, s: float) -> float:
    records = sorted(
        (float(r.get("sOffset", "nan")), float(r.get("max", "nan")), r.get("unit"))
        for r in lane.findall("speed")
    )
    assert records and records[0][0] == 0.0
    assert all(unit == "km/h" for _, _, unit in records)
    return [value for offset, value, _ in records if offset <= s][-1]


@pytest.mark.parametrize("name", ["straight_speed", "crosswalk", "hill_street"])
def test_lane_speed_records_follow_the_signs(name: str) -> None:
    root = xml_root(name)
    road = next(r for r in root.findall("road") if r.get("id") == "1")
    lanes = {int(lane.get("id", "0")): lane for lane in road.iter("lane")}
    for exp in EXPECTED_LANDMARKS[name]:
        for lane_id in exp.lanes:
            # just past the sign in the lane's driving direction
            s = exp.s + 1.0 if lane_id < 0 else exp.s - 1.0
            assert _speed_at(lanes[lane_id], s) == exp.value, (exp.id, lane_id)
    for lane_id, lane in lanes.items():
        if lane.get("type") != "driving":
            assert lane.findall("speed") == [], lane_id


def test_hill_street_climbs_to_a_crest_and_back() -> None:
    carla_map = load("hill_street")

    def z_at(s: float) -> float:
        return carla_map.get_waypoint_xodr(1, -1, s).transform.location.z

    assert z_at(30.0) == pytest.approx(0.0, abs=1e-3)
    assert z_at(150.0) == pytest.approx(4.5, abs=1e-3)  # the crest
    assert z_at(105.0) == pytest.approx(2.25, abs=1e-3)  # half way up
    assert z_at(300.0) == pytest.approx(0.0, abs=1e-3)
    heights = [z_at(s) for s in range(1, 350, 2)]
    grades = [abs(b - a) / 2.0 for a, b in itertools.pairwise(heights)]
    assert max(grades) < 0.08  # a town street's grade, no step


def test_generator_reproduces_committed_maps(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    generated = sorted(p.name for p in tmp_path.glob("*.xodr"))
    assert generated == sorted(f"{name}.xodr" for name in MAP_NAMES)
    assert sorted(p.name for p in MAPS_DIR.glob("*.xodr")) == generated  # no stray maps
    for file_name in generated:
        committed = (MAPS_DIR / file_name).read_bytes()
        assert (tmp_path / file_name).read_bytes() == committed, file_name
