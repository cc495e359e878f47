"""A canned scene's own settings are checked when it is loaded: ranges the right way
round, stretches that start before they end, no NaN except in perceived values."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from reasoning.canned import load_scene
from roadmind.errors import ConfigError

SCENE = """
description: t
frames:
  - ego: {{s_m: 0, speed_kmh: {ego_speed}}}
    objects: [{{class: vehicle, at: [{ahead}, 0], speed_kmh: 20}}]
    expect: {expect}
map: {{length_m: 500, {map}}}
"""


def _scene(tmp_path: Path, expect: str = "{action: cruise}", map: str = "", **kw: str) -> Path:
    values = {"ego_speed": "50", "ahead": "40", **kw}
    path = tmp_path / "scene.yaml"
    path.write_text(SCENE.format(expect=expect, map=map, **values))
    return path


def _refused(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_scene(path)
    assert str(err.value).startswith(f"{path}: ")
    return str(err.value)


@pytest.mark.parametrize("key", ["speed_kmh", "stop_m"])
def test_a_reversed_expectation_range_is_refused(tmp_path: Path, key: str) -> None:
    path = _scene(tmp_path, f"{{action: stop, {key}: [40, 30]}}")
    assert f"frames.0.expect.{key}: range [40, 30] is reversed" in _refused(path)


@pytest.mark.parametrize("key", ["speed_kmh", "stop_m"])
def test_a_nan_expectation_range_is_refused(tmp_path: Path, key: str) -> None:
    path = _scene(tmp_path, f"{{action: stop, {key}: [.nan, 30]}}")
    assert f"frames.0.expect.{key}.0: Input should be a finite number" in _refused(path)


@pytest.mark.parametrize(
    ("stretch", "field"),
    [
        ("speed_limits: [{from_m: 200, to_m: 100, value: 50}]", "map.speed_limits.0"),
        ("notes: [{from_m: 300, to_m: 100, text: 'School zone 30 km/h'}]", "map.notes.0"),
        ("crosswalks: [{from_m: 60, to_m: 55}]", "map.crosswalks.0"),
        ("junctions: [{from_m: 80, to_m: 80}]", "map.junctions.0"),
    ],
)
def test_a_stretch_that_ends_before_it_starts_is_refused(
    tmp_path: Path, stretch: str, field: str
) -> None:
    assert f"{field}: from_m (" in _refused(_scene(tmp_path, map=stretch))


@pytest.mark.parametrize(
    ("map", "field"),
    [
        ("signs: [{type: speed_limit, at_m: 50, value: .nan}]", "map.signs.0.value"),
        ("lights: [{at_m: .inf, landmark_id: 3}]", "map.lights.0.at_m"),
        ("speed_limits: [{from_m: 0, to_m: 100, value: .inf}]", "map.speed_limits.0.value"),
    ],
)
def test_nan_in_the_map_is_refused(tmp_path: Path, map: str, field: str) -> None:
    assert f"{field}: Input should be a finite number" in _refused(_scene(tmp_path, map=map))


def test_perceived_values_may_be_nan_but_not_infinite(tmp_path: Path) -> None:
    scene = load_scene(_scene(tmp_path, ego_speed=".nan", ahead=".nan"))
    assert math.isnan(scene.frames[0].ego.speed_kmh)
    assert math.isnan(scene.frames[0].objects[0].at[0])
    message = _refused(_scene(tmp_path, ego_speed=".inf"))
    assert "frames.0.ego.speed_kmh: infinity is not allowed here" in message
