"""Scores on labelled KITTI-format frames: the stack's objects against the labels by
bird's-eye centre distance (<= 2 m, one to one, Hungarian), per class and range band.
Only what camera 2 can see counts (KITTI labels what the camera sees), so predictions
outside its horizontal field of view are not judged."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

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
