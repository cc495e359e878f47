"""Map context along routes planned on the project maps, through the real carla.Map."""

from __future__ import annotations

import pytest

from maps.lane_path import LanePath
from maps.road_map import MAPS_DIR, load_road_map
from maps.routes import RoutePlanner
from reasoning.map_context import MapContext, NoteSpan, build_map_context
from roadmind.messages import SignType


def _context(map_name: str, start: tuple, goal: tuple, notes=()) -> MapContext:
    road_map = load_road_map(MAPS_DIR / f"{map_name}.xodr")
    a = road_map.lane_point(*start, "start")
    b = road_map.lane_point(*goal, "goal")
    path = LanePath.from_waypoints(RoutePlanner(road_map.carla_map).plan(a, b, "goal"))
    return build_map_context(road_map.carla_map, path, list(notes))


def test_speed_records_and_signs_on_a_straight_road() -> None:
    ctx = _context("straight_speed", (1, -1, 5.0), (1, -1, 560.0))
    limits = [(round(seg.s_from_m), round(seg.limit_mps * 3.6)) for seg in ctx.speed_limits]
    assert limits == [(0, 50), (195, 30), (395, 70)]
    assert ctx.speed_limits[0].source == "map speed record road 1 lane -1"
    signs = [(g.landmark_id, round(g.s_m), g.value, g.unit) for g in ctx.signs]
    assert signs == [(101, 5, 50.0, "km/h"), (102, 195, 30.0, "km/h"), (103, 395, 70.0, "km/h")]
    assert ctx.lights == () and ctx.junctions == () and ctx.crosswalks == ()
    assert ctx.speed_record_at(250.0).value == 30.0


def test_signalised_junction_light_crosswalks_and_junction_on_the_route() -> None:
    ctx = _context("four_way_signals", (1, 1, 95.0), (3, -1, 80.0))
    assert [(lt.landmark_id, round(lt.s_m)) for lt in ctx.lights] == [(201, 89)]
    assert len(ctx.junctions) == 1 and ctx.junctions[0].ident == 1000
    junction = ctx.junctions[0]
    assert 94 <= junction.s_from_m <= 96 and 118 <= junction.s_to_m <= 120
    # one crosswalk before the junction (road 1, s 1..5) and one after it (road 3)
    assert len(ctx.crosswalks) == 2
    before, after = ctx.crosswalks
    assert before.s_from_m >= 89 and before.s_to_m <= 95
    assert after.s_from_m >= junction.s_to_m - 1


@pytest.mark.parametrize(
    ("map_name", "start", "goal", "sign_type", "landmark", "line_s"),
    [
        ("four_way_stop", (1, 1, 70.0), (3, -1, 60.0), SignType.STOP, 301, 64),
        ("t_junction_yield", (3, 1, 70.0), (1, -1, 80.0), SignType.YIELD, 401, 68),
    ],
)
def test_stop_and_yield_lines(map_name, start, goal, sign_type, landmark, line_s) -> None:
    ctx = _context(map_name, start, goal)
    found = [(g.sign_type, g.landmark_id, round(g.s_m)) for g in ctx.signs]
    assert found == [(sign_type, landmark, line_s)]


def test_notes_map_to_route_stretches_and_bad_text_is_kept_with_its_error() -> None:
    notes = [
        NoteSpan(1, 260, 380, "School zone: 20 mph 7:00-9:00 and 14:00-16:00 on school days"),
        NoteSpan(1, 100, 150, "Beware of deer"),
        NoteSpan(7, 0, 50, "Road works, 40 km/h"),  # no road 7 on the route
    ]
    ctx = _context("straight_speed", (1, -1, 200.0), (1, -1, 500.0), notes)
    assert len(ctx.notes) == 1  # the deer note (s 100-150) lies behind this route
    school = ctx.notes[0]
    assert (round(school.s_from_m), round(school.s_to_m)) == (60, 180)
    assert school.constraint is not None and school.constraint.cap_value == 20
    ctx2 = _context("straight_speed", (1, -1, 50.0), (1, -1, 500.0), notes)
    bad = [n for n in ctx2.notes if n.constraint is None]
    assert len(bad) == 1 and "Beware of deer" in bad[0].error
