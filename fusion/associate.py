"""Camera-LiDAR association: each LiDAR box is projected into the image with the
camera's calibration, and camera detections are paired with the projections by the
Hungarian method (scipy) on overlap (IoU). Pairs take their class from the camera and
their position, extent and heading from LiDAR; the rest stay camera-only or
LiDAR-only. Signs and lights are never LiDAR objects, so they are not paired."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from roadmind.messages import CameraImage, Detection2D, LidarObject, ObjectClass

MIN_DEPTH_M = 0.1  # corners nearer the image plane than this are pushed onto it
PAIRABLE = (ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN)


@dataclass(frozen=True, slots=True)
class Association:
    """Indices into the detections and LiDAR objects that were given."""

    pairs: tuple[tuple[int, int], ...]  # (detection, LiDAR object)
    camera_only: tuple[int, ...]
    lidar_only: tuple[int, ...]


_CORNER_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])


def _corners(center_m: np.ndarray, extent_m: np.ndarray, yaw_rad: np.ndarray) -> np.ndarray:
    """(N, 8, 3) corners of N boxes: centres and half sizes (N, 3), yaws (N,)."""
    local = _CORNER_SIGNS[None, :, :] * extent_m[:, None, :]
    c, s = np.cos(yaw_rad)[:, None], np.sin(yaw_rad)[:, None]
    x = local[:, :, 0] * c - local[:, :, 1] * s
    y = local[:, :, 0] * s + local[:, :, 1] * c
    return np.stack([x, y, local[:, :, 2]], axis=2) + center_m[:, None, :]


def project_to_image(points_ego: np.ndarray, camera: CameraImage) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) pixel coordinates (u right, v down) and (N,) depths of ego-frame points."""
    cam = camera.sensor_to_ego.inverse_transform_points(points_ego)  # x forward, y right, z up
    k = camera.intrinsics
    depth = cam[:, 0]
    safe = np.maximum(depth, MIN_DEPTH_M)
    u = k[0, 2] + k[0, 0] * cam[:, 1] / safe
    v = k[1, 2] - k[1, 1] * cam[:, 2] / safe
    return np.stack([u, v], axis=1), depth


def projected_box(obj: LidarObject, camera: CameraImage) -> np.ndarray | None:
    """(4,) x0, y0, x1, y1 of the box's image, clipped; None when it is not in view."""
    return projected_boxes([obj], camera)[0]


def projected_boxes(objects: Sequence[LidarObject], camera: CameraImage) -> list[np.ndarray | None]:
    """``projected_box`` of every object, projected in one pass."""
    if not objects:
        return []
    corners = _corners(
        np.array([o.center_m for o in objects]),
        np.array([o.extent_m for o in objects]),
        np.array([o.yaw_rad for o in objects]),
    )
    px, depth = project_to_image(corners.reshape(-1, 3), camera)
    px, depth = px.reshape(-1, 8, 2), depth.reshape(-1, 8)
    height, width = camera.bgra.shape[:2]
    low = np.clip(px.min(axis=1), 0, [width, height])
    high = np.clip(px.max(axis=1), 0, [width, height])
    visible = np.any(depth > MIN_DEPTH_M, axis=1) & np.all(high - low >= 1.0, axis=1)
    return [
        np.concatenate([lo, hi]) if ok else None
        for lo, hi, ok in zip(low, high, visible, strict=True)
    ]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def associate(
    detections: Sequence[Detection2D],
    objects: Sequence[LidarObject],
    camera: CameraImage,
    min_iou: float = 0.25,
) -> Association:
    """Pair this camera's vehicle and pedestrian detections with LiDAR boxes."""
    det_idx = [
        i
        for i, d in enumerate(detections)
        if d.camera == camera.name and d.object_class in PAIRABLE
    ]
    boxes = projected_boxes(objects, camera)
    obj_idx = [j for j, b in enumerate(boxes) if b is not None]
    pairs: list[tuple[int, int]] = []
    if det_idx and obj_idx:
        overlap = np.array(
            [[iou(detections[i].xyxy_px, boxes[j]) for j in obj_idx] for i in det_idx]  # type: ignore[arg-type]
        )
        rows, cols = linear_sum_assignment(-overlap)
        pairs = [
            (det_idx[r], obj_idx[c])
            for r, c in zip(rows, cols, strict=True)
            if overlap[r, c] >= min_iou
        ]
    paired_det = {p[0] for p in pairs}
    paired_obj = {p[1] for p in pairs}
    return Association(
        tuple(sorted(pairs)),
        tuple(i for i in range(len(detections)) if i not in paired_det),
        tuple(j for j in range(len(objects)) if j not in paired_obj),
    )
