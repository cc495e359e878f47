"""Spinning LiDAR by ray casting: range noise, dropout, intensity by material, rain.

One capture is a full sweep (channels x columns); output is CARLA's layout,
float32 (N, 4) x, y, z, intensity in the sensor frame.
"""

from __future__ import annotations

import numpy as np

from roadmind.frames import Pose
from sim.embedded.render.materials import REFLECTIVITY
from sim.embedded.render.rain import droplet_returns, rain_on_returns
from sim.embedded.render.raycast import RaycastWorld, fill_rays
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
        self._dirs_planar = np.ascontiguousarray(self.dirs_sensor.T)
        self._rays = np.empty((self.dirs_sensor.shape[0], 6), np.float32)  # reused per scan

    def scan(
        self, world: RaycastWorld, ego_pose: Pose, rng: np.random.Generator, rain: float = 0.0
    ) -> np.ndarray:
        """One sweep; ``rain`` 0-1 (``render/rain.py``): drops return some beams near the
        sensor, far returns weaken and the weakest are lost, ranges get noisier."""
        pose = ego_pose.compose(self.mount)
        rays = self._rays
        fill_rays(rays, pose.translation, pose.rotation, self._dirs_planar)
        hit_m, index = world.cast_rays(rays, range_m=self.config.range_m)
        cfg = self.config
        keep = np.flatnonzero(hit_m < cfg.range_m)
        if cfg.dropout > 0:
            keep = keep[rng.random(size=(hit_m.shape[0],))[keep] >= cfg.dropout]
        rows = index[keep]
        t = hit_m[keep]
        if cfg.range_noise_std_m > 0:
            t = t + rng.normal(0.0, cfg.range_noise_std_m, size=(t.shape[0],)).astype(np.float32)
        cos_incidence = np.abs(np.einsum("ij,ij->i", world.normal[rows], rays[keep, 3:]))
        intensity = (
            REFLECTIVITY[world.material[rows]]
            * (0.3 + 0.7 * cos_incidence)
            * np.exp(-ATTENUATION_PER_M * t)
        )
        if rain > 0.0:
            kept, t, intensity = rain_on_returns(t, intensity, rain, rng)
            keep = keep[kept]
            drops, drop_m, drop_intensity = droplet_returns(hit_m.shape[0], hit_m, rain, rng)
            surface = ~np.isin(keep, drops)  # a beam a drop returned sees no surface
            keep = np.concatenate([keep[surface], drops])
            t = np.concatenate([t[surface], drop_m])
            intensity = np.concatenate([intensity[surface], drop_intensity])
        points = np.empty((t.shape[0], 4), dtype=np.float32)
        points[:, :3] = self.dirs_sensor[keep] * t[:, None]
        points[:, 3] = np.clip(intensity, 0.0, 1.0)
        return points
