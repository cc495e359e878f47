"""Leaderboard route files (1.0 and 2.0 layouts) read into scenarios and driven through
every keypoint; the route files in configs/routes drive to score 100 with the oracle."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from loop.drive import DriveOptions, drive
from roadmind.errors import UserError
from roadmind.resources import MAPS_DIR_ENV, configs_dir
from sim.leaderboard_routes import read_route, route_scenario, weather_lighting
from sim.rig import RigConfig

ROUTES = configs_dir() / "routes"
NO_SENSORS = RigConfig(cameras=[], lidars=[])

V1 = """<routes>
  <route id="7" town="Town01">
    <waypoint pitch="0" roll="0" x="1.0" y="2.0" yaw="90" z="0.5"/>
    <waypoint pitch="0" roll="0" x="4.0" y="6.0" yaw="90" z="0.5"/>
  </route>
</routes>"""
V2 = """<routes>
  <route id="3" town="Town12">
    <weathers>
      <weather route_percentage="0" cloudiness="80" sun_altitude_angle="10"
        sun_azimuth_angle="200" fog_density="50"/>
      <weather route_percentage="100" cloudiness="0" sun_altitude_angle="60"/>
    </weathers>
    <waypoints>
      <position x="0" y="0" z="0"/><position x="10" y="0" z="0"/><position x="10" y="10" z="1"/>
    </waypoints>
    <scenarios>
      <scenario name="Accident_1" type="Accident">
        <trigger_point x="5" y="0" z="0" yaw="0"/><distance value="120"/>
      </scenario>
    </scenarios>
  </route>
</routes>"""


def test_reads_both_layouts(tmp_path: Path) -> None:
    (tmp_path / "v1.xml").write_text(V1)
    (tmp_path / "v2.xml").write_text(V2)
    one = read_route(tmp_path / "v1.xml", "7")
    assert (one.version, one.town, one.keypoints) == ("1.0", "Town01", ((1, 2, 0.5), (4, 6, 0.5)))
    assert one.keypoint_length_m == pytest.approx(5.0)
    two = read_route(tmp_path / "v2.xml", "3")
    assert (two.version, len(two.keypoints), two.keypoint_length_m) == ("2.0", 3, 20.0)
    assert [(e.name, e.type, e.trigger_xyz) for e in two.scenarios] == [
        ("Accident_1", "Accident", (5.0, 0.0, 0.0))
    ]
    scenario = route_scenario(two)
    assert scenario.map == "Town12" and scenario.ego.route is not None
    assert [p.x_m for p in scenario.ego.route.via] == [10.0]
    assert (scenario.ego.start.x_m, scenario.ego.route.goal.y_m) == (0.0, 10.0)
    light = scenario.lighting  # the first weather
    assert (light.sun_elevation_deg, light.overcast) == (10.0, 0.8)
    assert light.visibility_m < 400 and weather_lighting({}).visibility_m == 600


def test_bad_route_files_say_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "v1.xml").write_text(V1)
    with pytest.raises(UserError, match=r"no route with id '9' \(routes: 7\)"):
        read_route(tmp_path / "v1.xml", "9")
    (tmp_path / "bad.xml").write_text(V1.replace('x="4.0"', 'x="east"'))
    with pytest.raises(UserError, match="keypoint 1 x: 'east' is not a number"):
        read_route(tmp_path / "bad.xml", "7")
    with pytest.raises(UserError, match="route file not found"):
        read_route(tmp_path / "none.xml", "0")


def test_cli_route_id_needs_routes(capsys) -> None:
    assert main(["drive", "--route-id", "0", "--no-video"]) == 2
    assert "--route-id goes with --routes" in capsys.readouterr().err
    assert main(["bench", "sim", "--route-id", "0"]) == 2  # bench sim takes routes too
    assert "--route-id goes with --routes" in capsys.readouterr().err
    assert main(["bench", "sim", "--routes", "configs/routes/town04.xml"]) == 2
    assert "--routes needs --route-id" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("town", "route_id"),
    # Town10HD's route 0 (727 m) stops at a light whose OpenDRIVE position is 60 m from
    # its stop lines: the oracle must still see it
    [("Town01", "1"), ("Town04", "1"), ("Town10HD", "0")],
)
def test_route_scores_100_through_every_keypoint(
    town: str, route_id: str, carla_town, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv(MAPS_DIR_ENV, str(carla_town(town).parent))
    route = read_route(ROUTES / f"{town.lower()}.xml", route_id)
    options = DriveOptions(video=False, progress=False, rig=NO_SENSORS, route_file=route)
    result = drive(route_scenario(route), tmp_path / "run", options)
    m = result.metrics
    lb = m["leaderboard_route"]
    assert result.finished and m["driving_score"] == 100.0, m["infractions"]
    if route_id == "1":  # short and straight: chords and lanes agree
        assert lb["interpolated_route_m"] == pytest.approx(lb["keypoint_polyline_m"], rel=0.02)
    assert m["distance_km"] * 1000 == pytest.approx(lb["interpolated_route_m"], rel=0.02)
    if town == "Town04":  # a 2.0 file: its scenario is listed, not run
        assert [s["name"] for s in lb["scenarios_not_run"]] == ["HardBreakRoute_1"]
