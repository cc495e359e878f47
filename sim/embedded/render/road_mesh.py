"""Static road geometry from a RoadMap: lanes, sidewalks with curbs, lane markings,
zebra crossings and the ground around them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import carla
import numpy as np

from maps.road_map import RoadMap
from sim.embedded.render.materials import Material
from sim.embedded.render.mesh import MeshBuilder

SIDEWALK_HEIGHT_M = 0.15
GROUND_BELOW_M = 0.05  # the grass plane under the lowest road surface
MARKING_LIFT_M = 0.02
MARKING_MIN_WIDTH_M = 0.12
DASH_M, GAP_M = 3.0, 6.0
LANE_MATERIALS = {
    "driving": Material.ASPHALT,
    "bidirectional": Material.ASPHALT,
    "parking": Material.ASPHALT,
    "biking": Material.ASPHALT,
    "restricted": Material.SHOULDER,
    "shoulder": Material.SHOULDER,
    "border": Material.SHOULDER,
    "stop": Material.SHOULDER,
    "median": Material.SIDEWALK,
    "sidewalk": Material.SIDEWALK,
    "curb": Material.CURB,
}
_LMT = carla.LaneMarkingType
# Each drawn marking type as its lines, left to right.
MARKING_LINES = {
    _LMT.Solid: ("solid",),
    _LMT.Broken: ("broken",),
    _LMT.BottsDots: ("broken",),
    _LMT.SolidSolid: ("solid", "solid"),
    _LMT.SolidBroken: ("solid", "broken"),
    _LMT.BrokenSolid: ("broken", "solid"),
    _LMT.BrokenBroken: ("broken", "broken"),
}


@dataclass(frozen=True)
class LaneStrip:
    """One lane of one lane section as the mesh sampled it: OpenDRIVE lane type, the
    junction it lies in (-1 outside), edges and centre (N, 3) at the road surface
    (sidewalks not raised), the waypoints' yaw (N,) [rad] and width (N,) [m]. ``right``
    is the lane's outer edge: the side away from the road's centre."""

    road_id: int
    section: int  # index of the lane section in its road
    lane_id: int
    lane_type: str
    junction_id: int
    left: np.ndarray
    right: np.ndarray
    center: np.ndarray
    yaw_rad: np.ndarray
    width_m: np.ndarray


class _LaneSamples:
    """Centre line samples of one lane: positions (N, 3), right unit vectors, widths, s."""

    def __init__(self, wps: list[carla.Waypoint]) -> None:
        self.wps = wps
        self.center = np.array(
            [[w.transform.location.x, w.transform.location.y, w.transform.location.z] for w in wps]
        )
        yaw = np.radians([w.transform.rotation.yaw for w in wps])
        self.right = np.stack([-np.sin(yaw), np.cos(yaw), np.zeros_like(yaw)], 1)
        self.width = np.array([w.lane_width for w in wps])
        self.s = np.array([w.s for w in wps])

    def offset(self, lateral: np.ndarray | float, lift_m: float = 0.0) -> np.ndarray:
        pts = self.center + self.right * np.asarray(lateral).reshape(-1, 1)
        pts[:, 2] += lift_m
        return pts


def _sample_lane(
    road_map: RoadMap, road_id: int, lane_id: int, s0: float, s1: float, step_m: float
) -> list[carla.Waypoint]:
    n = max(2, math.ceil((s1 - s0) / step_m) + 1)
    eps = 1e-3
    wps = []
    for s in np.linspace(s0 + eps, s1 - eps, n):
        wp = road_map.carla_map.get_waypoint_xodr(road_id, lane_id, float(s))
        if wp is not None:
            wps.append(wp)
    return wps


def _add_marking(
    builder: MeshBuilder, lane: _LaneSamples, side: float, marking: carla.LaneMarking
) -> None:
    """Lines along one lane edge; ``side`` +1 right edge, -1 left edge."""
    parts = MARKING_LINES.get(marking.type)
    if parts is None:
        return
    material = (
        Material.MARKING_YELLOW
        if marking.color == carla.LaneMarkingColor.Yellow
        else Material.MARKING_WHITE
    )
    width = max(marking.width, MARKING_MIN_WIDTH_M)
    edge = side * lane.width / 2.0
    for k, part in enumerate(parts):
        shift = 0.0 if len(parts) == 1 else (k - 0.5) * 2.5 * width
        center = edge + shift
        left = lane.offset(center - width / 2, MARKING_LIFT_M)
        right = lane.offset(center + width / 2, MARKING_LIFT_M)
        keep = None
        if part == "broken":
            s_mid = (lane.s[:-1] + lane.s[1:]) / 2.0
            keep = np.mod(s_mid, DASH_M + GAP_M) < DASH_M
        builder.add_strip(left, right, material, keep=keep)


def add_roads(builder: MeshBuilder, road_map: RoadMap, step_m: float = 1.0) -> list[LaneStrip]:
    """Every lane of every road as a strip; sidewalks raised with curbs; markings.
    Returns the strips (what the streetscape keeps clear and the terrain follows)."""
    strips: list[LaneStrip] = []
    for road in road_map.roads.values():
        in_junction = road.junction_id >= 0
        for section_index, section in enumerate(road.sections):
            lane_ids = {ln.lane_id for ln in section.lanes}
            center_lane = -1 if -1 in lane_ids else 1
            for lane in section.lanes:
                material = LANE_MATERIALS.get(lane.lane_type)
                if material is None or lane.lane_id == 0:
                    continue
                wps = _sample_lane(
                    road_map, road.road_id, lane.lane_id, section.s_start_m, section.s_end_m, step_m
                )
                if len(wps) < 2:
                    continue
                samples = _LaneSamples(wps)
                raised = SIDEWALK_HEIGHT_M if material in (Material.SIDEWALK,) else 0.0
                left = samples.offset(-samples.width / 2, raised)
                right = samples.offset(samples.width / 2, raised)
                strips.append(
                    LaneStrip(
                        road.road_id,
                        section_index,
                        lane.lane_id,
                        lane.lane_type,
                        road.junction_id,
                        samples.offset(-samples.width / 2),
                        samples.offset(samples.width / 2),
                        samples.center,
                        np.radians([w.transform.rotation.yaw for w in wps]),
                        samples.width,
                    )
                )
                builder.add_strip(left, right, material)
                if raised:
                    for edge in (left, right):
                        low = edge.copy()
                        low[:, 2] -= raised
                        builder.add_strip(low, edge, Material.CURB)
                if lane.lane_type != "driving" or in_junction:
                    continue
                _add_marking(builder, samples, 1.0, wps[len(wps) // 2].right_lane_marking)
                if lane.lane_id == center_lane:
                    _add_marking(builder, samples, -1.0, wps[len(wps) // 2].left_lane_marking)
    return strips


def add_crosswalks(
    builder: MeshBuilder, polygons: list[np.ndarray], bar_m: float = 0.5, gap_m: float = 0.6
) -> None:
    """Zebra bars parallel to traffic, repeated across the road (the polygon's long axis)."""
    for poly in polygons:
        xy = poly[:, :2]
        center = xy.mean(axis=0)
        _, _, vt = np.linalg.svd(xy - center)
        long_axis, short_axis = vt[0], vt[1]
        along = (xy - center) @ long_axis
        across = (xy - center) @ short_axis
        half_short = (across.max() - across.min()) / 2.0 - 0.1
        z = float(poly[:, 2].mean()) + MARKING_LIFT_M + 0.005
        pos = along.min() + 0.25
        while pos + bar_m <= along.max() - 0.1:
            corners = [
                center + long_axis * a + short_axis * b
                for a, b in (
                    (pos, -half_short),
                    (pos + bar_m, -half_short),
                    (pos + bar_m, half_short),
                    (pos, half_short),
                )
            ]
            verts = np.array([[c[0], c[1], z] for c in corners])
            builder.add(verts, np.array([[0, 1, 2], [0, 2, 3]]), Material.MARKING_WHITE)
            pos += bar_m + gap_m


def add_ground(
    builder: MeshBuilder,
    vertices: np.ndarray,
    colour: np.ndarray | None = None,
    margin_m: float = 300.0,
) -> None:
    """A grass plane under the map, a little below the lowest road surface; ``colour``
    in place of the grass material's."""
    lo = vertices.min(axis=0) - margin_m
    hi = vertices.max(axis=0) + margin_m
    z = float(vertices[:, 2].min()) - GROUND_BELOW_M
    verts = np.array([[lo[0], lo[1], z], [hi[0], lo[1], z], [hi[0], hi[1], z], [lo[0], hi[1], z]])
    builder.add(verts, np.array([[0, 1, 2], [0, 2, 3]]), Material.GRASS, colour=colour)
