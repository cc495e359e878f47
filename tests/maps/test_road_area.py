"""How far points lie beyond the road's vehicle lanes, on the project's straight road
(configs/maps/straight_speed.xodr: driving lanes to 7 m either side of the centre line,
a 1 m shoulder, then a 2.5 m sidewalk)."""

from __future__ import annotations

from pathlib import Path

import carla
import numpy as np
import pytest

from maps.road_area import RoadArea

MAP = Path(__file__).resolve().parents[2] / "configs" / "maps" / "straight_speed.xodr"


@pytest.fixture(scope="module")
def area() -> RoadArea:
    return RoadArea(carla.Map("straight_speed", MAP.read_text()))


def test_lanes_and_shoulders_are_road_sidewalk_and_beyond_are_not(area: RoadArea) -> None:
    points = np.array([[100.0, 1.75], [100.0, -5.0], [100.0, 7.6], [100.0, 9.5], [100.0, 14.0]])
    outside = area.outside_m(points, 0.0)
    assert outside[:3] == pytest.approx([0.0, 0.0, 0.0])
    # beyond the shoulder's edge at 8 m: on the sidewalk 1.5 m, past it 6 m
    assert outside[3:] == pytest.approx([1.5, 6.0], abs=0.05)


def test_sidewalks_count_as_road_when_asked(area: RoadArea) -> None:
    walks = RoadArea(area.carla_map, carla.LaneType.Sidewalk)
    assert walks.outside_m(np.array([[100.0, 9.5], [100.0, 0.0]]), 0.0)[0] == 0.0
    assert walks.outside_m(np.array([[100.0, 0.0]]), 0.0)[0] > 7.0
