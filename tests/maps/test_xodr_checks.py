"""OpenDRIVE geometry CARLA's parser cannot take is refused before it sees it (issue 19):
a negative road length segfaulted ``carla.Map``, ``length="1e12"`` asked for TiB."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from maps.road_map import MAPS_DIR, load_road_map
from maps.xodr_checks import MAX_COORD_M, MAX_ROAD_LENGTH_M, MAX_XODR_BYTES
from roadmind.errors import UserError

STRAIGHT = (MAPS_DIR / "straight_speed.xodr").read_text()
ROAD = 'length="600.0">\n    <link'
GEOMETRY = 'hdg="0.0" length="600.0"'

# name -> (text replaced in straight_speed.xodr, replacement, expected message)
CASES = {
    "road_length_negative": (ROAD, 'length="-5">\n    <link', "road '1': length=-5 m must be"),
    "road_length_zero": (ROAD, 'length="0">\n    <link', "road '1': length=0 m must be above 0"),
    "road_length_huge": (
        '600.0"',
        '1e12"',
        f"length=1e+12 m must be above 0 and at most {MAX_ROAD_LENGTH_M:g} m",
    ),
    "road_length_nan": (
        ROAD,
        'length="nan">\n    <link',
        "road '1': length='nan' must be a finite",
    ),
    "road_length_word": (ROAD, 'length="long">\n    <link', "length='long' is not a number"),
    "geometry_length_negative": (GEOMETRY, 'hdg="0.0" length="-600"', "geometry 0: length=-600 m"),
    "geometry_length_zero": (GEOMETRY, 'hdg="0.0" length="0"', "geometry 0: length=0 m"),
    "geometry_length_inf": (GEOMETRY, 'hdg="0.0" length="inf"', "length='inf' must be a finite"),
    "heading_nan": ('hdg="0.0"', 'hdg="nan"', "geometry 0: hdg='nan' must be a finite number"),
    "x_nan": ('x="0.0"', 'x="nan"', "geometry 0: x='nan' must be a finite number"),
    "far_from_origin": ('x="0.0"', 'x="1e7"', f"x=1e+07 m is more than {MAX_COORD_M:g} m from"),
    "section_negative": ('laneSection s="0"', 'laneSection s="-100"', "laneSection 0: s=-100 m"),
    "section_past_end": ('laneSection s="0"', 'laneSection s="1e9"', "s=1e+09 m lies outside"),
    "width_nan": ('width a="3.5"', 'width a="nan"', "<width>: a='nan' must be a finite number"),
    "lane_id_word": ('lane id="-1"', 'lane id="right"', "lane: id='right' must be a whole"),
    "road_id_word": ('id="1" junction', 'id="one" junction', "road 'one': id='one' must be a"),
    "lane_id_on_wrong_side": (
        'lane id="1" type="driving"',
        'lane id="0" type="driving"',
        "laneSection 0: left lane id=0 must be > 0 and unique in its section",
    ),
    "no_geometry": ("<line />", "", "planView geometry 0: no line, arc, spiral"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_geometry_is_refused_naming_file_road_and_attribute(tmp_path: Path, name: str) -> None:
    old, new, message = CASES[name]
    assert old in STRAIGHT
    path = tmp_path / f"{name}.xodr"
    path.write_text(STRAIGHT.replace(old, new))
    with pytest.raises(UserError) as err:
        load_road_map(path)
    text = str(err.value)
    assert text.startswith(f"{path}: road ") and "\n" not in text
    assert message in text


def test_oversized_map_file_is_refused_by_size(tmp_path: Path) -> None:
    path = tmp_path / "huge.xodr"
    with path.open("wb") as fh:  # sparse: no 64 MiB written
        fh.truncate(MAX_XODR_BYTES + 1)
    with pytest.raises(UserError, match=r"huge\.xodr: \d+ bytes is too large .*limit 64 MiB"):
        load_road_map(path)


def test_map_near_the_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "offset.xodr"
    path.write_text(STRAIGHT.replace('x="0.0"', 'x="90000.0"'))
    assert load_road_map(path).roads[1].length_m == 600.0


def test_render_with_negative_road_length_is_one_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "negative.xodr"
    bad.write_text(STRAIGHT.replace(ROAD, 'length="-5">\n    <link'))
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(f"name: bad\nmap: {bad}\nego:\n  start: {{road: 1, lane: -1, s_m: 5}}\n")
    assert main(["render", "--scenario", str(scenario), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "negative.xodr: road '1': length=-5 m" in err
