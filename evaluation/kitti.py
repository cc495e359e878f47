"""Scores on labelled KITTI-format frames: the stack's objects against the labels by
bird's-eye centre distance (<= 2 m, one to one, Hungarian), per class and range band.
Only what camera 2 can see counts (KITTI labels what the camera sees), so predictions
outside its horizontal field of view are not judged."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from perception.kitti_labels import KITTI_CLASSES
from roadmind.messages import ActorTruth, BevObject, ObjectClass

MATCH_M = 2.0
BANDS = ((0.0, 20.0), (20.0, 35.0), (35.0, 50.0))
CLASSES = (ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN)


def band(range_m: float) -> str | None:
    for lo, hi in BANDS:
        if lo <= range_m < hi:
            return f"{lo:g}-{hi:g}m"
    return None


class KittiTally:
    def __init__(self) -> None:
        self.counts = {
            c.value: {f"{lo:g}-{hi:g}m": {"tp": 0, "fp": 0, "fn": 0} for lo, hi in BANDS}
            for c in CLASSES
        }
        self.frames = 0

    def add(
        self, truths: Sequence[ActorTruth], objects: Sequence[BevObject], fov_deg: float
    ) -> None:
        """One frame; ego at the origin, camera looking along +x (half the FOV each side)."""
        self.frames += 1
        half = math.radians(fov_deg) / 2.0
        for cls in CLASSES:
            gts = [t.pose.translation[:2] for t in truths if t.object_class is cls]
            preds = [
                o.position_m[:2]
                for o in objects
                if o.object_class is cls
                and abs(math.atan2(o.position_m[1], o.position_m[0])) <= half
            ]
            matched_gt: set[int] = set()
            matched_pred: set[int] = set()
            if gts and preds:
                dist = np.array([[float(np.hypot(*(g - p))) for p in preds] for g in gts])
                rows, cols = linear_sum_assignment(np.where(dist <= MATCH_M, dist, 1e6))
                for r, c in zip(rows, cols, strict=True):
                    if dist[r, c] <= MATCH_M:
                        matched_gt.add(int(r))
                        matched_pred.add(int(c))
            for i, g in enumerate(gts):
                b = band(float(np.hypot(*g)))
                if b is not None:
                    self.counts[cls.value][b]["tp" if i in matched_gt else "fn"] += 1
            for j, p in enumerate(preds):
                b = band(float(np.hypot(*p)))
                if b is not None and j not in matched_pred:
                    self.counts[cls.value][b]["fp"] += 1

    def report(self) -> dict[str, object]:
        out: dict[str, object] = {"frames": self.frames, "match": f"BEV centre <= {MATCH_M:g} m"}
        for cls, bands in self.counts.items():
            per: dict[str, dict[str, float | int | None]] = {}
            for b, c in bands.items():
                tp, fp, fn = c["tp"], c["fp"], c["fn"]
                per[b] = {
                    **c,
                    "precision": round(tp / (tp + fp), 3) if tp + fp else None,
                    "recall": round(tp / (tp + fn), 3) if tp + fn else None,
                }
            out[cls] = per
        return out


# 2D boxes in the image (``roadmind eval camera --kitti``)
IMAGE_IOU = 0.5


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of xyxy boxes (N, 4) and (M, 4)."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


class ImageBoxTally:
    """Found, missed and false boxes per class: labels of ``KITTI_CLASSES`` are truth, a
    detection matches one of its class at IoU >= 0.5 (surest first, each label once, as
    the PASCAL VOC and KITTI scorers match). Other labels (Cyclist, Misc, DontCare, ...)
    are not truth; a false box lying on one (IoU >= 0.5) is counted apart as well."""

    def __init__(self) -> None:
        self.counts = {
            c.value: {"found": 0, "missed": 0, "false": 0, "false_on_other_label": 0}
            for c in CLASSES
        }
        self.images = 0

    def add(
        self,
        labels: Sequence[tuple[str, np.ndarray]],
        detections: Sequence[tuple[ObjectClass, np.ndarray, float]],
    ) -> dict[str, dict[str, int]]:
        """One image's (KITTI type, xyxy) labels and (class, xyxy, score) detections;
        returns this image's counts."""
        self.images += 1
        others = np.array([b for k, b in labels if k not in KITTI_CLASSES]).reshape(-1, 4)
        image: dict[str, dict[str, int]] = {}
        for cls in CLASSES:
            truth = np.array([b for k, b in labels if KITTI_CLASSES.get(k) is cls]).reshape(-1, 4)
            dets = sorted((d for d in detections if d[0] is cls), key=lambda d: -d[2])
            boxes = np.array([d[1] for d in dets]).reshape(-1, 4)
            taken = np.zeros(len(truth), bool)
            false = []
            iou = box_iou(boxes, truth)
            for i in range(len(boxes)):
                free = np.where(taken, -1.0, iou[i]) if len(truth) else np.zeros(0)
                if len(free) and free.max() >= IMAGE_IOU:
                    taken[int(free.argmax())] = True
                else:
                    false.append(i)
            on_other = (
                int((box_iou(boxes[false], others).max(axis=1) >= IMAGE_IOU).sum())
                if false and len(others)
                else 0
            )
            counts = {
                "found": int(taken.sum()),
                "missed": int((~taken).sum()),
                "false": len(false),
                "false_on_other_label": on_other,
            }
            image[cls.value] = counts
            for key, value in counts.items():
                self.counts[cls.value][key] += value
        return image

    def report(self) -> dict[str, object]:
        return {
            "images": self.images,
            "match": f"2D IoU >= {IMAGE_IOU:g}, Car/Van/Truck -> vehicle, Pedestrian -> "
            "pedestrian, other labels not truth",
            **self.counts,
        }
