"""Visible 2D boxes per camera from the ray-cast object ids.

Occlusion compares an object's visible pixels with its unoccluded silhouette, found
by casting the rays inside its projected box against that object alone (every
second pixel, scaled). Truncation compares the projected 3D box with its part
inside the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import open3d as o3d

from roadmind.frames import Pose
from roadmind.messages import Box2DTruth, ObjectClass
from sim.embedded.render.camera import Camera
from sim.embedded.render.mesh import Mesh

MIN_VISIBLE_PX = 12
SILHOUETTE_STRIDE = 2


@dataclass
class GtObject:
    """An object that can get a 2D box: its mesh in its own frame and where that frame is."""

    object_id: int
    object_class: ObjectClass
    local_mesh: Mesh
    local_corners: np.ndarray  # (8, 3) box corners in the object's frame
    _scene: o3d.t.geometry.RaycastingScene | None = None

    def scene(self) -> o3d.t.geometry.RaycastingScene:
        if self._scene is None:
            self._scene = o3d.t.geometry.RaycastingScene()
            tmesh = o3d.t.geometry.TriangleMesh()
            tmesh.vertex.positions = o3d.core.Tensor(self.local_mesh.vertices.astype(np.float32))
            tmesh.triangle.indices = o3d.core.Tensor(self.local_mesh.triangles.astype(np.int32))
            self._scene.add_triangles(tmesh)
        return self._scene


def _visible_boxes(object_id: np.ndarray) -> dict[int, tuple[int, np.ndarray]]:
    """Object id -> (pixel count, xyxy of its pixels) for every id in the image."""
    w = object_id.shape[1]
    flat = object_id.ravel()
    idx = np.flatnonzero(flat)
    if idx.size == 0:
        return {}
    ids = flat[idx]
    order = np.argsort(ids, kind="stable")
    ids, idx = ids[order], idx[order]
    starts = np.flatnonzero(np.concatenate([[True], ids[1:] != ids[:-1]]))
    ys, xs = idx // w, idx % w
    counts = np.diff(np.append(starts, ids.size))
    x0, x1 = np.minimum.reduceat(xs, starts), np.maximum.reduceat(xs, starts)
    y0, y1 = np.minimum.reduceat(ys, starts), np.maximum.reduceat(ys, starts)
    return {
        int(ids[s]): (int(c), np.array([a, b, e + 1, f + 1], dtype=np.float64))
        for s, c, a, b, e, f in zip(starts, counts, x0, y0, x1, y1, strict=True)
    }


def boxes_2d(
    camera: Camera, cam_pose: Pose, object_id: np.ndarray, objects: list[tuple[GtObject, Pose]]
) -> tuple[Box2DTruth, ...]:
    """Boxes of the objects seen by ``camera``; ``objects`` pairs each with its world pose."""
    visible = _visible_boxes(object_id)
    cfg = camera.config
    w, h = cfg.width_px, cfg.height_px
    f = camera.focal_px
    out: list[Box2DTruth] = []
    for obj, pose in objects:
        seen = visible.get(obj.object_id)
        if seen is None or seen[0] < MIN_VISIBLE_PX:
            continue
        count, xyxy = seen
        corners_cam = cam_pose.inverse_transform_points(pose.transform_points(obj.local_corners))
        depth = np.maximum(corners_cam[:, 0], 0.05)
        u = w / 2 + f * corners_cam[:, 1] / depth
        v = h / 2 - f * corners_cam[:, 2] / depth
        full = np.array([u.min(), v.min(), u.max(), v.max()])
        clipped = np.clip(full, [0, 0, 0, 0], [w, h, w, h])
        full_area = max((full[2] - full[0]) * (full[3] - full[1]), 1e-6)
        clip_area = max((clipped[2] - clipped[0]) * (clipped[3] - clipped[1]), 0.0)
        truncation = float(np.clip(1.0 - clip_area / full_area, 0.0, 1.0))
        silhouette = _silhouette_px(camera, cam_pose, obj, pose, clipped)
        occlusion = float(np.clip(1.0 - count / max(silhouette, count, 1), 0.0, 1.0))
        out.append(Box2DTruth(obj.object_id, obj.object_class, xyxy, count, occlusion, truncation))
    return tuple(out)


def _silhouette_px(
    camera: Camera, cam_pose: Pose, obj: GtObject, pose: Pose, box: np.ndarray
) -> float:
    w = camera.config.width_px
    x0, y0 = int(box[0]), int(box[1])
    x1, y1 = int(np.ceil(box[2])), int(np.ceil(box[3]))
    ys, xs = np.mgrid[y0:y1:SILHOUETTE_STRIDE, x0:x1:SILHOUETTE_STRIDE]
    pix = (ys * w + xs).ravel()
    if pix.size == 0:
        return 0.0
    dirs_world = camera.dirs_sensor[pix] @ cam_pose.rotation.T
    dirs_local = dirs_world @ pose.rotation
    origin_local = pose.inverse_transform_points(cam_pose.translation[None, :])[0]
    rays = np.empty((pix.size, 6), dtype=np.float32)
    rays[:, :3] = origin_local
    rays[:, 3:] = dirs_local
    hits = obj.scene().test_occlusions(o3d.core.Tensor(rays)).numpy()
    return float(hits.sum()) * SILHOUETTE_STRIDE * SILHOUETTE_STRIDE
