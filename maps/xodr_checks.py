"""What an OpenDRIVE file must hold before ``carla.Map`` may see it.

CARLA's parser trusts the file: a negative road length kills the process (segmentation
fault), ``length="1e12"`` asks for terabytes, a NaN heading or a lane section past the
road's end stops it with an assertion. So the XML is read first with the standard
library and every number the geometry is built from is checked: finite; road and
geometry lengths above 0 and at most ``MAX_ROAD_LENGTH_M``; lane sections and
geometries inside their road; reference-line starts and elevations within
``MAX_COORD_M`` of the origin. Far from the origin the simulator's float32 meshes and
rays lose their centimetres (at 1e7 m the spacing of float32 is 1 m), so such a map is
refused, not silently moved: scenarios may place things by world x and y, which a
shift would break. Every error names the file, the road id and the attribute.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from roadmind.errors import UserError

MAX_XODR_BYTES = 64 * 1024 * 1024  # the project's maps are under 100 kB
MAX_ROAD_LENGTH_M = 50_000.0  # one road; the embedded world meshes every lane every metre
MAX_COORD_M = 100_000.0  # float32 spacing 8 mm at this distance
LENGTH_SLACK_M = 1e-3  # rounding allowed where an s must lie inside its road
GEOMETRY_KINDS = ("line", "arc", "spiral", "poly3", "paramPoly3")
# Numeric attributes of the elements under <road> that CARLA builds geometry from.
_NUMBER_NAMES = "s sOffset ds a b c d t zOffset hOffset curvature curvStart curvEnd"
_MORE_NAMES = "aU bU cU dU aV bV cV dV x y hdg length"
NUMBERS = frozenset(_NUMBER_NAMES.split() + _MORE_NAMES.split())


def check_size(path: Path, size: int) -> None:
    if size > MAX_XODR_BYTES:
        raise UserError(
            f"{path}: {size} bytes is too large for an OpenDRIVE map "
            f"(limit {MAX_XODR_BYTES // (1024 * 1024)} MiB)"
        )


def check_geometry(root: ET.Element, path: Path) -> None:
    """Raise a ``UserError`` naming file, road and attribute for the first number
    CARLA's parser cannot take."""
    for road in root.findall("road"):
        where = f"{path}: road {road.get('id')!r}"
        _check_integer(road, "id", where)
        length = _number(road, "length", where)
        _check_length(length, "length", where)
        geometries = road.findall("planView/geometry")
        if not geometries:
            raise UserError(f"{where}: no <planView><geometry>; a road needs a reference line")
        for i, geo in enumerate(geometries):
            at = f"{where}: planView geometry {i}"
            _check_length(_number(geo, "length", at), "length", at)
            _check_s(_number(geo, "s", at), length, at)
            for axis in ("x", "y"):
                _check_coordinate(_number(geo, axis, at), axis, at)
            _number(geo, "hdg", at)
            if not any(geo.find(kind) is not None for kind in GEOMETRY_KINDS):
                raise UserError(f"{at}: no {', '.join(GEOMETRY_KINDS)} element inside")
        for elevation in road.findall("elevationProfile/elevation"):
            value = _number(elevation, "a", f"{where}: elevation")
            _check_coordinate(value, "a", f"{where}: elevation")
        for i, section in enumerate(road.findall("lanes/laneSection")):
            at = f"{where}: laneSection {i}"
            _check_s(_number(section, "s", at), length, at)
            _check_lane_ids(section, at)
        for element in road.iter():
            for name in element.attrib:
                if name in NUMBERS:
                    _number(element, name, f"{where}: <{element.tag}>")


def _check_lane_ids(section: ET.Element, where: str) -> None:
    """Left lanes > 0, right lanes < 0, the centre lane 0, each id once per section."""
    seen: set[int] = set()
    for side, ok, rule in (
        ("left", lambda i: i > 0, "> 0"),
        ("center", lambda i: i == 0, "0"),
        ("right", lambda i: i < 0, "< 0"),
    ):
        for lane in section.findall(f"{side}/lane"):
            _check_integer(lane, "id", f"{where} {side} lane")
            lane_id = int(lane.get("id", ""))
            if not ok(lane_id) or lane_id in seen:
                raise UserError(
                    f"{where}: {side} lane id={lane_id} must be {rule} and unique in its section"
                )
            seen.add(lane_id)


def _number(element: ET.Element, name: str, where: str) -> float:
    raw = element.get(name)
    if raw is None:
        if name in ("length", "s", "x", "y", "hdg"):
            raise UserError(f"{where}: {name} is missing")
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise UserError(f"{where}: {name}={raw!r} is not a number") from None
    if not math.isfinite(value):
        raise UserError(f"{where}: {name}={raw!r} must be a finite number")
    return value


def _check_integer(element: ET.Element, name: str, where: str) -> None:
    raw = element.get(name)
    try:
        int(raw or "")
    except ValueError:
        raise UserError(f"{where}: {name}={raw!r} must be a whole number") from None


def _check_length(value: float, name: str, where: str) -> None:
    if not 0.0 < value <= MAX_ROAD_LENGTH_M:
        raise UserError(
            f"{where}: {name}={value:g} m must be above 0 and at most {MAX_ROAD_LENGTH_M:g} m"
        )


def _check_s(value: float, road_length: float, where: str) -> None:
    if not -LENGTH_SLACK_M <= value <= road_length + LENGTH_SLACK_M:
        raise UserError(f"{where}: s={value:g} m lies outside the road (length {road_length:g} m)")


def _check_coordinate(value: float, name: str, where: str) -> None:
    if abs(value) > MAX_COORD_M:
        raise UserError(
            f"{where}: {name}={value:g} m is more than {MAX_COORD_M:g} m from the origin; "
            "refused, not recentred (the simulator's float32 geometry loses precision there "
            "and scenarios may place things by world x, y): move the map near the origin"
        )
