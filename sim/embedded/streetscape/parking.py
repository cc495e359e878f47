"""Parked cars along the kerbs: on parking lanes, and on shoulders 2 m wide or more that
run along a sidewalk, nose in the lane's direction, kerb side in, pitched with the road.
Static vehicles: the world puts them in the ground truth."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from roadmind.frames import Pose
from sim.embedded.render.actor_meshes import VEHICLE_SIZES_M
from sim.embedded.render.road_mesh import LaneStrip
from sim.embedded.streetscape.free_space import FreeSpace

PARKED_MODELS = ("compact", "sedan", "suv", "van")
PARKED_WEIGHTS = (0.3, 0.4, 0.2, 0.1)
KERB_GAP_M = 0.25  # a parked car's side from the kerb
MIN_PARKING_WIDTH_M = 2.0
PARKED_PAINTS = np.array(
    [
        (0.75, 0.08, 0.08),
        (0.08, 0.2, 0.6),
        (0.85, 0.85, 0.85),
        (0.1, 0.1, 0.1),
        (0.55, 0.57, 0.6),
        (0.9, 0.75, 0.1),
        (0.1, 0.45, 0.2),
        (0.35, 0.2, 0.12),
        (0.93, 0.93, 0.9),
        (0.3, 0.32, 0.36),
    ]
)


@dataclass(frozen=True)
class ParkedCar:
    pose: Pose  # ground point under the box centre, pitched with the road
    model: str
    paint: np.ndarray

    @property
    def extent_m(self) -> np.ndarray:
        """(3,) half sizes of its box."""
        return np.array(VEHICLE_SIZES_M[self.model], float) / 2


def _parking_strips(strips: list[LaneStrip]) -> list[LaneStrip]:
    """Parking lanes, and shoulders 2 m wide or more along a kerb: a sidewalk beyond
    them, perhaps past a narrow (under 1 m) shoulder or border as in CARLA's towns."""
    by_lane = {(s.road_id, s.section, s.lane_id): s for s in strips}
    out = []
    for s in strips:
        if s.junction_id >= 0 or float(s.width_m.min()) < MIN_PARKING_WIDTH_M:
            continue
        if s.lane_type == "parking":
            out.append(s)
            continue
        if s.lane_type not in ("shoulder", "border"):
            continue
        step = 1 if s.lane_id > 0 else -1
        beyond = by_lane.get((s.road_id, s.section, s.lane_id + step))
        while (
            beyond is not None
            and beyond.lane_type in ("shoulder", "border", "curb")
            and float(beyond.width_m.max()) < 1.0
        ):
            beyond = by_lane.get((s.road_id, s.section, beyond.lane_id + step))
        if beyond is not None and beyond.lane_type == "sidewalk":
            out.append(s)
    return out


def park_cars(
    space: FreeSpace, strips: list[LaneStrip], fill: float, rng: np.random.Generator
) -> list[ParkedCar]:
    """Cars in a ``fill`` share of the kerb's slots, clear of the ``no_parking`` layer
    (crosswalks, junctions, signs and lights, cars parked already)."""
    parked: list[ParkedCar] = []
    weights = np.array(PARKED_WEIGHTS)
    for strip in _parking_strips(strips):
        pts = strip.center
        arc = np.concatenate(
            [[0.0], np.cumsum(np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1))]
        )
        width = float(strip.width_m.min())
        fits = [i for i, m in enumerate(PARKED_MODELS) if VEHICLE_SIZES_M[m][1] + 0.3 <= width]
        if not fits or arc[-1] < 6.0:
            continue
        w = weights[fits] / weights[fits].sum()
        a = float(rng.uniform(1.0, 5.0))
        while True:
            model = PARKED_MODELS[fits[int(rng.choice(len(fits), p=w))]]
            length, car_w, _ = VEHICLE_SIZES_M[model]
            gap = float(rng.uniform(0.8, 2.5))
            if a + length > arc[-1] - 1.0:
                break
            if rng.random() < fill:
                car = _parked_car(strip, arc, a + length / 2, model, width, rng)
                half = (length / 2 + 0.3, car_w / 2 + 0.1)
                xy = np.array([car.pose.x_m, car.pose.y_m])
                if space.is_free(xy, car.pose.yaw_rad, half, ("no_parking",)):
                    space.claim(xy, car.pose.yaw_rad, half, "no_parking")
                    parked.append(car)
            a += length + gap
    return parked


def _parked_car(
    strip: LaneStrip,
    arc: np.ndarray,
    a: float,
    model: str,
    width: float,
    rng: np.random.Generator,
) -> ParkedCar:
    """A car centred at arc ``a`` of the strip, its kerb side KERB_GAP_M from the kerb."""
    i = int(np.clip(np.searchsorted(arc, a) - 1, 0, len(arc) - 2))
    f = float(np.clip((a - arc[i]) / max(arc[i + 1] - arc[i], 1e-9), 0.0, 1.0))
    center = strip.center[i] * (1 - f) + strip.center[i + 1] * f
    yaw = math.remainder(float(strip.yaw_rad[i]), 2.0 * math.pi)
    car_w = VEHICLE_SIZES_M[model][1]
    right = np.array([-math.sin(yaw), math.cos(yaw), 0.0])  # the lane's right: the kerb
    lateral = max(0.0, width / 2 - car_w / 2 - KERB_GAP_M)
    ground = center + right * lateral
    # Pitched with the road: positive lifts the nose (the lane climbs the way it runs).
    j0, j1 = max(i - 2, 0), min(i + 3, len(arc) - 1)
    step = strip.center[j1] - strip.center[j0]
    runs_with_s = step[0] * math.cos(yaw) + step[1] * math.sin(yaw) >= 0
    grade = step[2] / max(arc[j1] - arc[j0], 1e-6)
    pitch = math.atan(grade if runs_with_s else -grade)
    paint = PARKED_PAINTS[int(rng.integers(len(PARKED_PAINTS)))] * rng.uniform(0.9, 1.1)
    return ParkedCar(
        Pose(float(ground[0]), float(ground[1]), float(ground[2]), 0.0, pitch, yaw),
        model,
        np.clip(paint, 0.0, 1.0),
    )
