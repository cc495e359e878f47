"""Poses and rigid transforms in CARLA's frame (x forward, y right, z up; left-handed).

Angles are radians inside roadmind. The rotation matrix follows CARLA/Unreal:
positive yaw turns x towards y (to the right, seen from above), positive pitch
lifts the nose, positive roll lowers the right side... exactly as
``carla.Transform.get_matrix`` so that poses round-trip with CARLA byte for byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def rotation_matrix(roll_rad: float, pitch_rad: float, yaw_rad: float) -> np.ndarray:
    """(3, 3) rotation taking local vectors into the parent frame (CARLA convention)."""
    cr, sr = math.cos(roll_rad), math.sin(roll_rad)
    cp, sp = math.cos(pitch_rad), math.sin(pitch_rad)
    cy, sy = math.cos(yaw_rad), math.sin(yaw_rad)
    return np.array(
        [
            [cp * cy, cy * sp * sr - sy * cr, -cy * sp * cr - sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, -sy * sp * cr + cy * sr],
            [sp, -cp * sr, cp * cr],
        ],
        dtype=np.float64,
    )


@dataclass(frozen=True, slots=True)
class Pose:
    """Position [m] and orientation [rad] of a child frame in its parent frame."""

    x_m: float = 0.0
    y_m: float = 0.0
    z_m: float = 0.0
    roll_rad: float = 0.0
    pitch_rad: float = 0.0
    yaw_rad: float = 0.0

    def __post_init__(self) -> None:
        for name in ("x_m", "y_m", "z_m", "roll_rad", "pitch_rad", "yaw_rad"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"Pose.{name} must be finite, got {value}")

    @property
    def translation(self) -> np.ndarray:
        """(3,) float64 position [m]."""
        return np.array([self.x_m, self.y_m, self.z_m], dtype=np.float64)

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) float64 rotation matrix."""
        return rotation_matrix(self.roll_rad, self.pitch_rad, self.yaw_rad)

    def matrix(self) -> np.ndarray:
        """(4, 4) float64 homogeneous transform child -> parent."""
        out = np.eye(4)
        out[:3, :3] = self.rotation
        out[:3, 3] = self.translation
        return out

    def transform_points(self, points: np.ndarray) -> np.ndarray:
        """Map (N, 3) points from the child frame into the parent frame."""
        return points @ self.rotation.T + self.translation

    def inverse_transform_points(self, points: np.ndarray) -> np.ndarray:
        """Map (N, 3) points from the parent frame into the child frame."""
        return (points - self.translation) @ self.rotation

    def compose(self, child: Pose) -> Pose:
        """Pose of ``child`` (given in this pose's frame) in this pose's parent frame."""
        return Pose.from_matrix(self.matrix() @ child.matrix())

    @property
    def forward(self) -> np.ndarray:
        """(3,) unit x axis of the child frame in the parent frame."""
        return self.rotation[:, 0]

    @staticmethod
    def from_matrix(matrix: np.ndarray) -> Pose:
        """Inverse of :meth:`matrix` for a rigid (4, 4) transform."""
        rot = matrix[:3, :3]
        if not np.allclose(rot @ rot.T, np.eye(3), atol=1e-6) or not np.isclose(
            np.linalg.det(rot), 1.0, atol=1e-6
        ):
            raise ValueError("matrix is not a rigid transform (rotation not orthonormal)")
        pitch = math.asin(max(-1.0, min(1.0, rot[2, 0])))
        yaw = math.atan2(rot[1, 0], rot[0, 0])
        roll = math.atan2(-rot[2, 1], rot[2, 2])
        x, y, z = (float(v) for v in matrix[:3, 3])
        return Pose(x, y, z, roll, pitch, yaw)

    @staticmethod
    def from_carla_degrees(
        x_m: float, y_m: float, z_m: float, roll_deg: float, pitch_deg: float, yaw_deg: float
    ) -> Pose:
        """Build from the degree-valued angles that CARLA's API uses."""
        return Pose(
            x_m, y_m, z_m, math.radians(roll_deg), math.radians(pitch_deg), math.radians(yaw_deg)
        )
