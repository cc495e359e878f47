"""Spinning LiDAR by ray casting: range noise, dropout, intensity by material.

One capture is a full sweep (channels x columns); output is CARLA's layout,
float32 (N, 4) x, y, z, intensity in the sensor frame.
"""

from __future__ import annotations

import numpy as np

from roadmind.frames import Pose
from sim.materials import REFLECTIVITY
from sim.raycast import RaycastWorld
from sim.rig import LidarConfig

ATTENUATION_PER_M = 0.004  # CARLA's default atmosphere attenuation rate


class Lidar:
    def __init__(self, config: LidarConfig) -> None:
        self.config = config
        self.mount: Pose = config.pose.to_pose()
        elev = np.radians(np.linspace(config.lower_fov_deg, config.upper_fov_deg, config.channels))
        azim = np.linspace(0.0, 2.0 * np.pi, config.columns, endpoint=False)
        el, az = np.meshgrid(elev, azim, indexing="ij")
        self.dirs_sensor = np.stack(
            [np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], -1
        ).reshape(-1, 3)

    def scan(self, world: RaycastWorld, ego_pose: Pose, rng: np.random.Generator) -> np.ndarray:
        pose = ego_pose.compose(self.mount)
        dirs = (self.dirs_sensor @ pose.rotation.T).astype(np.float32)
        hits = world.cast(pose.translation.astype(np.float32), dirs)
        cfg = self.config
        keep = hits.t < cfg.range_m
        if cfg.dropout > 0:
            keep &= rng.random(keep.shape[0]) >= cfg.dropout
        t = hits.t[keep]
        if cfg.range_noise_std_m > 0:
            t = t + rng.normal(0.0, cfg.range_noise_std_m, t.shape[0]).astype(np.float32)
        cos_incidence = np.abs(np.einsum("ij,ij->i", hits.normal[keep], dirs[keep]))
        intensity = (
            REFLECTIVITY[hits.material[keep]]
            * (0.3 + 0.7 * cos_incidence)
            * np.exp(-ATTENUATION_PER_M * t)
        )
        points = np.empty((t.shape[0], 4), dtype=np.float32)
        points[:, :3] = self.dirs_sensor[keep] * t[:, None]
        points[:, 3] = np.clip(intensity, 0.0, 1.0)
        return points
