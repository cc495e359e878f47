"""Shared fixtures: a small sensor rig keeps world tests fast on two cores."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.rig import CameraConfig, LidarConfig, MountPose, RigConfig

REPO = Path(__file__).resolve().parent.parent


def _shared_maps() -> Path:
    """CARLA's town maps in ``shared/maps`` beside the checkout or a folder above it
    (a worktree sits deeper); tests that need them skip when there are none."""
    for folder in REPO.parents:
        if (folder / "shared" / "maps").is_dir():
            return folder / "shared" / "maps"
    return REPO.parent / "shared" / "maps"


SHARED_MAPS = _shared_maps()


@pytest.fixture(scope="session")
def carla_town():
    """``carla_town("Town01")``: the path of a CARLA town's .xodr, or the test skips."""

    def find(name: str) -> Path:
        path = SHARED_MAPS / f"{name}.xodr"
        if not path.is_file():
            pytest.skip(f"CARLA town {name} not in {SHARED_MAPS}")
        return path

    return find


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
