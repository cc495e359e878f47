"""Generate roadmind's own OpenDRIVE maps into ``configs/maps``.

Usage::

    python scripts/generate_maps.py [--out configs/maps]

The road network is built with ``scenariogeneration.xodr``; what that library
cannot express (lane ``<speed>`` records, crosswalk outlines in the form CARLA
reads, signal controllers, a fixed header date) is added afterwards by small
post-processing functions on the ``xml.etree.ElementTree`` tree.

Conventions shared by every map (see ``configs/maps/README.md``):

* right-hand traffic; lanes with negative ids drive along +s, lanes with
  positive ids drive along -s;
* every signal carries an explicit ``<validity>`` with the driving lanes of the
  direction it applies to (orientation ``+`` -> lanes ``-n..-1``, ``-`` ->
  ``1..n``).  CARLA's default validity is the other side of the road, so the
  explicit record is required;
* ``hOffset`` is 0 for orientation ``+`` and pi for ``-``.  CARLA ignores the
  orientation when it computes a landmark's transform (yaw = road heading +
  hOffset), so this makes ``landmark.transform`` yaw the driving direction of
  the lanes the sign governs for every sign, as in CARLA's own town maps;
* signs stand on the sidewalk, :data:`SIGN_CURB_INSET` metres from the curb,
  on the right-hand side of the traffic they apply to; ``zOffset`` is the
  bottom edge of the sign face (OpenDRIVE semantics), so the face centre is at
  ``zOffset + height / 2`` (2.0 m for signs);
* output is byte-for-byte deterministic (fixed header date, rounded floats).
"""

from __future__ import annotations

import argparse
import math
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from scenariogeneration import xodr

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "configs" / "maps"

HEADER_DATE = "2025-01-01T00:00:00"
GEO_REFERENCE = "+proj=tmerc +lat_0=0 +lon_0=0 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
FLOAT_SIGNIFICANT_DIGITS = 12

LANE_WIDTH = 3.5
SHOULDER_WIDTH = 1.0
PARKING_WIDTH = 2.4
SIDEWALK_WIDTH = 2.5
SIGN_CURB_INSET = 0.5
"""Distance of a sign pole from the curb, into the sidewalk (m)."""

SIGN_CENTRE_HEIGHT = 2.0
"""Height of a sign face centre above the road (m)."""

JUNCTION_RADIUS = 12.0
"""Distance from a junction centre to the start of each arm (m)."""

FOUR_WAY_ARM_LENGTH = 120.0
STOP_LINE_S = 6.0
"""s of the stop line (and the signal) on each junction arm, measured from the
junction; the crosswalk lies between it and the junction."""

CROSSWALK_S = 3.0
CROSSWALK_LENGTH = 4.0
"""Extent of a crosswalk along the road (m)."""

Orientation = Literal["+", "-"]


@dataclass(frozen=True)
class SignSpec:
    """A signal on one road, applying to the traffic of one direction."""

    id: str
    s: float
    orientation: Orientation
    type: str
    name: str
    value: float | None = None
    unit: str | None = None
    dynamic: bool = False
    width: float = 0.6
    height: float = 0.6
    z_offset: float | None = None
    """Bottom edge above the road; default centres the face at
    :data:`SIGN_CENTRE_HEIGHT`."""


@dataclass(frozen=True)
class SidewalkRoadLayout:
    """Cross-section of a road: same on both sides of the reference line."""

    driving_lanes: int
    shoulder_width: float = 0.0
    parking_width: float = 0.0

    @property
    def curb_t(self) -> float:
        """|t| of the curb (outer edge of the carriageway)."""
        return self.driving_lanes * LANE_WIDTH + self.shoulder_width + self.parking_width

    @property
    def sign_t(self) -> float:
        """|t| of a sign pole standing on the sidewalk."""
        return self.curb_t + SIGN_CURB_INSET


# --------------------------------------------------------------------------
# scenariogeneration building blocks
# --------------------------------------------------------------------------


def reset_signal_object_ids() -> None:
    """Forget ids used by previous maps.

    scenariogeneration keeps a process-wide registry of signal/object ids and
    silently renumbers duplicates, which would make the output depend on which
    maps were built before in the same process.
    """
    xodr.Signal._usedIDs.clear()
    xodr.Signal._IDCounter.clear()


def _lane(lane_type: xodr.LaneType, width: float, mark: xodr.RoadMark | None) -> xodr.Lane:
    lane = xodr.Lane(lane_type=lane_type, a=width)
    if mark is not None:
        lane.add_roadmark(mark)
    return lane


def make_lanes(layout: SidewalkRoadLayout) -> xodr.Lanes:
    """Driving lanes, optional shoulder or parking lane and a sidewalk on each side."""
    section = xodr.LaneSection(0, xodr.standard_lane(rm=xodr.std_roadmark_solid()))
    for add in (section.add_left_lane, section.add_right_lane):
        for index in range(layout.driving_lanes):
            outermost = index == layout.driving_lanes - 1
            mark = xodr.std_roadmark_solid() if outermost else xodr.std_roadmark_broken()
            add(_lane(xodr.LaneType.driving, LANE_WIDTH, mark))
        if layout.shoulder_width > 0:
            add(_lane(xodr.LaneType.shoulder, layout.shoulder_width, None))
        if layout.parking_width > 0:
            add(_lane(xodr.LaneType.parking, layout.parking_width, None))
        add(_lane(xodr.LaneType.sidewalk, SIDEWALK_WIDTH, None))
    lanes = xodr.Lanes()
    lanes.add_lanesection(section)
    return lanes


def make_road(
    road_id: int,
    name: str,
    length: float,
    layout: SidewalkRoadLayout,
    start: tuple[float, float, float] | None = None,
) -> xodr.Road:
    """A straight town road; ``start`` (x, y, hdg) fixes its position."""
    planview = xodr.PlanView() if start is None else xodr.PlanView(*start)
    planview.add_geometry(xodr.Line(length))
    road = xodr.Road(road_id, planview, make_lanes(layout), name=name)
    road.add_type(xodr.RoadType.town, country="DE")
    return road


def make_signal(spec: SignSpec, layout: SidewalkRoadLayout) -> xodr.Signal:
    """A signal on the sidewalk to the right of the traffic it applies to."""
    if spec.orientation == "+":
        t = -layout.sign_t
        orientation = xodr.Orientation.positive
        valid_from, valid_to = -layout.driving_lanes, -1
        h_offset = 0.0
    else:
        t = layout.sign_t
        orientation = xodr.Orientation.negative
        valid_from, valid_to = 1, layout.driving_lanes
        h_offset = math.pi
    z_offset = spec.z_offset
    if z_offset is None:
        z_offset = SIGN_CENTRE_HEIGHT - spec.height / 2
    signal = xodr.Signal(
        s=spec.s,
        t=t,
        country="DE",
        Type=spec.type,
        subtype="-1",
        id=spec.id,
        name=spec.name,
        dynamic=xodr.Dynamic.yes if spec.dynamic else xodr.Dynamic.no,
        value=spec.value,
        unit=spec.unit,
        zOffset=z_offset,
        orientation=orientation,
        hOffset=h_offset,
        height=spec.height,
        width=spec.width,
    )
    signal.add_validity(valid_from, valid_to)
    return signal


def add_signals(road: xodr.Road, specs: Iterable[SignSpec], layout: SidewalkRoadLayout) -> None:
    # One at a time: Road.add_signal's list branch is broken in
    # scenariogeneration 0.16.7 (calls any() on a bool).
    for spec in specs:
        road.add_signal(make_signal(spec, layout))


def make_crosswalk(
    object_id: str, s: float, half_width: float, length: float = CROSSWALK_LENGTH
) -> xodr.Object:
    """A crosswalk spanning the carriageway (|v| <= half_width) at ``s``.

    The outline is a closed polygon (first corner repeated), as CARLA's
    ``Map.get_crosswalks()`` reports it.
    """
    crosswalk = xodr.Object(
        s=s,
        t=0,
        Type=xodr.ObjectType.crosswalk,
        subtype="-1",
        id=object_id,
        name=f"crosswalk_{object_id}",
        zOffset=0,
        hdg=0,
        width=2 * half_width,
        length=length,
    )
    outline = xodr.Outline(closed=True)
    half_length = length / 2
    corners = [
        (-half_length, -half_width),
        (half_length, -half_width),
        (half_length, half_width),
        (-half_length, half_width),
        (-half_length, -half_width),
    ]
    for u, v in corners:
        outline.add_corner(xodr.CornerLocal(u, v, 0, 0))
    crosswalk.add_outline(outline)
    return crosswalk


def new_opendrive(name: str) -> xodr.OpenDrive:
    return xodr.OpenDrive(name, revMajor="1", revMinor="4", geo_reference=GEO_REFERENCE)


# --------------------------------------------------------------------------
# XML post-processing
# --------------------------------------------------------------------------


def fix_header(root: ET.Element, date: str = HEADER_DATE) -> None:
    """Replace the generation timestamp so the output is reproducible."""
    header = root.find("header")
    if header is None:
        raise ValueError("OpenDRIVE document without <header>")
    header.set("date", date)


def find_road(root: ET.Element, road_id: int) -> ET.Element:
    for road in root.iter("road"):
        if road.get("id") == str(road_id):
            return road
    raise KeyError(f"road {road_id} not found")


def find_lane(road: ET.Element, lane_id: int) -> ET.Element:
    for lane in road.iter("lane"):
        if lane.get("id") == str(lane_id):
            return lane
    raise KeyError(f"lane {lane_id} not found on road {road.get('id')}")


_LANE_CHILDREN_BEFORE_SPEED = {"link", "width", "border", "roadMark", "material", "visibility"}


def add_lane_speeds(lane: ET.Element, records: Sequence[tuple[float, float]], unit: str) -> None:
    """Insert ``<speed sOffset max unit>`` records (schema order: after marks)."""
    position = 0
    for index, child in enumerate(lane):
        if child.tag in _LANE_CHILDREN_BEFORE_SPEED:
            position = index + 1
    for offset, (s_offset, max_speed) in enumerate(records):
        speed = ET.Element(
            "speed", {"sOffset": repr(float(s_offset)), "max": repr(float(max_speed)), "unit": unit}
        )
        lane.insert(position + offset, speed)


def unwrap_object_outlines(root: ET.Element) -> None:
    """Move ``<outlines><outline/></outlines>`` to a direct ``<outline>``.

    scenariogeneration writes the OpenDRIVE 1.5+ wrapper; CARLA's parser only
    reads ``object/outline`` (OpenDRIVE 1.4 layout).
    """
    for obj in root.iter("object"):
        wrapper = obj.find("outlines")
        if wrapper is None:
            continue
        index = list(obj).index(wrapper)
        obj.remove(wrapper)
        for offset, outline in enumerate(wrapper.findall("outline")):
            obj.insert(index + offset, outline)


@dataclass(frozen=True)
class ControllerSpec:
    """A group of signals that always show the same state (one phase)."""

    id: str
    name: str
    signal_ids: tuple[str, ...]


def add_controllers(
    root: ET.Element, junction_id: int, controllers: Sequence[ControllerSpec]
) -> None:
    """Add top-level ``<controller>`` elements and reference them from the junction.

    The junction's ``sequence`` gives the phase order.
    """
    children = list(root)
    first_junction = next(
        (i for i, child in enumerate(children) if child.tag == "junction"), len(children)
    )
    junction = next((j for j in root.iter("junction") if j.get("id") == str(junction_id)), None)
    if junction is None:
        raise KeyError(f"junction {junction_id} not found")
    for offset, spec in enumerate(controllers):
        controller = ET.Element("controller", {"id": spec.id, "name": spec.name, "sequence": "0"})
        for signal_id in spec.signal_ids:
            ET.SubElement(controller, "control", {"signalId": signal_id, "type": "0"})
        root.insert(first_junction + offset, controller)
        ET.SubElement(
            junction, "controller", {"id": spec.id, "type": "0", "sequence": str(offset + 1)}
        )


def clear_junction_road_marks(root: ET.Element) -> None:
    """Drop lane markings of connecting roads (no lines painted inside junctions)."""
    for road in root.iter("road"):
        if road.get("junction", "-1") == "-1":
            continue
        for lane in road.iter("lane"):
            for mark in lane.findall("roadMark"):
                lane.remove(mark)


DEGENERATE_SPIRAL_TOLERANCE = 1e-6
"""Curvature change (1/m) below which a spiral is rewritten as arc or line."""


def replace_degenerate_spirals(root: ET.Element) -> None:
    """Rewrite constant-curvature ``<spiral>`` geometries as ``<arc>``/``<line>``.

    The junction creator fits clothoid-arc-clothoid curves and writes even the
    constant-curvature middle piece (and straight connections) as spirals;
    CARLA evaluates a spiral through 1/sqrt(curvature rate) and returns NaN
    positions when start and end curvature are equal.
    """
    for geometry in root.iter("geometry"):
        spiral = geometry.find("spiral")
        if spiral is None:
            continue
        start = float(spiral.get("curvStart", "0"))
        end = float(spiral.get("curvEnd", "0"))
        if abs(end - start) >= DEGENERATE_SPIRAL_TOLERANCE:
            continue
        geometry.remove(spiral)
        curvature = (start + end) / 2
        if abs(curvature) < DEGENERATE_SPIRAL_TOLERANCE:
            ET.SubElement(geometry, "line")
        else:
            ET.SubElement(geometry, "arc", {"curvature": repr(curvature)})


def _normalise_number(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    rounded = float(f"{number:.{FLOAT_SIGNIFICANT_DIGITS}g}")
    if rounded == 0:
        rounded = 0.0
    return repr(rounded)


def normalise_floats(root: ET.Element) -> None:
    """Round every non-integer numeric attribute to a fixed precision.

    Keeps the bytes stable across platforms whose last float bits differ;
    integer-looking attributes (ids, lane ids) are left untouched.
    """
    for element in root.iter():
        for key, value in list(element.attrib.items()):
            if any(marker in value for marker in (".", "e", "E")):
                element.set(key, _normalise_number(value))


def serialise(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def finish(odr: xodr.OpenDrive) -> ET.Element:
    """Common post-processing of every map."""
    root = odr.get_element()
    fix_header(root)
    unwrap_object_outlines(root)
    replace_degenerate_spirals(root)
    clear_junction_road_marks(root)
    return root


# --------------------------------------------------------------------------
# maps
# --------------------------------------------------------------------------

STRAIGHT_LAYOUT = SidewalkRoadLayout(driving_lanes=2, shoulder_width=SHOULDER_WIDTH)
STRAIGHT_LENGTH = 600.0

# (sign id, s, value in km/h) per direction; a limit holds until the next sign.
STRAIGHT_FORWARD_LIMITS: tuple[tuple[str, float, float], ...] = (
    ("101", 10.0, 50.0),
    ("102", 200.0, 30.0),
    ("103", 400.0, 70.0),
)
STRAIGHT_BACKWARD_LIMITS: tuple[tuple[str, float, float], ...] = (
    ("104", 590.0, 50.0),
    ("105", 400.0, 30.0),
    ("106", 200.0, 70.0),
)


def speed_records_forward(
    limits: Iterable[tuple[str, float, float]],
) -> list[tuple[float, float]]:
    """Lane speed records for traffic along +s (first record starts at 0)."""
    ordered = sorted(limits, key=lambda item: item[1])
    return [(0.0 if i == 0 else s, value) for i, (_, s, value) in enumerate(ordered)]


def speed_records_backward(
    limits: Iterable[tuple[str, float, float]], road_length: float
) -> list[tuple[float, float]]:
    """Lane speed records for traffic along -s.

    A sign at s governs [next sign's s, s) for traffic moving towards s=0; the
    first sign met (largest s) also covers the road end behind it.
    """
    ordered = sorted(limits, key=lambda item: item[1])
    if ordered and ordered[-1][1] > road_length:
        raise ValueError("speed sign beyond the end of the road")
    starts = [0.0] + [s for _, s, _ in ordered[:-1]]
    return [(start, value) for start, (_, _, value) in zip(starts, ordered, strict=True)]


def build_straight_speed() -> ET.Element:
    layout = STRAIGHT_LAYOUT
    road = make_road(1, "speed_road", STRAIGHT_LENGTH, layout, start=(0.0, 0.0, 0.0))
    signs = [
        SignSpec(sign_id, s, "+", "274", f"speed_limit_{int(v)}", v, "km/h")
        for sign_id, s, v in STRAIGHT_FORWARD_LIMITS
    ] + [
        SignSpec(sign_id, s, "-", "274", f"speed_limit_{int(v)}", v, "km/h")
        for sign_id, s, v in STRAIGHT_BACKWARD_LIMITS
    ]
    add_signals(road, signs, layout)

    odr = new_opendrive("straight_speed")
    odr.add_road(road)
    odr.adjust_roads_and_lanes()
    root = finish(odr)

    road_el = find_road(root, 1)
    forward = speed_records_forward(STRAIGHT_FORWARD_LIMITS)
    backward = speed_records_backward(STRAIGHT_BACKWARD_LIMITS, STRAIGHT_LENGTH)
    for lane_number in range(1, layout.driving_lanes + 1):
        add_lane_speeds(find_lane(road_el, -lane_number), forward, "km/h")
        add_lane_speeds(find_lane(road_el, lane_number), backward, "km/h")
    return root


JUNCTION_LAYOUT = SidewalkRoadLayout(driving_lanes=1)
JUNCTION_ID = 1000
"""Must differ from every road id: CARLA decides whether a road link points at a
junction by checking that no *road* has the linked id."""
CONNECTING_ROAD_START = 100


@dataclass(frozen=True)
class Arm:
    """A junction arm; it starts at the junction and leads away from it."""

    road_id: int
    name: str
    angle: float
    """Direction from the junction centre (OpenDRIVE frame, rad)."""
    length: float


FOUR_WAY_ARMS = (
    Arm(1, "east_arm", 0.0, FOUR_WAY_ARM_LENGTH),
    Arm(2, "north_arm", math.pi / 2, FOUR_WAY_ARM_LENGTH),
    Arm(3, "west_arm", math.pi, FOUR_WAY_ARM_LENGTH),
    Arm(4, "south_arm", 3 * math.pi / 2, FOUR_WAY_ARM_LENGTH),
)

T_JUNCTION_ARMS = (
    Arm(1, "main_east", 0.0, 150.0),
    Arm(2, "main_west", math.pi, 150.0),
    Arm(3, "minor_south", 3 * math.pi / 2, 100.0),
)


def build_junction_network(
    name: str,
    arms: Sequence[Arm],
    signals: dict[int, list[SignSpec]],
    crosswalk_ids: dict[int, str],
) -> xodr.OpenDrive:
    """Arms around a junction centred on the origin, all lanes connected.

    Each arm's approach lane is lane 1 (travelling towards s=0); a connection
    leads from every approach to the exit lane -1 of every other arm.
    """
    layout = JUNCTION_LAYOUT
    roads: list[xodr.Road] = []
    for index, arm in enumerate(arms):
        # Fix the first arm so that the junction centre is the origin.
        start = None
        if index == 0:
            start = (
                JUNCTION_RADIUS * math.cos(arm.angle),
                JUNCTION_RADIUS * math.sin(arm.angle),
                arm.angle,
            )
        road = make_road(arm.road_id, arm.name, arm.length, layout, start=start)
        add_signals(road, signals.get(arm.road_id, []), layout)
        crosswalk_id = crosswalk_ids.get(arm.road_id)
        if crosswalk_id is not None:
            road.add_object(make_crosswalk(crosswalk_id, CROSSWALK_S, layout.curb_t))
        roads.append(road)

    creator = xodr.CommonJunctionCreator(
        JUNCTION_ID, f"{name}_junction", startnum=CONNECTING_ROAD_START
    )
    for arm, road in zip(arms, roads, strict=True):
        creator.add_incoming_road_circular_geometry(road, JUNCTION_RADIUS, arm.angle, "predecessor")
    for incoming in arms:
        for outgoing in arms:
            if incoming.road_id != outgoing.road_id:
                creator.add_connection(incoming.road_id, outgoing.road_id, 1, -1)

    odr = new_opendrive(name)
    for road in roads:
        odr.add_road(road)
    odr.add_junction_creator(creator)
    odr.adjust_roads_and_lanes()
    return odr


FOUR_WAY_LIGHT_IDS = {1: "201", 2: "202", 3: "203", 4: "204"}
FOUR_WAY_SIGNAL_CROSSWALK_IDS = {1: "251", 2: "252", 3: "253", 4: "254"}
FOUR_WAY_STOP_IDS = {1: "301", 2: "302", 3: "303", 4: "304"}
FOUR_WAY_STOP_CROSSWALK_IDS = {1: "351", 2: "352", 3: "353", 4: "354"}
FOUR_WAY_CONTROLLERS = (
    ControllerSpec("1", "north_south", (FOUR_WAY_LIGHT_IDS[2], FOUR_WAY_LIGHT_IDS[4])),
    ControllerSpec("2", "east_west", (FOUR_WAY_LIGHT_IDS[1], FOUR_WAY_LIGHT_IDS[3])),
)


def traffic_light(sign_id: str, arm: Arm) -> SignSpec:
    """A pole-mounted light head (bottom 2.0 m, 1.0 m tall) at the stop line."""
    return SignSpec(
        sign_id,
        STOP_LINE_S,
        "-",
        "1000001",
        f"traffic_light_{arm.name}",
        dynamic=True,
        width=0.35,
        height=1.0,
        z_offset=2.0,
    )


def build_four_way_signals() -> ET.Element:
    signals = {
        arm.road_id: [traffic_light(FOUR_WAY_LIGHT_IDS[arm.road_id], arm)] for arm in FOUR_WAY_ARMS
    }
    odr = build_junction_network(
        "four_way_signals", FOUR_WAY_ARMS, signals, FOUR_WAY_SIGNAL_CROSSWALK_IDS
    )
    root = finish(odr)
    add_controllers(root, JUNCTION_ID, FOUR_WAY_CONTROLLERS)
    return root


def build_four_way_stop() -> ET.Element:
    signals = {
        arm.road_id: [
            SignSpec(
                FOUR_WAY_STOP_IDS[arm.road_id],
                STOP_LINE_S,
                "-",
                "206",
                f"stop_{arm.name}",
                width=0.75,
                height=0.75,
            )
        ]
        for arm in FOUR_WAY_ARMS
    }
    odr = build_junction_network(
        "four_way_stop", FOUR_WAY_ARMS, signals, FOUR_WAY_STOP_CROSSWALK_IDS
    )
    return finish(odr)


T_JUNCTION_YIELD_ID = "401"
T_JUNCTION_YIELD_S = 2.0


def build_t_junction_yield() -> ET.Element:
    minor = T_JUNCTION_ARMS[2]
    signals = {
        minor.road_id: [
            SignSpec(
                T_JUNCTION_YIELD_ID,
                T_JUNCTION_YIELD_S,
                "-",
                "205",
                f"yield_{minor.name}",
                width=0.9,
                height=0.8,
            )
        ]
    }
    odr = build_junction_network("t_junction_yield", T_JUNCTION_ARMS, signals, {})
    return finish(odr)


T_JUNCTION_LIGHT_IDS = {1: "601", 2: "602", 3: "603"}
T_JUNCTION_CONTROLLERS = (
    ControllerSpec("1", "main", (T_JUNCTION_LIGHT_IDS[1], T_JUNCTION_LIGHT_IDS[2])),
    ControllerSpec("2", "minor", (T_JUNCTION_LIGHT_IDS[3],)),
)


def build_t_junction_signals() -> ET.Element:
    """The T-junction with a light on every approach (held out for validation data)."""
    signals = {
        arm.road_id: [traffic_light(T_JUNCTION_LIGHT_IDS[arm.road_id], arm)]
        for arm in T_JUNCTION_ARMS
    }
    odr = build_junction_network("t_junction_signals", T_JUNCTION_ARMS, signals, {})
    root = finish(odr)
    add_controllers(root, JUNCTION_ID, T_JUNCTION_CONTROLLERS)
    return root


CROSSWALK_ROAD_LENGTH = 300.0
MID_BLOCK_CROSSWALK_S = 150.0
CROSSWALK_MAP_LIMITS: tuple[tuple[str, float, Orientation], ...] = (
    ("501", 20.0, "+"),
    ("502", 280.0, "-"),
)
CROSSWALK_MAP_SPEED = 30.0
CROSSWALK_MAP_OBJECT_ID = "551"


def build_crosswalk() -> ET.Element:
    layout = JUNCTION_LAYOUT
    road = make_road(1, "crosswalk_road", CROSSWALK_ROAD_LENGTH, layout, start=(0.0, 0.0, 0.0))
    specs = [
        SignSpec(sign_id, s, orientation, "274", "speed_limit_30", CROSSWALK_MAP_SPEED, "km/h")
        for sign_id, s, orientation in CROSSWALK_MAP_LIMITS
    ]
    add_signals(road, specs, layout)
    road.add_object(make_crosswalk(CROSSWALK_MAP_OBJECT_ID, MID_BLOCK_CROSSWALK_S, layout.curb_t))
    odr = new_opendrive("crosswalk")
    odr.add_road(road)
    odr.adjust_roads_and_lanes()
    root = finish(odr)
    road_el = find_road(root, 1)
    for lane_id in (-1, 1):
        add_lane_speeds(find_lane(road_el, lane_id), [(0.0, CROSSWALK_MAP_SPEED)], "km/h")
    return root


HILL_LAYOUT = SidewalkRoadLayout(driving_lanes=1, parking_width=PARKING_WIDTH)
HILL_STRAIGHT_M, HILL_ARC_M, HILL_END_M = 120.0, 80.0, 150.0
HILL_CURVATURE = 1.0 / 250.0  # a gentle left bend in the middle [1/m]
# Elevation (s start, s end, height gained) as smooth steps, zero slope at both ends:
# a climb to a crest 4.5 m up and back down (grades up to 7.5 % and 6.75 %).
HILL_STEPS: tuple[tuple[float, float, float], ...] = ((60.0, 150.0, 4.5), (150.0, 250.0, -4.5))
HILL_LIMITS: tuple[tuple[str, float, Orientation], ...] = (("701", 10.0, "+"), ("702", 340.0, "-"))
HILL_SPEED = 40.0
HILL_CROSSWALK_S = 215.0
HILL_CROSSWALK_ID = "751"


def add_smooth_steps(road: xodr.Road, steps: Sequence[tuple[float, float, float]]) -> None:
    """Elevation records: flat, then each step as the cubic 3h u^2 - 2h u^3 over its span."""
    z = 0.0
    road.add_elevation(0.0, 0.0, 0.0, 0.0, 0.0)
    for i, (s0, s1, rise) in enumerate(steps):
        span = s1 - s0
        road.add_elevation(s0, z, 0.0, 3.0 * rise / span**2, -2.0 * rise / span**3)
        z += rise
        if i + 1 == len(steps) or steps[i + 1][0] > s1:  # flat until the next step
            road.add_elevation(s1, z, 0.0, 0.0, 0.0)


def build_hill_street() -> ET.Element:
    """A town street over a crest with a bend, parking lanes on both sides and a
    mid-block crosswalk on the way down."""
    layout = HILL_LAYOUT
    planview = xodr.PlanView(0.0, 0.0, 0.0)
    planview.add_geometry(xodr.Line(HILL_STRAIGHT_M))
    planview.add_geometry(xodr.Arc(HILL_CURVATURE, length=HILL_ARC_M))
    planview.add_geometry(xodr.Line(HILL_END_M))
    road = xodr.Road(1, planview, make_lanes(layout), name="hill_street")
    road.add_type(xodr.RoadType.town, country="DE")
    add_smooth_steps(road, HILL_STEPS)
    specs = [
        SignSpec(sign_id, s, orientation, "274", "speed_limit_40", HILL_SPEED, "km/h")
        for sign_id, s, orientation in HILL_LIMITS
    ]
    add_signals(road, specs, layout)
    # across the driving lanes only: the parking lanes beside it are kept free
    half = layout.driving_lanes * LANE_WIDTH
    road.add_object(make_crosswalk(HILL_CROSSWALK_ID, HILL_CROSSWALK_S, half))
    odr = new_opendrive("hill_street")
    odr.add_road(road)
    odr.adjust_roads_and_lanes()
    root = finish(odr)
    road_el = find_road(root, 1)
    for lane_id in (-1, 1):
        add_lane_speeds(find_lane(road_el, lane_id), [(0.0, HILL_SPEED)], "km/h")
    return root


MAPS: dict[str, Callable[[], ET.Element]] = {
    "straight_speed": build_straight_speed,
    "four_way_signals": build_four_way_signals,
    "four_way_stop": build_four_way_stop,
    "t_junction_yield": build_t_junction_yield,
    "t_junction_signals": build_t_junction_signals,
    "crosswalk": build_crosswalk,
    "hill_street": build_hill_street,
}


def render_map(name: str) -> bytes:
    """The bytes of one map file."""
    reset_signal_object_ids()
    root = MAPS[name]()
    normalise_floats(root)
    return serialise(root)


def write_maps(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in MAPS:
        path = out_dir / f"{name}.xodr"
        path.write_bytes(render_map(name))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output directory (default: configs/maps)"
    )
    args = parser.parse_args(argv)
    for path in write_maps(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
