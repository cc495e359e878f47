"""Pinhole camera by ray casting: shading, textured sign faces, sky and haze.

Output is CARLA's layout, BGRA uint8 (H, W, 4), plus the per-pixel object id that
ground truth turns into visible 2D boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roadmind.frames import Pose
from roadmind.messages import camera_intrinsics
from sim.embedded.render.headlights import BEAM_RGB, headlight_light
from sim.embedded.render.rain import STREAK_ALPHA, streak_pixels
from sim.embedded.render.raycast import MISS, RaycastWorld, fill_rays
from sim.embedded.render.textures import TextureAtlas
from sim.lighting import Lighting
from sim.rig import CameraConfig


@dataclass
class CameraRender:
    bgra: np.ndarray  # (H, W, 4) uint8
    object_id: np.ndarray  # (H, W) int32, 0 where no object
    depth_m: np.ndarray  # (H, W) float32 ray distance, inf for sky


class Camera:
    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self.mount: Pose = config.pose.to_pose()
        w, h = config.width_px, config.height_px
        k = camera_intrinsics(w, h, config.fov_deg)
        self.focal_px = float(k[0, 0])
        u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
        # CARLA camera axes: x forward, y right (image u), z up (minus image v).
        dirs = np.stack(
            [np.ones_like(u), (u - k[0, 2]) / self.focal_px, -(v - k[1, 2]) / self.focal_px], -1
        ).reshape(-1, 3)
        self.dirs_sensor = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
        # Per-frame work is planar (one contiguous row per channel): numpy is several
        # times faster on that than on (N, 3) rows. Buffers are reused across frames.
        self._dirs_planar = np.ascontiguousarray(self.dirs_sensor.T)
        self._rays = np.empty((w * h, 6), np.float32)  # what Open3D reads
        self._rgb = np.empty((3, w * h), np.float32)
        self._sky_key: tuple[int, float, float] | None = None
        self._sky_cache = np.zeros((3, 0), np.float32)

    def world_pose(self, ego_pose: Pose) -> Pose:
        return ego_pose.compose(self.mount)

    def render(
        self,
        world: RaycastWorld,
        ego_pose: Pose,
        lighting: Lighting,
        atlas: TextureAtlas,
        rng: np.random.Generator,
    ) -> CameraRender:
        if world.lighting is not lighting:
            world.set_lighting(lighting)
        pose = self.world_pose(ego_pose)
        origin = pose.translation.astype(np.float32)
        rays = self._rays
        fill_rays(rays, origin, pose.rotation, self._dirs_planar)
        dirs = rays[:, 3:]
        t, index = world.cast_rays(rays, self._actor_pixels(world, pose), self.config.range_m)
        index = index.astype(np.intp)  # once, not in every gather below
        # Lighting is per triangle (see render/shading.py): a pixel just looks up its
        # colour, in a table of the triangles hit (``local``: a pixel's row in it).
        local, colour, light = world.shade_hits(origin, index)
        table = np.ascontiguousarray(colour.T * np.float32(255.0))
        rgb = self._rgb
        for c in range(3):
            np.take(table[c], local, out=rgb[c])
        textured = np.flatnonzero(world.face_slot[index] >= 0)
        tex = np.zeros((0, 3), np.float32)
        if textured.size:
            tri = index[textured]
            tex = self._texture(
                world, atlas, origin, dirs[textured], t[textured], world.face_slot[tri]
            )
            rgb[:, textured] = (tex * light[local[textured]] * np.float32(255.0)).T
        if lighting.headlights:
            self._headlights(
                world,
                ego_pose,
                origin,
                dirs,
                t,
                index,
                local,
                colour / np.maximum(light, 1e-4),
                textured,
                tex,
            )
        # Haze: blend towards the horizon by 1 - exp(-t / visibility); sky (inf) after.
        keep = np.exp(t * np.float32(-1.0 / lighting.visibility_m))
        horizon = (lighting.sky_horizon_rgb * np.float32(255.0))[:, None]
        rgb -= horizon
        rgb *= keep
        rgb += horizon
        miss = index == MISS
        sky = self._sky(lighting, dirs, pose)
        for c in range(3):
            np.copyto(rgb[c], sky[c], where=miss)
        if lighting.rain > 0.0:  # streaks of falling drops, lit like the sky's horizon
            streaks = streak_pixels(self.config.width_px, self.config.height_px, lighting.rain, rng)
            bright = lighting.sky_horizon_rgb * np.float32(0.8 * 255.0) + np.float32(50.0)
            rgb[:, streaks] += STREAK_ALPHA * (bright[:, None] - rgb[:, streaks])
        if self.config.noise_std > 0:
            rgb += rng.normal(0.0, self.config.noise_std, rgb.shape[::-1]).astype(np.float32).T
        np.clip(rgb, 0.0, 255.0, out=rgb)
        h, w = self.config.height_px, self.config.width_px
        bgra = np.empty((h * w, 4), dtype=np.uint8)
        for c in range(3):
            bgra[:, 2 - c] = rgb[c]  # truncates like astype(uint8)
        bgra[:, 3] = 255
        object_id = world.object_id[index].reshape(h, w)
        return CameraRender(bgra.reshape(h, w, 4), object_id, t.reshape(h, w))

    def _headlights(
        self,
        world: RaycastWorld,
        ego_pose: Pose,
        origin: np.ndarray,
        dirs: np.ndarray,
        t: np.ndarray,
        index: np.ndarray,
        local: np.ndarray,
        albedo: np.ndarray,
        textured: np.ndarray,
        tex: np.ndarray,
    ) -> None:
        """Add the ego's beams to ``self._rgb`` on every pixel that hit a surface;
        ``albedo`` (K, 3) per row of the frame's colour table, ``tex`` the textured
        pixels' own colours."""
        hit = index != MISS
        pixel_albedo = albedo[local]
        pixel_albedo[textured] = tex
        rows = np.flatnonzero(hit)
        tri = index[rows]
        points = origin.astype(np.float64) + dirs[rows] * t[rows, None]
        beam = headlight_light(ego_pose, points, world.normal[tri], world.material[tri])
        add = pixel_albedo[rows] * (beam[:, None] * BEAM_RGB * np.float32(255.0))
        self._rgb[:, rows] += add.T

    def _actor_pixels(self, world: RaycastWorld, pose: Pose) -> np.ndarray | None:
        """Pixel indices inside any actor's projected box; None: every pixel may see one."""
        w, h = self.config.width_px, self.config.height_px
        mask = np.zeros((h, w), dtype=bool)
        for corners in world.actor_corners:
            local = pose.inverse_transform_points(corners)
            if np.all(local[:, 0] <= 0.05):
                continue  # entirely behind the camera
            if np.any(local[:, 0] <= 0.05):
                return None  # straddles the image plane: project nothing, cast everything
            u = w / 2 + self.focal_px * local[:, 1] / local[:, 0]
            v = h / 2 - self.focal_px * local[:, 2] / local[:, 0]
            x0, x1 = int(max(0, np.floor(u.min()))), int(min(w, np.ceil(u.max())))
            y0, y1 = int(max(0, np.floor(v.min()))), int(min(h, np.ceil(v.max())))
            if x0 < x1 and y0 < y1:
                mask[y0:y1, x0:x1] = True
        return np.flatnonzero(mask)

    def _sky(self, lighting: Lighting, dirs: np.ndarray, pose: Pose) -> np.ndarray:
        """Sky (3, N) in 0-255: it depends only on the view elevation, so it is cached
        while the camera does not tilt."""
        key = (id(lighting), round(pose.roll_rad, 4), round(pose.pitch_rad, 4))
        if self._sky_key != key:
            self._sky_cache = np.ascontiguousarray((lighting.sky(dirs) * 255.0).T, np.float32)
            self._sky_key = key
        return self._sky_cache

    def _texture(
        self,
        world: RaycastWorld,
        atlas: TextureAtlas,
        origin: np.ndarray,
        dirs: np.ndarray,
        t: np.ndarray,
        slot: np.ndarray,
    ) -> np.ndarray:
        faces = world.faces
        o = np.array([f.origin for f in faces])[slot]
        ua = np.array([f.u_axis for f in faces])[slot]
        va = np.array([f.v_axis for f in faces])[slot]
        w = np.array([f.width_m for f in faces])[slot]
        h = np.array([f.height_m for f in faces])[slot]
        tile = np.array([f.tile for f in faces])[slot]
        rel = origin + dirs * t[:, None] - o
        u = np.einsum("ij,ij->i", rel, ua) / w
        v = np.einsum("ij,ij->i", rel, va) / h
        footprint = t / self.focal_px / np.minimum(w, h) * atlas.px
        return atlas.sample(tile, u, v, footprint)
