"""A second, closer look: a LiDAR object that no camera box explains and that is small
in a camera's image gets the detector again, on a crop around its projection scaled
up (a pedestrian 25 m away is 13 px tall in a 120-degree 640 px camera; four times
larger, the detector finds it; the detector enlarges the crop 1.3x more, as it does
every input). Only where LiDAR says something is there, so the cost
stays bounded and the crop cannot invent objects elsewhere: at LiDAR objects, and at
returns too few to cluster (a pedestrian 40 m away catches one or two), which get a
pedestrian-sized probe box. The camera still decides the class: a look that finds
nothing adds nothing."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import cv2
import numpy as np

from fusion.associate import PAIRABLE, iou, projected_boxes
from fusion.config import SecondLookConfig
from roadmind.messages import CameraImage, Detection2D, LidarObject

Detect = Callable[[np.ndarray, str], tuple[Detection2D, ...]]  # (BGRA, camera) -> boxes
EXPLAINED_IOU = 0.1  # a camera box overlapping a projection this much already explains it
PROBE_CELL_M = 1.0  # sparse returns in one such cell share a probe
PROBE_HALF_EXTENT_M = np.array([0.3, 0.3, 0.9])  # a standing person
PROBE_HEIGHTS_M = (0.3, 2.2)  # returns above the ground a person could give


def look_again(
    views: Mapping[str, tuple[CameraImage, Sequence[Detection2D]]],
    objects: Sequence[LidarObject],
    detect: Detect,
    config: SecondLookConfig,
) -> dict[str, list[Detection2D]]:
    """New detections per camera from upscaled crops, nearest unexplained objects first."""
    ranges_m = [math.hypot(o.center_m[0], o.center_m[1]) for o in objects]
    near = [(r, o) for r, o in zip(ranges_m, objects, strict=True) if r <= config.max_range_m]
    candidates: list[tuple[float, str, np.ndarray]] = []
    for name, (image, detections) in views.items():
        pairable = [d.xyxy_px for d in detections if d.object_class in PAIRABLE]
        boxes = projected_boxes([o for _, o in near], image)
        for (range_m, _), box in zip(near, boxes, strict=True):
            if box is None or box[3] - box[1] > config.max_box_px:
                continue
            if not any(iou(d, box) >= EXPLAINED_IOU for d in pairable):
                candidates.append((range_m, name, box))
    candidates.sort(key=lambda c: c[0])
    found: dict[str, list[Detection2D]] = {}
    for _, name, box in candidates[: config.max_looks]:
        image = views[name][0]
        hit = _look(image, box, detect, config)
        added = found.setdefault(name, [])
        if hit is not None and not any(iou(hit.xyxy_px, d.xyxy_px) > 0.5 for d in added):
            added.append(hit)
    return {name: hits for name, hits in found.items() if hits}


def crop_for(
    box: np.ndarray, height_px: int, width_px: int, config: SecondLookConfig
) -> tuple[int, int, int]:
    """(u0, v0, side) of the square crop around a projected box, inside the frame."""
    side = int(np.clip(config.context * (box[3] - box[1]), config.min_crop_px, config.crop_px))
    side = min(side, height_px, width_px)
    u0 = int(np.clip(round((box[0] + box[2] - side) / 2), 0, width_px - side))
    v0 = int(np.clip(round((box[1] + box[3] - side) / 2), 0, height_px - side))
    return u0, v0, side


def _look(
    image: CameraImage, box: np.ndarray, detect: Detect, config: SecondLookConfig
) -> Detection2D | None:
    """The surest road user the crop shows whose centre lies on the projection."""
    height, width = image.bgra.shape[:2]
    u0, v0, side = crop_for(box, height, width, config)
    scale = config.crop_px / side
    crop = image.bgra[v0 : v0 + side, u0 : u0 + side]
    big = cv2.resize(crop, (config.crop_px, config.crop_px), interpolation=cv2.INTER_LINEAR)
    # the projection of a 3D box is looser than the object's image: a quarter of slack
    pad = 0.25 * np.array([box[0] - box[2], box[1] - box[3], box[2] - box[0], box[3] - box[1]])
    lo, hi = box[:2] + pad[:2], box[2:] + pad[2:]
    best: Detection2D | None = None
    for det in detect(np.ascontiguousarray(big), image.name):
        if det.object_class not in PAIRABLE:
            continue
        xyxy = det.xyxy_px / scale + [u0, v0, u0, v0]
        centre = (xyxy[:2] + xyxy[2:]) / 2
        on_it = bool(np.all(centre >= lo) and np.all(centre <= hi))
        if on_it and (best is None or det.score > best.score):
            best = Detection2D(image.name, det.object_class, xyxy, det.score)
    return best


def sparse_probes(
    points_m: np.ndarray,
    height_m: np.ndarray,
    labels: np.ndarray,
    is_ground: np.ndarray,
    config: SecondLookConfig,
) -> list[LidarObject]:
    """Person-sized boxes standing on the ground at the returns no cluster took, from
    ``probe_min_range_m`` (nearer, anything real clusters) to ``max_range_m``."""
    range_m = np.hypot(points_m[:, 0], points_m[:, 1])
    low_m, high_m = PROBE_HEIGHTS_M
    keep = (labels < 0) & ~is_ground & (height_m > low_m) & (height_m < high_m)
    keep &= (range_m >= config.probe_min_range_m) & (range_m <= config.max_range_m)
    if not keep.any():
        return []
    xy, ground_z = points_m[keep, :2], points_m[keep, 2] - height_m[keep]
    cells = np.floor(xy / PROBE_CELL_M).astype(np.int64)
    _, cell, count = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
    cell = cell.ravel()
    centre_xy = np.stack([np.bincount(cell, xy[:, i]) for i in (0, 1)], axis=1) / count[:, None]
    floor_z = np.bincount(cell, ground_z) / count
    return [
        LidarObject(
            np.array([x, y, z + PROBE_HALF_EXTENT_M[2]]), PROBE_HALF_EXTENT_M.copy(), 0.0, int(n)
        )
        for (x, y), z, n in zip(centre_xy, floor_z, count, strict=True)
    ]
