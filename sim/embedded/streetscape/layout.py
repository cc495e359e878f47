"""Where the street clutter goes, from the map alone: seeded, deterministic, and never on
a lane of any kind (driving, parking, shoulder, sidewalk), a crosswalk, a junction or
a sign's or light's pole; nothing tall in the sight lines to signs and lights.

Along every road outside junctions, each side's outermost lane edge (the sidewalk's
back, else the shoulder's or the carriageway's) is a frontage. Plots along it get,
in this order of priority: buildings set back behind it, hedges, fences and walls on
its line (guard rails where the road has no sidewalk), trees, street lamps. Parked cars
stand along the kerbs (``parking.py``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.spatial import ConvexHull

from maps.landmarks import LightSpec, SignSpec
from sim.embedded.render.road_mesh import LaneStrip
from sim.embedded.streetscape.free_space import FreeSpace
from sim.embedded.streetscape.parking import ParkedCar, park_cars
from sim.embedded.streetscape.profiles import PROFILES, ProfileParams
from sim.embedded.streetscape.terrain import Terrain
from sim.streetscape import StreetscapeConfig

BoundaryKind = Literal["hedge", "fence", "wall", "guard_rail"]

MAP_MARGIN_M = 60.0  # clutter stands at most this far beyond the roads' box
JUNCTION_MARGIN_M = 2.0  # nothing this close to a junction's area
JUNCTION_VIEW_M = 9.0  # nothing tall this close: drivers see round the corner
JUNCTION_PARKING_M = 6.0
POLE_CLEAR_M = 1.5  # around a sign's or light's pole
POLE_PARKING_M = 5.0
SIGHT_WIDTH_M = 3.0  # sight lines from 12, 25 and 40 m before a sign or light
SIGHT_BACK_M = (12.0, 25.0, 40.0)
CROSSWALK_KERB_M = 6.0  # crosswalks are kept free this far beyond both kerbs
TALL_M = 1.6  # taller than this blocks a driver's view of a sign
# Façade, roof and wall palettes (RGB in [0, 1]); a seed picks its town's mix.
FACADES = np.array(
    [
        (0.62, 0.33, 0.25),  # brick
        (0.55, 0.27, 0.2),
        (0.82, 0.78, 0.68),  # render, cream
        (0.9, 0.89, 0.86),  # white
        (0.6, 0.6, 0.6),  # concrete
        (0.72, 0.62, 0.45),  # sandstone
        (0.55, 0.62, 0.68),  # blue-grey
        (0.78, 0.6, 0.5),  # salmon
    ]
)
ROOFS = np.array([(0.45, 0.2, 0.15), (0.3, 0.3, 0.32), (0.22, 0.22, 0.24), (0.5, 0.35, 0.25)])
WALLS = np.array([(0.6, 0.58, 0.55), (0.58, 0.32, 0.25), (0.75, 0.72, 0.66), (0.45, 0.45, 0.46)])
GALVANISED = np.array([0.62, 0.64, 0.66])  # guard rails
FENCES = np.array([(0.42, 0.3, 0.2), (0.55, 0.42, 0.28), (0.2, 0.22, 0.2), (0.85, 0.85, 0.82)])


@dataclass(frozen=True)
class Building:
    center: np.ndarray  # (2,) footprint centre
    yaw_rad: float  # the façade's direction along the street
    half_m: tuple[float, float]  # along the street, depth
    base_z: float  # footing, below the lowest ground under it
    ground_z: float  # ground floor level (the highest ground at its front)
    storeys: int
    storey_m: float
    pitched: bool
    shopfront: bool
    facade_rgb: np.ndarray
    roof_rgb: np.ndarray
    front_normal: np.ndarray  # (2,) the façade that faces the street


@dataclass(frozen=True)
class Boundary:
    kind: BoundaryKind
    points: np.ndarray  # (N, 3) on the ground, in order
    height_m: float
    rgb: np.ndarray


@dataclass(frozen=True)
class Tree:
    base: np.ndarray  # (3,) trunk foot
    trunk_m: float  # height of the crown's bottom
    trunk_radius_m: float
    crown_radius_m: float
    crown_m: float  # crown height
    conifer: bool
    rgb: np.ndarray


@dataclass(frozen=True)
class Lamp:
    base: np.ndarray  # (3,)
    toward_road: np.ndarray  # (2,) unit, the arm's direction
    height_m: float
    arm_m: float

    @property
    def head(self) -> np.ndarray:
        """(3,) where the light comes from."""
        xy = self.base[:2] + self.toward_road * self.arm_m
        return np.array([xy[0], xy[1], self.base[2] + self.height_m - 0.15])


@dataclass
class StreetLayout:
    terrain: Terrain
    space: FreeSpace | None = None  # where things stand; its ``road`` layer: the lanes
    buildings: list[Building] = field(default_factory=list)
    boundaries: list[Boundary] = field(default_factory=list)
    trees: list[Tree] = field(default_factory=list)
    lamps: list[Lamp] = field(default_factory=list)
    parked: list[ParkedCar] = field(default_factory=list)
    grass_rgb: np.ndarray = field(default_factory=lambda: np.array([0.28, 0.40, 0.18]))

    def lamp_heads(self) -> np.ndarray:
        """(L, 3) where the street lamps' light comes from."""
        return np.array([lamp.head for lamp in self.lamps], float).reshape(-1, 3)

    def poles_xy(self) -> np.ndarray:
        """(N, 2) lamp posts and tree trunks: what a car touches like a sign's pole."""
        pts = [lamp.base[:2] for lamp in self.lamps] + [t.base[:2] for t in self.trees]
        return np.array(pts, float).reshape(-1, 2)


@dataclass(frozen=True)
class _Frontage:
    """A road side's outer edge: points (N, 3), outward unit normals and unit tangents
    (N, 2), arc length (N,); whether a sidewalk runs along it."""

    points: np.ndarray
    normal: np.ndarray
    tangent: np.ndarray
    arc_m: np.ndarray
    sidewalk: bool

    @property
    def length_m(self) -> float:
        return float(self.arc_m[-1])

    def at(self, a: float, offset_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point (2,) ``offset_m`` out from the edge at arc ``a``, its outward normal and
        its tangent (unit, s increasing)."""
        i = int(np.clip(np.searchsorted(self.arc_m, a) - 1, 0, len(self.arc_m) - 2))
        seg = max(self.arc_m[i + 1] - self.arc_m[i], 1e-9)
        f = float(np.clip((a - self.arc_m[i]) / seg, 0.0, 1.0))
        p = self.points[i, :2] * (1 - f) + self.points[i + 1, :2] * f
        n = self.normal[i] * (1 - f) + self.normal[i + 1] * f
        n /= max(float(np.linalg.norm(n)), 1e-9)
        t = self.tangent[i] * (1 - f) + self.tangent[i + 1] * f
        t /= max(float(np.linalg.norm(t)), 1e-9)
        return p + n * offset_m, n, t


def _frontages(strips: list[LaneStrip]) -> list[_Frontage]:
    """Each road side's outermost lane edge per lane section, outside junctions."""
    outer: dict[tuple[int, int, int], LaneStrip] = {}
    for strip in strips:
        if strip.junction_id >= 0:
            continue
        key = (strip.road_id, strip.section, 1 if strip.lane_id > 0 else -1)
        if key not in outer or abs(strip.lane_id) > abs(outer[key].lane_id):
            outer[key] = strip
    out = []
    for key in sorted(outer):
        strip = outer[key]
        yaw = strip.yaw_rad
        normal = np.stack([-np.sin(yaw), np.cos(yaw)], 1)  # the lane's right: outwards
        pts = strip.right
        arc = np.concatenate(
            [[0.0], np.cumsum(np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1))]
        )
        if arc[-1] < 5.0:
            continue
        tangent = np.gradient(pts[:, :2], axis=0)
        tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
        out.append(_Frontage(pts, normal, tangent, arc, strip.lane_type == "sidewalk"))
    return out


def _hull(points: np.ndarray, margin_m: float) -> np.ndarray:
    """Convex hull (K, 2) of points grown by ``margin_m`` (eight offsets per point)."""
    ring = np.array([[math.cos(a), math.sin(a)] for a in np.arange(8) * math.pi / 4])
    grown = (points[:, None, :2] + ring[None] * margin_m).reshape(-1, 2)
    hull = ConvexHull(grown)
    return grown[hull.vertices]


class _Placer:
    def __init__(
        self,
        strips: list[LaneStrip],
        crosswalks: list[np.ndarray],
        signs: list[SignSpec],
        lights: list[LightSpec],
        terrain: Terrain,
    ) -> None:
        self.terrain = terrain
        lo = terrain.lo_xy - MAP_MARGIN_M
        hi = terrain.hi_xy + MAP_MARGIN_M
        space = self.space = FreeSpace(lo, hi)
        junctions: dict[int, list[np.ndarray]] = {}
        for s in strips:
            space.forbid_strip(s.left, s.right)
            space.forbid_strip(s.left, s.right, "road")
            if s.junction_id >= 0:
                junctions.setdefault(s.junction_id, []).extend([s.left, s.right])
        for parts in junctions.values():
            pts = np.concatenate(parts)
            space.forbid_polygon(_hull(pts, JUNCTION_MARGIN_M), "taken")
            space.forbid_polygon(_hull(pts, JUNCTION_VIEW_M), "view")
            space.forbid_polygon(_hull(pts, JUNCTION_PARKING_M), "no_parking")
        for poly in crosswalks:
            xy = poly[:, :2]
            center = xy.mean(axis=0)
            _, _, vt = np.linalg.svd(xy - center)
            across = vt[0]  # a crosswalk is long across the road
            along = (xy - center) @ across
            ends = along.min() - CROSSWALK_KERB_M, along.max() + CROSSWALK_KERB_M
            side = (xy - center) @ vt[1]
            half = max(abs(side.min()), abs(side.max())) + 1.0
            corners = np.array(
                [center + across * e + vt[1] * h for e in ends for h in (-half, half)]
            )[[0, 1, 3, 2]]
            for layer in ("taken", "no_parking"):
                space.forbid_polygon(corners, layer)
        poles: list[SignSpec | LightSpec] = [*signs, *lights]
        for pole in poles:
            pos = np.asarray(pole.position, dtype=np.float64)
            space.forbid_disc(pos, POLE_CLEAR_M, "taken")
            space.forbid_disc(pos, POLE_PARKING_M, "no_parking")
            forward = np.array([math.cos(pole.traffic_yaw_rad), math.sin(pole.traffic_yaw_rad)])
            starts = [sl.position[:2] for sl in pole.stop_lines] or [pos[:2]]
            for start in starts:
                for back in SIGHT_BACK_M:
                    eye = np.asarray(start, dtype=np.float64) - forward * back
                    for layer in ("view", "no_parking"):
                        space.forbid_line(pos[:2], eye, SIGHT_WIDTH_M, layer)
        space.freeze()

    def free(self, center: np.ndarray, yaw: float, half: tuple[float, float], tall: bool) -> bool:
        return self.space.is_free(center, yaw, half, ("taken", "view") if tall else ("taken",))


def plan_streetscape(
    strips: list[LaneStrip],
    crosswalks: list[np.ndarray],
    signs: list[SignSpec],
    lights: list[LightSpec],
    config: StreetscapeConfig,
    seed: int,
    flat_z: float,
) -> StreetLayout:
    """The streetscape of a map for ``config`` (its profile must not be off) and a seed;
    ``flat_z``: the grass plane's height (the terrain rises from it)."""
    params = PROFILES[config.profile]
    rng = np.random.default_rng([seed, 0x57EE7])
    hill_m = params.hill_m * float(rng.uniform(0.5, 1.2))
    terrain = Terrain(
        strips, np.random.default_rng([seed, 1]), hill_m, flat_z, flat=not config.terrain
    )
    # The town's look: a few façade, roof and wall colours out of each palette.
    style = {
        "facades": FACADES[rng.choice(len(FACADES), 4, replace=False)],
        "roofs": ROOFS[rng.choice(len(ROOFS), 2, replace=False)],
        "walls": WALLS[rng.choice(len(WALLS), 2, replace=False)],
        "fences": FENCES[rng.choice(len(FENCES), 2, replace=False)],
        "leaf": np.array([0.16, 0.30, 0.11]) * rng.uniform(0.8, 1.25)
        + np.array([0.06, 0.02, 0.0]) * rng.uniform(0.0, 1.0),  # some seeds late summer
    }
    grass = np.clip(
        np.array([0.28, 0.40, 0.18]) * rng.uniform(0.8, 1.15)
        + np.array([0.12, 0.06, 0.0]) * rng.uniform(0.0, 1.0),
        0.0,
        1.0,
    )
    layout = StreetLayout(terrain, grass_rgb=grass)
    placer = _Placer(strips, crosswalks, signs, lights, terrain)
    layout.space = placer.space
    density = config.density
    if density <= 0:
        return layout
    fronts = _frontages(strips)
    for front in fronts:
        _buildings(placer, front, params, density, rng, style, layout)
    for front in fronts:
        _boundaries(placer, front, params, density, rng, style, layout)
    for front in fronts:
        _trees(placer, front, params, density, rng, style, layout)
    for front in fronts:
        _lamps(placer, front, params, rng, layout)
    if config.parked_cars:
        fill = min(1.0, params.parked_fill * density)
        layout.parked = park_cars(placer.space, strips, fill, rng)
    return layout


def _pick(rng: np.random.Generator, palette: np.ndarray, jitter: float = 0.06) -> np.ndarray:
    rgb = palette[int(rng.integers(len(palette)))] * rng.uniform(1 - jitter, 1 + jitter, 3)
    return np.clip(rgb, 0.0, 1.0)


def _u(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(rng.uniform(r[0], r[1]))


def _buildings(
    placer: _Placer,
    front: _Frontage,
    p: ProfileParams,
    density: float,
    rng: np.random.Generator,
    style: dict[str, np.ndarray],
    layout: StreetLayout,
) -> None:
    share = min(1.0, p.building_share * density)
    extra = 0.0 if front.sidewalk else 8.0  # no sidewalk: a verge before the first house
    a = _u(rng, (0.0, p.building_gap_m[1]))
    while a < front.length_m - 4.0:
        width = _u(rng, p.building_width_m)
        depth = _u(rng, p.building_depth_m)
        setback = _u(rng, p.building_setback_m) + extra
        gap = _u(rng, p.building_gap_m)
        if rng.random() >= share:
            a += width + gap
            continue
        edge, normal, tangent = front.at(a + width / 2, 0.0)
        center = edge + normal * (setback + depth / 2)
        yaw = math.atan2(tangent[1], tangent[0])
        half = (width / 2, depth / 2)
        if not placer.free(center, yaw, (half[0] + 0.5, half[1] + 0.5), tall=True):
            a += 3.0
            continue
        placer.space.claim(center, yaw, (half[0] + 0.5, half[1] + 0.5))
        c, s = math.cos(yaw), math.sin(yaw)
        corners = center + np.array(
            [
                [sx * half[0] * c - sy * half[1] * s, sx * half[0] * s + sy * half[1] * c]
                for sx in (-1, 1)
                for sy in (-1, 1)
            ]
        )
        ground = placer.terrain.height(np.vstack([corners, center]))
        storeys = int(rng.integers(p.storeys[0], p.storeys[1] + 1))
        layout.buildings.append(
            Building(
                center,
                yaw,
                half,
                float(ground.min()) - 0.5,
                float(ground.max()),
                storeys,
                _u(rng, (2.9, 3.4)),
                bool(rng.random() < p.pitched_roof_share),
                bool(rng.random() < p.shopfront_share),
                _pick(rng, style["facades"]),
                _pick(rng, style["roofs"]),
                -normal,
            )
        )
        a += width + gap


def _run_points(
    placer: _Placer, front: _Frontage, a0: float, a1: float, offset: float, tall: bool
) -> list[np.ndarray]:
    """Free stretches (each (N, 3) on the ground, 1 m apart) of the line ``offset`` out
    from the edge between arcs a0 and a1."""
    runs: list[list[np.ndarray]] = [[]]
    for a in np.arange(a0, a1, 1.0):
        p, _, t = front.at(float(a) + 0.5, offset)
        if placer.free(p, math.atan2(t[1], t[0]), (0.6, 0.35), tall):
            runs[-1].append(p)
        elif runs[-1]:
            runs.append([])
    out = []
    for run in runs:
        if len(run) >= 3:
            xy = np.array(run)
            out.append(np.column_stack([xy, placer.terrain.height(xy)]))
    return out


def _claim_run(placer: _Placer, pts: np.ndarray, half_width: float) -> None:
    for a, b in itertools.pairwise(pts):
        d = b[:2] - a[:2]
        placer.space.claim(
            (a[:2] + b[:2]) / 2, math.atan2(d[1], d[0]), (np.hypot(*d) / 2 + 0.3, half_width)
        )


def _boundaries(
    placer: _Placer,
    front: _Frontage,
    p: ProfileParams,
    density: float,
    rng: np.random.Generator,
    style: dict[str, np.ndarray],
    layout: StreetLayout,
) -> None:
    if not front.sidewalk:  # a road without a sidewalk: a guard rail along it
        for pts in _run_points(placer, front, 0.0, front.length_m, 0.6, tall=False):
            _claim_run(placer, pts, 0.3)
            layout.boundaries.append(Boundary("guard_rail", pts, 0.75, GALVANISED))
        return
    share = min(1.0, p.boundary_share * density)
    kinds: tuple[BoundaryKind, ...] = ("hedge", "fence", "wall")
    weights = np.array(p.boundary_weights) / sum(p.boundary_weights)
    a = 0.0
    while a < front.length_m:
        plot = _u(rng, (8.0, 20.0))
        if rng.random() < share:
            kind = kinds[int(rng.choice(3, p=weights))]
            height = {"hedge": (0.8, 1.9), "fence": (1.0, 1.8), "wall": (0.6, 2.0)}[kind]
            h = _u(rng, height)
            offset = _u(rng, (0.4, 1.0)) + (0.5 if kind == "hedge" else 0.0)
            gate = _u(rng, (0.0, plot - 3.0))  # a gap for a path or a drive
            spans = ((a, a + gate), (a + gate + 3.0, a + plot))
            rgb = {
                "hedge": style["leaf"] * rng.uniform(0.85, 1.1),
                "fence": _pick(rng, style["fences"]),
                "wall": _pick(rng, style["walls"]),
            }[kind]
            for a0, a1 in spans:
                for pts in _run_points(
                    placer, front, a0, min(a1, front.length_m), offset, h > TALL_M
                ):
                    _claim_run(placer, pts, 0.5 if kind == "hedge" else 0.2)
                    layout.boundaries.append(Boundary(kind, pts, h, np.clip(rgb, 0.0, 1.0)))
        a += plot


def _trees(
    placer: _Placer,
    front: _Frontage,
    p: ProfileParams,
    density: float,
    rng: np.random.Generator,
    style: dict[str, np.ndarray],
    layout: StreetLayout,
) -> None:
    spacing = (p.tree_spacing_m[0] / density, p.tree_spacing_m[1] / density)
    a = _u(rng, (0.0, spacing[1]))
    extra = 0.0 if front.sidewalk else 3.0
    while a < front.length_m:
        conifer = bool(rng.random() < p.conifer_share)
        crown_r = _u(rng, (1.0, 1.8) if conifer else (1.5, 3.2))
        offset = max(_u(rng, p.tree_offset_m) + extra, 0.7 * crown_r)
        pos, _, t = front.at(a, offset)
        yaw = math.atan2(t[1], t[0])
        reach = 0.7 * crown_r  # a crown may hang over a sidewalk by a third
        if placer.free(pos, yaw, (0.4, 0.4), tall=True) and placer.free(
            pos, yaw, (reach, reach), tall=True
        ):
            placer.space.claim(pos, yaw, (reach, reach))
            base = np.array([pos[0], pos[1], float(placer.terrain.height(pos)[0])])
            layout.trees.append(
                Tree(
                    base,
                    _u(rng, (1.8, 3.2)) if not conifer else _u(rng, (0.8, 1.5)),
                    _u(rng, (0.1, 0.22)),
                    crown_r,
                    _u(rng, (3.0, 6.0)) if not conifer else _u(rng, (5.0, 9.0)),
                    conifer,
                    np.clip(style["leaf"] * rng.uniform(0.75, 1.2, 3), 0.0, 1.0),
                )
            )
        a += _u(rng, spacing)


def _lamps(
    placer: _Placer,
    front: _Frontage,
    p: ProfileParams,
    rng: np.random.Generator,
    layout: StreetLayout,
) -> None:
    if not front.sidewalk:
        return
    a = _u(rng, (2.0, p.lamp_spacing_m))
    while a < front.length_m - 2.0:
        pos, normal, t = front.at(a, 0.35)
        yaw = math.atan2(t[1], t[0])
        if placer.free(pos, yaw, (0.2, 0.2), tall=True):
            placer.space.claim(pos, yaw, (0.5, 0.5))
            base = np.array([pos[0], pos[1], float(placer.terrain.height(pos)[0])])
            layout.lamps.append(Lamp(base, -normal, _u(rng, (6.0, 8.0)), _u(rng, (1.4, 2.2))))
            a += p.lamp_spacing_m * float(rng.uniform(0.9, 1.1))
        else:
            a += 2.0
