"""Shared fixtures: a small sensor rig keeps world tests fast on two cores."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.rig import CameraConfig, LidarConfig, MountPose, RigConfig

REPO = Path(__file__).resolve().parent.parent
SHARED_MAPS = REPO.parent / "shared" / "maps"


@pytest.fixture(scope="session")
def small_rig() -> RigConfig:
    return RigConfig(
        cameras=[
            CameraConfig(
                name="front",
                width_px=480,
                height_px=270,
                fov_deg=70,
                pose=MountPose(x_m=0.8, z_m=1.6, pitch_deg=-2.0),
            )
        ],
        lidars=[
            LidarConfig(name="top", channels=16, columns=512, rate_hz=20.0, pose=MountPose(z_m=2.0))
        ],
    )
