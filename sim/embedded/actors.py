"""Road users of the embedded world: the ego car, lane-following cars, pedestrians."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from roadmind.frames import Pose, rotation_matrix
from roadmind.messages import ActorTruth, ObjectClass, VehicleControl
from sim.embedded.lane_driver import LaneDriver
from sim.embedded.render.actor_meshes import (
    PEDESTRIAN_SIZES_M,
    VEHICLE_SIZES_M,
    pedestrian_mesh,
    vehicle_mesh,
)
from sim.embedded.render.materials import ALBEDO, Material
from sim.embedded.render.mesh import Mesh
from sim.embedded.vehicle_dynamics import BicycleState, step_bicycle
from sim.placement import triggered
from sim.scenario import Trigger

CLOTHES = np.array(
    [
        (0.15, 0.2, 0.45),
        (0.6, 0.1, 0.1),
        (0.2, 0.2, 0.2),
        (0.8, 0.6, 0.2),
        (0.3, 0.5, 0.3),
    ]
)


@dataclass
class Body:
    """Shape shared by all actors: local mesh, per-triangle albedo, box half sizes."""

    mesh: Mesh
    albedo: np.ndarray  # (T, 3)
    extent_m: np.ndarray  # (3,) half sizes
    object_class: ObjectClass

    @staticmethod
    def vehicle(model: str, paint: np.ndarray) -> Body:
        length, width, height = VEHICLE_SIZES_M[model]
        mesh = vehicle_mesh(length, width, height)
        return Body(
            mesh,
            _albedo(mesh, Material.VEHICLE_PAINT, paint),
            np.array([length / 2, width / 2, height / 2]),
            ObjectClass.VEHICLE,
        )

    @staticmethod
    def pedestrian(size: str, clothes: np.ndarray) -> Body:
        depth, width, height = PEDESTRIAN_SIZES_M[size]
        mesh = pedestrian_mesh(depth, width, height)
        return Body(
            mesh,
            _albedo(mesh, Material.CLOTHES, clothes),
            np.array([depth / 2, width / 2, height / 2]),
            ObjectClass.PEDESTRIAN,
        )


def _albedo(mesh: Mesh, tinted: Material, color: np.ndarray) -> np.ndarray:
    albedo = ALBEDO[mesh.material].copy()
    albedo[mesh.material == tinted] = color
    return albedo


@dataclass
class Actor:
    actor_id: int
    body: Body
    pose: Pose  # ground point under the box centre, world frame
    speed_mps: float = 0.0

    @property
    def xy(self) -> np.ndarray:
        return np.array([self.pose.x_m, self.pose.y_m])

    def velocity(self) -> np.ndarray:
        return (
            np.array([math.cos(self.pose.yaw_rad), math.sin(self.pose.yaw_rad), 0.0])
            * self.speed_mps
        )

    def world_mesh(self) -> Mesh:
        rot = rotation_matrix(self.pose.roll_rad, self.pose.pitch_rad, self.pose.yaw_rad)
        m = self.body.mesh
        verts = (m.vertices @ rot.T.astype(np.float32)) + self.pose.translation.astype(np.float32)
        return Mesh(
            verts, m.triangles, m.material, np.full_like(m.object_id, self.actor_id), m.face_slot
        )

    def truth(self) -> ActorTruth:
        center = self.pose.compose(Pose(z_m=float(self.body.extent_m[2])))
        return ActorTruth(
            self.actor_id,
            self.body.object_class,
            center,
            self.body.extent_m.astype(np.float64),
            self.velocity(),
        )


@dataclass
class EgoCar(Actor):
    state: BicycleState = field(default_factory=lambda: BicycleState(0.0, 0.0, 0.0, 0.0))

    def apply(self, control: VehicleControl, dt_s: float, ground_z_m: float) -> None:
        self.state = step_bicycle(self.state, control, dt_s)
        self.speed_mps = self.state.speed_mps
        self.pose = Pose(self.state.x_m, self.state.y_m, ground_z_m, 0.0, 0.0, self.state.yaw_rad)


@dataclass
class NpcCar(Actor):
    driver: LaneDriver | None = None
    s_m: float = 0.0
    trigger: Trigger | None = None
    brake_at_s: float | None = None
    brake_for_s: float | None = None
    active: bool = False
    parked: bool = False

    def place(self) -> None:
        assert self.driver is not None
        point, yaw = self.driver.path.at(self.s_m)
        self.pose = Pose(float(point[0]), float(point[1]), float(point[2]), 0.0, 0.0, yaw)


@dataclass
class Walker(Actor):
    path: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # (N, 3) polyline
    walk_speed_mps: float = 1.4
    trigger: Trigger | None = None
    progress_m: float = 0.0
    active: bool = False

    def advance(self, dt_s: float, time_s: float, ego_xy: np.ndarray) -> None:
        if not self.active:
            self.active = triggered(self.trigger, time_s, ego_xy, self.xy)
        seg = np.linalg.norm(np.diff(self.path[:, :2], axis=0), axis=1)
        total = float(seg.sum())
        if not self.active or total <= 0 or self.progress_m >= total:
            self.speed_mps = 0.0
            return
        self.progress_m = min(total, self.progress_m + self.walk_speed_mps * dt_s)
        self.speed_mps = self.walk_speed_mps
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        i = int(np.clip(np.searchsorted(cum, self.progress_m) - 1, 0, len(seg) - 1))
        f = (self.progress_m - cum[i]) / max(seg[i], 1e-6)
        p = self.path[i] * (1 - f) + self.path[i + 1] * f
        d = self.path[i + 1] - self.path[i]
        self.pose = Pose(float(p[0]), float(p[1]), float(p[2]), 0.0, 0.0, math.atan2(d[1], d[0]))
