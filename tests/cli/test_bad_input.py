"""A user's mistake stops with one clear line naming the file and field, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main

BASE = """
name: bad
map: {map}
ego:
  start: {{road: 1, lane: 1, s_m: 50}}
"""


def _scenario(tmp_path: Path, extra: str = "", map_ref: str = "four_way_stop") -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(BASE.format(map=map_ref) + extra)
    return path


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith("roadmind: error: ")
    return err


@pytest.fixture
def render(tmp_path: Path):
    def run(capsys: pytest.CaptureFixture[str], scenario: Path) -> str:
        return _error(capsys, "render", "--scenario", str(scenario), "--out", str(tmp_path / "out"))

    return run


def test_missing_xodr(tmp_path: Path, capsys, render) -> None:
    err = render(capsys, _scenario(tmp_path, map_ref="nowhere.xodr"))
    assert "nowhere.xodr: map file not found" in err and "four_way_stop" in err
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_malformed_xodr(tmp_path: Path, capsys, render) -> None:
    bad = tmp_path / "broken.xodr"
    bad.write_text("<OpenDRIVE><road id='1' length='10'>")
    err = render(capsys, _scenario(tmp_path, map_ref=str(bad)))
    assert "broken.xodr: not valid OpenDRIVE XML" in err


def test_xodr_without_roads(tmp_path: Path, capsys, render) -> None:
    bad = tmp_path / "empty.xodr"
    bad.write_text("<OpenDRIVE><header/></OpenDRIVE>")
    assert "empty.xodr: no <road> elements" in render(capsys, _scenario(tmp_path, map_ref=str(bad)))


def test_unknown_key(tmp_path: Path, capsys, render) -> None:
    err = render(capsys, _scenario(tmp_path, "lightning: {preset: day}\n"))
    assert "scenario.yaml: lightning: unknown key" in err


def test_actor_off_the_road(tmp_path: Path, capsys, render) -> None:
    extra = "actors:\n  - {kind: vehicle, start: {x_m: 500.0, y_m: 500.0}}\n"
    err = render(capsys, _scenario(tmp_path, extra))
    assert "actors.0.start: (500.0, 500.0) is off the road" in err


def test_actor_on_missing_lane(tmp_path: Path, capsys, render) -> None:
    extra = "actors:\n  - {kind: vehicle, start: {road: 2, lane: -7, s_m: 10}}\n"
    err = render(capsys, _scenario(tmp_path, extra))
    assert "actors.0.start: lane -7 does not exist on road 2" in err


def test_route_without_path(tmp_path: Path, capsys, render) -> None:
    # lane 1 of road 1 drives towards the junction; the goal is behind the ego on the same lane
    extra = "  route: {goal: {road: 1, lane: 1, s_m: 90}}\n"
    text = BASE.format(map="four_way_stop").rstrip("\n") + "\n" + extra
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    err = render(capsys, path)
    assert "ego.route.goal: no drivable path from road 1 lane 1" in err


@pytest.mark.parametrize(
    ("rig", "message"),
    [
        (
            "cameras: [{width_px: 0}]\nlidars: []\n",
            "cameras.0.width_px: Input should be greater than",
        ),
        (
            "lidars: [{lower_fov_deg: 10, upper_fov_deg: -5}]\n",
            "lower_fov_deg (10.0) must be below",
        ),
        ("lidars: [{dropout: 1.0}]\n", "lidars.0.dropout: Input should be less than 1"),
        ("cameras: [{fov_deg: 200}]\n", "cameras.0.fov_deg"),
        ("cameras: [{name: a}]\nlidars: [{name: a}]\n", "sensor names must be unique"),
    ],
)
def test_impossible_sensor_parameters(tmp_path: Path, capsys, rig: str, message: str) -> None:
    rig_path = tmp_path / "rig.yaml"
    rig_path.write_text(rig)
    err = _error(
        capsys,
        "render",
        "--scenario",
        "default",
        "--rig",
        str(rig_path),
        "--out",
        str(tmp_path / "o"),
    )
    assert str(rig_path) in err and message in err
