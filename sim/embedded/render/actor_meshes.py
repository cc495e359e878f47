"""Box-built meshes for road users in their local frame (x forward, y right, z up,
origin at the ground under the box centre), and the sizes of each body type."""

from __future__ import annotations

import numpy as np

from sim.embedded.render.materials import Material
from sim.embedded.render.mesh import Mesh, MeshBuilder

# length, width, height [m] of the vehicle body types a scenario may ask for.
VEHICLE_SIZES_M = {
    "compact": (3.9, 1.75, 1.45),
    "sedan": (4.7, 1.85, 1.48),
    "suv": (4.8, 1.95, 1.75),
    "van": (5.3, 2.05, 2.2),
    "truck": (7.5, 2.45, 3.1),
}
PEDESTRIAN_SIZES_M = {"adult": (0.45, 0.55, 1.75), "child": (0.35, 0.42, 1.2)}


def _box(
    b: MeshBuilder,
    lo: tuple[float, float, float],
    hi: tuple[float, float, float],
    material: Material,
) -> None:
    lo_a, hi_a = np.array(lo), np.array(hi)
    b.add_box((lo_a + hi_a) / 2, (hi_a - lo_a) / 2, np.eye(3), material)


def vehicle_mesh(length_m: float, width_m: float, height_m: float) -> Mesh:
    b = MeshBuilder()
    hl, hw = length_m / 2, width_m / 2
    wheel_r = min(0.42, 0.2 * height_m + 0.05)
    body_top = 0.25 + 0.45 * (height_m - 0.25)
    _box(b, (-hl, -hw, 0.25), (hl, hw, body_top), Material.VEHICLE_PAINT)
    # Tall vehicles: the glass starts just inside the cargo box, whose rear face it would
    # otherwise share (the two faces fought over every pixel: a speckled rear).
    cabin_x0 = -hl + 0.12 * length_m if height_m < 2.0 else -hl + 0.05
    cabin_x1 = hl - 0.3 * length_m if height_m < 2.0 else hl - 0.12 * length_m
    _box(b, (cabin_x0, -hw * 0.9, body_top), (cabin_x1, hw * 0.9, height_m - 0.06), Material.GLASS)
    _box(
        b,
        (cabin_x0 + 0.05, -hw * 0.88, height_m - 0.06),
        (cabin_x1 - 0.05, hw * 0.88, height_m),
        Material.VEHICLE_PAINT,
    )
    if height_m >= 2.0:  # vans and trucks: a tall cargo box behind a short cab
        _box(b, (-hl, -hw, body_top), (cabin_x1 - 0.6, hw, height_m), Material.VEHICLE_PAINT)
    for x in (-hl + 0.18 * length_m, hl - 0.18 * length_m):
        # 2 cm inside the body's sides: a tyre face in the side's plane would tie with it
        # for every ray (speckle, and hits that depend on the BVH's order)
        for y in (-hw + 0.13, hw - 0.13):
            _box(
                b, (x - wheel_r, y - 0.11, 0.0), (x + wheel_r, y + 0.11, 2 * wheel_r), Material.TYRE
            )
    return b.build()


def pedestrian_mesh(depth_m: float, width_m: float, height_m: float) -> Mesh:
    b = MeshBuilder()
    hd, hw = depth_m / 2, width_m / 2
    leg_top = 0.48 * height_m
    shoulder = 0.82 * height_m
    _box(b, (-hd * 0.55, -hw * 0.6, 0.0), (hd * 0.55, hw * 0.6, leg_top), Material.CLOTHES)
    _box(b, (-hd * 0.6, -hw, leg_top), (hd * 0.6, hw, shoulder), Material.CLOTHES)
    head = 0.11 * height_m / 1.75
    _box(b, (-head, -head, shoulder + 0.02), (head, head, height_m), Material.SKIN)
    return b.build()
