"""Sensor rig configuration: cameras and LiDARs mounted on the ego (CARLA axes)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import Field, model_validator

from roadmind.config import StrictModel, load_model
from roadmind.frames import Pose
from roadmind.resources import configs_dir

RIGS_DIR = configs_dir() / "rigs"


class MountPose(StrictModel):
    """Sensor pose in the ego frame: metres and CARLA's degrees, or, as calibration
    tools write it, a 4x4 sensor-to-ego ``matrix`` (which must be a rigid transform)."""

    x_m: float = 0.0
    y_m: float = 0.0
    z_m: float = 0.0
    roll_deg: float = 0.0
    pitch_deg: float = 0.0
    yaw_deg: float = 0.0
    matrix: list[list[float]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_matrix(cls, data: object) -> object:
        if not isinstance(data, dict) or data.get("matrix") is None:
            return data
        others = sorted(k for k in data if k != "matrix")
        if others:
            raise ValueError(f"give either matrix or {', '.join(others)}, not both")
        try:
            m = np.asarray(data["matrix"], dtype=np.float64)
        except (TypeError, ValueError):  # a mapping, ragged rows, words
            raise ValueError("matrix must be 4x4 finite numbers (four rows of four)") from None
        if m.shape != (4, 4) or not np.all(np.isfinite(m)):
            raise ValueError(f"matrix must be 4x4 finite numbers, got shape {m.shape}")
        if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0]):
            raise ValueError(f"matrix last row must be [0, 0, 0, 1], got {m[3].tolist()}")
        try:
            pose = Pose.from_matrix(m)
        except ValueError:
            det = float(np.linalg.det(m[:3, :3]))
            raise ValueError(
                "matrix is not a rigid transform: its 3x3 rotation must be orthonormal "
                f"with determinant +1 (got determinant {det:.4f})"
            ) from None
        return {
            "x_m": pose.x_m,
            "y_m": pose.y_m,
            "z_m": pose.z_m,
            "roll_deg": math.degrees(pose.roll_rad),
            "pitch_deg": math.degrees(pose.pitch_rad),
            "yaw_deg": math.degrees(pose.yaw_rad),
        }

    def to_pose(self) -> Pose:
        return Pose.from_carla_degrees(
            self.x_m, self.y_m, self.z_m, self.roll_deg, self.pitch_deg, self.yaw_deg
        )


class CameraConfig(StrictModel):
    name: str = "front"
    width_px: int = Field(960, ge=16, le=8192)
    height_px: int = Field(540, ge=16, le=8192)
    fov_deg: float = Field(70.0, gt=1.0, lt=179.0)
    pose: MountPose = MountPose(x_m=0.8, z_m=1.6)
    rate_hz: float = Field(20.0, gt=0.0, le=1000.0)
    noise_std: float = Field(0.0, ge=0.0, le=64.0)  # Gaussian pixel noise, 0-255 scale
    # Far plane: nothing at or beyond it is drawn (sky, haze colour below the horizon),
    # and only the map within it is ray cast. None: the whole map.
    range_m: float | None = Field(None, gt=0.5, le=100_000.0)


class LidarConfig(StrictModel):
    name: str = "top"
    channels: int = Field(32, ge=1, le=512)
    columns: int = Field(1024, ge=8, le=16384)  # horizontal resolution per sweep
    upper_fov_deg: float = Field(10.0, ge=-90.0, le=90.0)
    lower_fov_deg: float = Field(-30.0, ge=-90.0, le=90.0)
    range_m: float = Field(80.0, gt=0.5, le=1000.0)
    pose: MountPose = MountPose(z_m=2.0)
    rate_hz: float = Field(10.0, gt=0.0, le=1000.0)
    range_noise_std_m: float = Field(0.02, ge=0.0, le=1.0)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _fov_order(self) -> LidarConfig:
        if self.lower_fov_deg >= self.upper_fov_deg:
            raise ValueError(
                f"lower_fov_deg ({self.lower_fov_deg}) must be below upper_fov_deg "
                f"({self.upper_fov_deg})"
            )
        return self


class RigConfig(StrictModel):
    cameras: list[CameraConfig] = [CameraConfig()]
    lidars: list[LidarConfig] = [LidarConfig()]

    @model_validator(mode="after")
    def _unique_names(self) -> RigConfig:
        names = [c.name for c in self.cameras] + [ld.name for ld in self.lidars]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"sensor names must be unique; repeated: {', '.join(dupes)}")
        return self


def resolve_rig_path(name_or_path: str, base_dir: Path | None = None) -> Path:
    """A rig given as a name in configs/rigs (``bench``) or a path to a YAML file;
    a relative path that does not exist here is tried under ``base_dir``."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        return RIGS_DIR / f"{name_or_path}.yaml"
    if not path.is_absolute() and base_dir is not None and not path.exists():
        return base_dir / path
    return path


def load_rig(path: Path) -> RigConfig:
    return load_model(RigConfig, path)
