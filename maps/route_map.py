"""What the map holds along a planned route, in route coordinates (arc length s [m]):
lane speed records (read from the OpenDRIVE text, which the Python API does not
expose), speed-limit, stop and yield signs and traffic lights at their stop lines,
crosswalks and junctions. Map reading only: what any of it means for driving is the
reader's business (the rules, or the scorer's law)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import carla
import numpy as np

from maps.carla_towns import CARLA_DEFAULT_LIMIT_KMH, is_carla_town, landmark_unit
from maps.crosswalks import crosswalk_polygons
from maps.lane_path import LanePath
from maps.opendrive import SIGN_TYPES, SIGNAL_SPEED_LIMIT, SIGNAL_TRAFFIC_LIGHT
from maps.stop_lines import landmark_stop_lines, line_on_path
from roadmind.messages import SignType
from roadmind.units import speed_to_mps


@dataclass(frozen=True, slots=True)
class SpeedSegment:
    """A lane speed record's stretch of the route."""

    s_from_m: float
    s_to_m: float
    limit_mps: float
    value: float
    unit: str
    source: str  # e.g. "map speed record road 1 lane -1"


@dataclass(frozen=True, slots=True)
class RouteSign:
    """A sign on the route. s_m: its stop line (stop, yield) or where it takes effect."""

    sign_type: SignType
    s_m: float
    landmark_id: int | None = None
    value: float = 0.0
    unit: str = ""
    text: str = ""

    def label(self) -> str:
        what = self.sign_type.value.replace("_", " ")
        if self.value:
            what += f" {self.value:g} {self.unit}"
        where = f"landmark {self.landmark_id}" if self.landmark_id is not None else "sign"
        return f"{what} ({where})"


@dataclass(frozen=True, slots=True)
class RouteLight:
    landmark_id: int
    s_m: float  # stop line


@dataclass(frozen=True, slots=True)
class RouteSpan:
    """A crosswalk or junction the route passes through."""

    ident: int
    s_from_m: float
    s_to_m: float


def route_landmarks(
    carla_map: carla.Map, path: LanePath, problems: list[str]
) -> tuple[list[RouteSign], list[RouteLight], set[int]]:
    """Landmarks whose stop line the route crosses; and the ids of all the others."""
    signs: dict[int, RouteSign] = {}
    lights: dict[int, RouteLight] = {}
    elsewhere: set[int] = set()
    for lm in carla_map.get_all_landmarks():
        if lm.type != SIGNAL_TRAFFIC_LIGHT and lm.type not in SIGN_TYPES:
            continue
        try:
            lm_id = int(lm.id)
        except ValueError:
            continue  # non-numeric ids are not in any map roadmind reads
        if lm_id in signs or lm_id in lights:
            continue
        s = line_on_path(path, landmark_stop_lines(carla_map, lm))
        if s is None:
            elsewhere.add(lm_id)
        elif lm.type == SIGNAL_TRAFFIC_LIGHT:
            lights[lm_id] = RouteLight(lm_id, s)
        else:
            unit = landmark_unit(lm, "km/h")  # a 274 catalogue sign: km/h unless stated
            if lm.type == SIGNAL_SPEED_LIMIT and not _unit_ok(float(lm.value), unit):
                problems.append(
                    f"speed-limit sign {lm_id} on road {lm.road_id}: value {lm.value} "
                    f"{unit!r} is not a speed limit; ignored"
                )
                continue
            signs[lm_id] = RouteSign(
                SIGN_TYPES[lm.type], s, lm_id, float(lm.value), unit, lm.text or ""
            )
    return list(signs.values()), list(lights.values()), elsewhere - signs.keys() - lights.keys()


def _unit_ok(value: float, unit: str) -> bool:
    try:
        return speed_to_mps(value, unit) > 0
    except ValueError:
        return False


def speed_segments(
    carla_map: carla.Map,
    path: LanePath,
    problems: list[str],
    signs: Sequence[RouteSign] = (),
) -> tuple[SpeedSegment, ...]:
    """The lane speed records along ``path``. In a CARLA town (``maps.carla_towns``) the
    records are not the law: one segment of CARLA's default limit runs from the start
    to the first speed-limit sign among ``signs`` (the route's, from ``route_landmarks``)."""
    if is_carla_town(carla_map):
        return _carla_town_default(path, problems, signs)
    records = _speed_records(carla_map.to_opendrive(), problems)
    segments: list[SpeedSegment] = []
    for i in range(len(path.s)):
        found = _record_at(records, int(path.road[i]), int(path.lane[i]), float(path.odr_s[i]))
        s_to = float(path.s[min(i + 1, len(path.s) - 1)])
        if found is None:
            continue
        value, unit = found
        source = f"map speed record road {path.road[i]} lane {path.lane[i]}"
        last = segments[-1] if segments else None
        if (
            last is not None
            and last.value == value
            and last.unit == unit
            and abs(last.s_to_m - float(path.s[i])) < 1e-6
        ):
            segments[-1] = SpeedSegment(
                last.s_from_m, s_to, last.limit_mps, value, unit, last.source
            )
        else:
            segments.append(
                SpeedSegment(float(path.s[i]), s_to, speed_to_mps(value, unit), value, unit, source)
            )
    return tuple(segments)


def _carla_town_default(
    path: LanePath, problems: list[str], signs: Sequence[RouteSign]
) -> tuple[SpeedSegment, ...]:
    problems.append(
        "CARLA town: lane speed records ignored, as CARLA does; "
        f"{CARLA_DEFAULT_LIMIT_KMH:g} km/h until the first speed-limit sign"
    )
    first = min(
        (g.s_m for g in signs if g.sign_type is SignType.SPEED_LIMIT), default=path.length_m
    )
    if first <= 0.0:
        return ()
    return (
        SpeedSegment(
            0.0,
            first,
            speed_to_mps(CARLA_DEFAULT_LIMIT_KMH, "km/h"),
            CARLA_DEFAULT_LIMIT_KMH,
            "km/h",
            "CARLA town default limit before the first sign",
        ),
    )


# (road, lane) -> [(section start s + sOffset, max, unit)], sorted by s
SpeedRecords = dict[tuple[int, int], list[tuple[float, float, str]]]


def _speed_records(xodr: str, problems: list[str]) -> SpeedRecords:
    """Lane ``<speed>`` records, with the road ``<type><speed>`` as the fallback.
    Records with a unit that is not a speed unit are reported and left out."""
    root = ET.fromstring(xodr)
    records: SpeedRecords = {}
    for road in root.findall("road"):
        road_id = int(road.get("id", "-1"))
        road_speeds = [
            (float(t.get("s", "0")), float(sp.get("max", "0")), sp.get("unit", "m/s"))
            for t in road.findall("type")
            for sp in t.findall("speed")
            if _numeric(sp.get("max"))
        ]
        for section in road.findall("lanes/laneSection"):
            s0 = float(section.get("s", "0"))
            for lane in section.iter("lane"):
                if lane.get("type") != "driving":
                    continue
                key = (road_id, int(lane.get("id", "0")))
                own = [
                    (s0 + float(sp.get("sOffset", "0")), float(sp.get("max", "0")), sp.get("unit"))
                    for sp in lane.findall("speed")
                    if _numeric(sp.get("max"))
                ]
                for s, v, u in own:
                    if _unit_ok(v, u or "m/s"):
                        records.setdefault(key, []).append((s, v, u or "m/s"))
                    else:
                        problems.append(
                            f"speed record on road {road_id} lane {key[1]} at s={s:g}: "
                            f"unit {u!r} is not km/h, mph or m/s; ignored"
                        )
                if not own and road_speeds:
                    records.setdefault(key, []).extend(
                        r for r in road_speeds if _unit_ok(r[1], r[2])
                    )
    for entries in records.values():
        entries.sort()
    return records


def _numeric(text: str | None) -> bool:
    try:
        return text is not None and float(text) > 0
    except ValueError:
        return False  # "no limit" / "undefined" in OpenDRIVE


def _record_at(records: SpeedRecords, road: int, lane: int, s: float) -> tuple[float, str] | None:
    found = None
    for start, value, unit in records.get((road, lane), ()):
        if start <= s + 1e-6:
            found = (value, unit)
    return found


def crosswalk_spans(carla_map: carla.Map, path: LanePath) -> tuple[RouteSpan, ...]:
    spans = []
    for ident, poly in enumerate(crosswalk_polygons(carla_map)):
        inside = _points_in_polygon(path.points[:, :2], poly[:, :2])
        if inside.any():
            s_in = path.s[inside]
            spans.append(RouteSpan(ident, float(s_in.min()), float(s_in.max())))
    return tuple(sorted(spans, key=lambda sp: sp.s_from_m))


def _points_in_polygon(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule for (N, 2) points against an (M, 2) polygon."""
    inside = np.zeros(len(points), bool)
    x, y = points[:, 0], points[:, 1]
    for (x0, y0), (x1, y1) in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < x_cross)
    return inside


def junction_spans(path: LanePath) -> tuple[RouteSpan, ...]:
    spans = []
    i = 0
    while i < len(path.s):
        jid = int(path.junction[i])
        if jid < 0:
            i += 1
            continue
        j = i
        while j + 1 < len(path.s) and path.junction[j + 1] == jid:
            j += 1
        # the span runs from the last point before to the first point after the junction
        spans.append(
            RouteSpan(jid, float(path.s[max(i - 1, 0)]), float(path.s[min(j + 1, len(path.s) - 1)]))
        )
        i = j + 1
    return tuple(spans)


def road_range_on_route(
    path: LanePath, road_id: int, s_from_m: float, s_to_m: float
) -> tuple[float, float] | None:
    """The route's s range over road ``road_id`` between OpenDRIVE s ``s_from_m`` and
    ``s_to_m``; None where the route does not pass there."""
    lo, hi = sorted((s_from_m, s_to_m))
    on = (path.road == road_id) & (path.odr_s >= lo - 1e-6) & (path.odr_s <= hi + 1e-6)
    if not on.any():
        return None
    return float(path.s[on].min()), float(path.s[on].max())
