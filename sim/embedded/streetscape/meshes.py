"""Triangles of the streetscape, all static: built once into the map's mesh. Buildings
are boxes with window panes on every façade (shop windows on some ground floors) under
a flat or pitched roof; trees a trunk and a crown (a lumpy ball, or a cone for a
conifer); hedges, walls, fences and guard rails boxes along their lines; lamps a post,
an arm over the sidewalk and a head. Parked cars are the road users' own car meshes,
each with its object id, so the camera's ids and the ground truth know them."""

from __future__ import annotations

import math

import numpy as np

from sim.embedded.render.actor_meshes import VEHICLE_SIZES_M, vehicle_mesh
from sim.embedded.render.materials import ALBEDO, Material
from sim.embedded.render.mesh import Mesh, MeshBuilder
from sim.embedded.streetscape.layout import Boundary, Building, Lamp, StreetLayout, Tree
from sim.embedded.streetscape.parking import ParkedCar

PANE_LIFT_M = 0.03  # windows stand this far proud of the façade
LIT_WINDOWS = 0.35  # share of windows with a lit room behind at night
FOOTING_M = 0.3  # posts and walls reach this far into the ground


def _rotation_z(yaw_rad: float) -> np.ndarray:
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def add_streetscape(builder: MeshBuilder, layout: StreetLayout, rng: np.random.Generator) -> None:
    for building in layout.buildings:
        _building(builder, building, rng)
    for boundary in layout.boundaries:
        _boundary(builder, boundary, rng)
    for tree in layout.trees:
        _tree(builder, tree, rng)
    for lamp in layout.lamps:
        _lamp(builder, lamp)


# ---------------------------------------------------------------------- buildings
def _building(b: MeshBuilder, bld: Building, rng: np.random.Generator) -> None:
    rot = _rotation_z(bld.yaw_rad)
    hx, hy = bld.half_m
    top = bld.ground_z + bld.storeys * bld.storey_m + (0.0 if bld.pitched else 0.6)
    mid = np.array([bld.center[0], bld.center[1], (bld.base_z + top) / 2])
    b.add_box(
        mid, np.array([hx, hy, (top - bld.base_z) / 2]), rot, Material.BUILDING, 0, bld.facade_rgb
    )
    if bld.pitched:
        _pitched_roof(b, bld, rot, top)
    else:  # a coping along the parapet's top
        b.add_box(
            np.array([bld.center[0], bld.center[1], top + 0.05]),
            np.array([hx + 0.08, hy + 0.08, 0.05]),
            rot,
            Material.ROOF,
            0,
            bld.roof_rgb * 0.8,
        )
    _windows(b, bld, rot, rng)


def _pitched_roof(b: MeshBuilder, bld: Building, rot: np.ndarray, eaves_z: float) -> None:
    hx, hy = bld.half_m
    along_x = hx >= hy  # the ridge runs along the longer side
    span = hy if along_x else hx
    rise = 0.6 * span
    o = 0.3  # overhang
    if along_x:
        eaves = [(-hx - o, -hy - o), (hx + o, -hy - o), (hx + o, hy + o), (-hx - o, hy + o)]
        ridge = [(-hx - o, 0.0), (hx + o, 0.0)]
    else:
        eaves = [(-hx - o, -hy - o), (hx + o, -hy - o), (hx + o, hy + o), (-hx - o, hy + o)]
        ridge = [(0.0, -hy - o), (0.0, hy + o)]
    local = np.array([[x, y, 0.0] for x, y in eaves] + [[x, y, rise] for x, y in ridge])
    verts = local @ rot.T + np.array([bld.center[0], bld.center[1], eaves_z])
    if along_x:  # eaves 0 1 2 3, ridge 4 (at -x) 5 (at +x)
        slopes = [[0, 1, 5], [0, 5, 4], [2, 3, 4], [2, 4, 5]]
        gables = [[3, 0, 4], [1, 2, 5]]
    else:  # ridge 4 (at -y) 5 (at +y)
        slopes = [[1, 2, 5], [1, 5, 4], [3, 0, 4], [3, 4, 5]]
        gables = [[0, 1, 4], [2, 3, 5]]
    b.add(verts, np.array(slopes), Material.ROOF, 0, colour=bld.roof_rgb)
    b.add(verts, np.array(gables), Material.BUILDING, 0, colour=bld.facade_rgb)


def _windows(b: MeshBuilder, bld: Building, rot: np.ndarray, rng: np.random.Generator) -> None:
    """Panes on the four façades: one per bay and storey; on a shop's street front the
    ground floor gets wide windows and a door."""
    hx, hy = bld.half_m
    bay = float(rng.uniform(2.6, 3.6))
    pane_w, pane_h = (
        bay * float(rng.uniform(0.38, 0.55)),
        bld.storey_m * float(rng.uniform(0.4, 0.5)),
    )
    front_is_neg_y = bool(np.dot(bld.front_normal, rot[:2, 1]) < 0)
    quads: list[np.ndarray] = []
    mats: list[int] = []
    # façades: (centre offset, outward normal, along axis, half width), local frame
    facades = [
        (np.array([0.0, -hy, 0.0]), np.array([0.0, -1.0, 0.0]), np.array([1.0, 0.0, 0.0]), hx),
        (np.array([0.0, hy, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([-1.0, 0.0, 0.0]), hx),
        (np.array([-hx, 0.0, 0.0]), np.array([-1.0, 0.0, 0.0]), np.array([0.0, -1.0, 0.0]), hy),
        (np.array([hx, 0.0, 0.0]), np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), hy),
    ]
    for k, (origin, normal, along, half_w) in enumerate(facades):
        bays = int(2 * half_w // bay)
        if bays < 1:
            continue
        street = (k == 0) == front_is_neg_y and k < 2
        centres = (np.arange(bays) + 0.5) * (2 * half_w / bays) - half_w
        door = int(rng.integers(bays)) if street else -1
        for storey in range(bld.storeys):
            z0 = bld.ground_z + storey * bld.storey_m
            for j, c in enumerate(centres):
                if storey == 0 and street and bld.shopfront:
                    w, h, zc = 2 * half_w / bays * 0.8, bld.storey_m * 0.62, z0 + 1.5
                elif storey == 0 and j == door:
                    w, h, zc = 1.1, 2.1, z0 + 1.05
                else:
                    w, h, zc = pane_w, pane_h, z0 + bld.storey_m * 0.55
                p = origin + normal * PANE_LIFT_M + along * c
                corners = [
                    p + along * su * w / 2 + np.array([0, 0, sv * h / 2])
                    for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))
                ]
                quads.append(np.array(corners) + np.array([0.0, 0.0, zc]))
                lit = storey > 0 or not (street and j == door)
                mats.append(
                    Material.WINDOW_LIT if lit and rng.random() < LIT_WINDOWS else Material.WINDOW
                )
    if not quads:
        return
    local = np.concatenate(quads)
    verts = local @ rot.T + np.array([bld.center[0], bld.center[1], 0.0])
    base = np.arange(len(quads))[:, None] * 4
    # wound so the normal points out of the façade (its lit side faces the street)
    tris = np.concatenate([base + np.array([0, 1, 2]), base + np.array([0, 2, 3])])
    material = np.concatenate([mats, mats]).astype(np.uint8)
    b.add(verts, tris, material)


# ---------------------------------------------------------------------- lines
def _segment_box(
    b: MeshBuilder,
    p0: np.ndarray,
    p1: np.ndarray,
    z0: float,
    z1: float,
    half_width: float,
    material: Material,
    rgb: np.ndarray,
    shift: float = 0.0,
) -> None:
    d = p1[:2] - p0[:2]
    length = float(np.hypot(*d))
    if length < 1e-3:
        return
    rot = _rotation_z(math.atan2(d[1], d[0]))
    mid = (p0[:2] + p1[:2]) / 2 + rot[:2, 1] * shift
    b.add_box(
        np.array([mid[0], mid[1], (z0 + z1) / 2]),
        np.array([length / 2 + 0.03, half_width, (z1 - z0) / 2]),
        rot,
        material,
        0,
        rgb,
    )


# Points of a boundary line are 1 m apart; its boxes span this many of them (a long
# guard rail in 1 m boxes was 120k of Town04's triangles).
SEGMENT_POINTS = {"hedge": 3, "wall": 3, "fence": 3, "guard_rail": 4}


def _boundary(b: MeshBuilder, line: Boundary, rng: np.random.Generator) -> None:
    step = SEGMENT_POINTS[line.kind]
    keep = list(range(0, len(line.points), step))
    if keep[-1] != len(line.points) - 1:
        keep.append(len(line.points) - 1)
    pts, h = line.points[keep], line.height_m
    panel = bool(rng.random() < 0.5)
    for i in range(len(pts) - 1):
        p0, p1 = pts[i], pts[i + 1]
        low = min(p0[2], p1[2]) - FOOTING_M
        ground = max(p0[2], p1[2])
        if line.kind == "hedge":
            top = ground + h * float(rng.uniform(0.94, 1.06))
            rgb = line.rgb * rng.uniform(0.9, 1.1)
            _segment_box(b, p0, p1, low, top, 0.4, Material.FOLIAGE, np.clip(rgb, 0, 1))
        elif line.kind == "wall":
            _segment_box(b, p0, p1, low, ground + h, 0.12, Material.WALL, line.rgb)
            _segment_box(
                b, p0, p1, ground + h, ground + h + 0.06, 0.16, Material.WALL, line.rgb * 0.85
            )
        elif line.kind == "fence":
            _post(b, p0, ground + h, 0.05, Material.FENCE, line.rgb * 0.8)
            if panel:
                _segment_box(
                    b, p0, p1, ground + 0.05, ground + h - 0.05, 0.02, Material.FENCE, line.rgb
                )
            else:
                for z in (0.35 * h, 0.85 * h):
                    _segment_box(
                        b,
                        p0,
                        p1,
                        ground + z - 0.04,
                        ground + z + 0.04,
                        0.025,
                        Material.FENCE,
                        line.rgb,
                    )
        else:  # guard rail: a post every 4 m, a band beside them (both faces lit)
            _post(b, p0, ground + 0.72, 0.06, Material.GUARD_RAIL, line.rgb * 0.8)
            _band(b, p0, p1, ground + 0.45, ground + 0.75, -0.1, line.rgb)
    if line.kind in ("fence", "guard_rail"):
        last = pts[-1]
        top = last[2] + (h if line.kind == "fence" else 0.72)
        _post(
            b,
            last,
            top,
            0.05 if line.kind == "fence" else 0.06,
            _POST[line.kind],
            line.rgb * 0.8,
        )


_POST = {"fence": Material.FENCE, "guard_rail": Material.GUARD_RAIL}


def _band(
    b: MeshBuilder,
    p0: np.ndarray,
    p1: np.ndarray,
    z0: float,
    z1: float,
    shift: float,
    rgb: np.ndarray,
) -> None:
    """A vertical quad from p0 to p1 between heights z0 and z1, ``shift`` to the left."""
    d = p1[:2] - p0[:2]
    left = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-9)
    a, c = p0[:2] + left * shift, p1[:2] + left * shift
    verts = np.array([[a[0], a[1], z0], [c[0], c[1], z0], [c[0], c[1], z1], [a[0], a[1], z1]])
    b.add(verts, np.array([[0, 1, 2], [0, 2, 3]]), Material.GUARD_RAIL, 0, colour=rgb)


def _post(
    b: MeshBuilder, p: np.ndarray, top: float, half: float, material: Material, rgb: np.ndarray
) -> None:
    z0 = p[2] - FOOTING_M
    b.add_box(
        np.array([p[0], p[1], (z0 + top) / 2]),
        np.array([half, half, (top - z0) / 2]),
        np.eye(3),
        material,
        0,
        rgb,
    )


# ---------------------------------------------------------------------- trees, lamps
def _ball(subdivisions: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A unit icosphere: vertices (V, 3), outward-wound triangles (T, 3)."""
    t = (1.0 + 5**0.5) / 2.0
    v = [
        (-1, t, 0),
        (1, t, 0),
        (-1, -t, 0),
        (1, -t, 0),
        (0, -1, t),
        (0, 1, t),
        (0, -1, -t),
        (0, 1, -t),
        (t, 0, -1),
        (t, 0, 1),
        (-t, 0, -1),
        (-t, 0, 1),
    ]
    f = [
        (0, 11, 5),
        (0, 5, 1),
        (0, 1, 7),
        (0, 7, 10),
        (0, 10, 11),
        (1, 5, 9),
        (5, 11, 4),
        (11, 10, 2),
        (10, 7, 6),
        (7, 1, 8),
        (3, 9, 4),
        (3, 4, 2),
        (3, 2, 6),
        (3, 6, 8),
        (3, 8, 9),
        (4, 9, 5),
        (2, 4, 11),
        (6, 2, 10),
        (8, 6, 7),
        (9, 8, 1),
    ]
    verts = [np.array(p, float) / np.linalg.norm(p) for p in v]
    faces = list(f)
    for _ in range(subdivisions):
        cache: dict[tuple[int, int], int] = {}
        new = []
        for a, b_, c in faces:
            ab, bc, ca = (_middle(verts, cache, i, j) for i, j in ((a, b_), (b_, c), (c, a)))
            new += [(a, ab, ca), (b_, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new
    return np.array(verts), np.array(faces, dtype=np.int32)


def _middle(verts: list[np.ndarray], cache: dict[tuple[int, int], int], i: int, j: int) -> int:
    """Index of the unit vertex half way between i and j, added once."""
    key = (min(i, j), max(i, j))
    if key not in cache:
        m = verts[i] + verts[j]
        verts.append(m / np.linalg.norm(m))
        cache[key] = len(verts) - 1
    return cache[key]


BALL_VERTS, BALL_TRIS = _ball(1)


def _tree(b: MeshBuilder, tree: Tree, rng: np.random.Generator) -> None:
    x, y, z = tree.base
    r = tree.trunk_radius_m
    angles = np.arange(6) * math.pi / 3
    ring = np.stack([np.cos(angles) * r, np.sin(angles) * r], 1)
    top = z + tree.trunk_m + 0.4
    verts = np.concatenate(
        [
            np.column_stack([ring + np.array([x, y]), np.full(6, z - FOOTING_M)]),
            np.column_stack([ring + np.array([x, y]), np.full(6, top)]),
        ]
    )
    k = np.arange(6)
    sides = np.concatenate(
        [np.stack([k, (k + 1) % 6, 6 + (k + 1) % 6], 1), np.stack([k, 6 + (k + 1) % 6, 6 + k], 1)]
    )
    b.add(verts, sides, Material.BARK, 0, colour=ALBEDO[Material.BARK] * rng.uniform(0.8, 1.2))
    base_z = z + tree.trunk_m
    shade = np.clip(tree.rgb * rng.uniform(0.88, 1.12, (1, 1)), 0.0, 1.0)
    if tree.conifer:  # two stacked cones
        for lo, hi, rad in ((0.0, 0.7, 1.0), (0.4, 1.0, 0.7)):
            n = 8
            ang = np.arange(n) * 2 * math.pi / n + rng.uniform(0, 1)
            ring_c = np.column_stack(
                [
                    x + np.cos(ang) * tree.crown_radius_m * rad,
                    y + np.sin(ang) * tree.crown_radius_m * rad,
                    np.full(n, base_z + lo * tree.crown_m),
                ]
            )
            apex = np.array([[x, y, base_z + hi * tree.crown_m]])
            v = np.concatenate([ring_c, apex, [[x, y, base_z + lo * tree.crown_m]]])
            i = np.arange(n)
            cone = np.stack([i, (i + 1) % n, np.full(n, n)], 1)
            cap = np.stack([np.full(n, n + 1), (i + 1) % n, i], 1)
            colour = np.clip(shade * rng.uniform(0.9, 1.1, (2 * n, 1)), 0.0, 1.0)
            b.add(v, np.concatenate([cone, cap]), Material.FOLIAGE, 0, colour=colour)
        return
    lumpy = BALL_VERTS * rng.uniform(0.85, 1.15, (BALL_VERTS.shape[0], 1))
    scale = np.array([tree.crown_radius_m, tree.crown_radius_m, tree.crown_m / 2])
    v = lumpy * scale + np.array([x, y, base_z + tree.crown_m / 2])
    colour = np.clip(shade * rng.uniform(0.85, 1.15, (BALL_TRIS.shape[0], 1)), 0.0, 1.0)
    b.add(v, BALL_TRIS, Material.FOLIAGE, 0, colour=colour)


def _lamp(b: MeshBuilder, lamp: Lamp) -> None:
    x, y, z = lamp.base
    top = z + lamp.height_m
    grey = ALBEDO[Material.POLE]
    _post(b, lamp.base, top, 0.08, Material.POLE, grey)
    d = lamp.toward_road
    end = lamp.base[:2] + d * lamp.arm_m
    arm0 = np.array([x, y, top - 0.05])
    arm1 = np.array([end[0], end[1], top - 0.05])
    _segment_box(b, arm0, arm1, top - 0.1, top, 0.04, Material.POLE, grey)
    rot = _rotation_z(math.atan2(d[1], d[0]))
    b.add_box(
        np.array([end[0], end[1], top - 0.12]),
        np.array([0.32, 0.14, 0.07]),
        rot,
        Material.LAMP,
        0,
    )


# ---------------------------------------------------------------------- parked cars
def parked_car_mesh(car: ParkedCar) -> tuple[Mesh, np.ndarray]:
    """The car's mesh in its own frame (ground under the box centre) and per-triangle
    colours (its paint on the body)."""
    length, width, height = VEHICLE_SIZES_M[car.model]
    mesh = vehicle_mesh(length, width, height)
    albedo = ALBEDO[mesh.material].copy()
    albedo[mesh.material == Material.VEHICLE_PAINT] = car.paint
    return mesh, albedo


def add_parked_car(b: MeshBuilder, car: ParkedCar, object_id: int) -> Mesh:
    """The car into the static mesh in world coordinates; returns its local mesh."""
    mesh, albedo = parked_car_mesh(car)
    verts = car.pose.transform_points(mesh.vertices.astype(np.float64))
    b.add(verts, mesh.triangles, mesh.material, object_id, colour=albedo)
    return mesh
