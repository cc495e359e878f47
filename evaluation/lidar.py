"""Score the LiDAR pipeline's objects against the ground truth of the frames they came
from (``loop.eval_runs.eval_lidar`` drives the scenarios and runs the pipeline).

Detections match truth of the same class by bird's-eye
centre distance (Hungarian). Only actors with at least ``min_points`` returns inside
their box count as truth; a detection matched to one with fewer is neither a true nor a
false positive (the sensor could not have seen it). Precision and recall per class and
range band (truth range for misses, detection range for false positives).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from roadmind.frames import Pose
from roadmind.messages import ActorTruth, LidarObject, ObjectClass, SensorFrame

CLASSES = (ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN)
BANDS_M = ((0.0, 20.0), (20.0, 40.0), (40.0, 60.0))
MATCH_RADIUS_M = 2.0
MIN_TRUTH_POINTS = 5
GROUND_CLEARANCE_M = 0.2  # returns this close to a box's floor are the road, not the actor
BOX_MARGIN_M = 0.1


@dataclass(frozen=True, slots=True)
class Target:
    band: str  # range band [m], e.g. "0-40"
    recall: float
    precision: float


TARGETS = {"vehicle": Target(band="0-40", recall=0.95, precision=0.90)}


@dataclass(frozen=True, slots=True)
class TruthBox:
    """An actor in the ego frame with the number of scan returns inside its box."""

    object_class: ObjectClass
    center_m: np.ndarray  # (3,)
    returns: int


def truth_in_ego(
    actors: Sequence[ActorTruth], ego_pose: Pose, points_ego: np.ndarray, max_range_m: float
) -> list[TruthBox]:
    """Actors within range, in the ego frame, with their LiDAR return counts."""
    points_world = ego_pose.transform_points(points_ego)
    out = []
    for actor in actors:
        center = ego_pose.inverse_transform_points(actor.pose.translation[None, :])[0]
        if math.hypot(center[0], center[1]) > max_range_m:
            continue
        out.append(TruthBox(actor.object_class, center, returns_in_box(actor, points_world)))
    return out


def returns_in_box(actor: ActorTruth, points_world: np.ndarray) -> int:
    reach = float(np.linalg.norm(actor.extent_m[:2])) + BOX_MARGIN_M
    near = np.abs(points_world[:, :2] - actor.pose.translation[:2]).max(axis=1) <= reach
    local = actor.pose.inverse_transform_points(points_world[near])
    inside = np.all(np.abs(local) <= actor.extent_m + BOX_MARGIN_M, axis=1)
    inside &= local[:, 2] >= -actor.extent_m[2] + GROUND_CLEARANCE_M
    return int(inside.sum())


def _band(range_m: float) -> str | None:
    for lo, hi in BANDS_M:
        if lo <= range_m < hi:
            return f"{lo:g}-{hi:g}"
    return None


class Tally:
    """True positives, false positives and misses per (class, band)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], dict[str, int]] = {
            (c.value, _band(lo) or ""): {"tp": 0, "fp": 0, "fn": 0}
            for c in CLASSES
            for lo, _ in BANDS_M
        }
        self.center_errors_m: dict[str, list[float]] = {c.value: [] for c in CLASSES}
        self.ignored_truth = 0
        self.unknown_objects = 0  # hinted neither vehicle nor pedestrian: not scored above

    def add_frame(self, objects: Sequence[LidarObject], truths: Sequence[TruthBox]) -> None:
        for cls in CLASSES:
            dets = [o for o in objects if o.class_hint == cls]
            gts = [t for t in truths if t.object_class == cls]
            self._add_class(cls.value, dets, gts)
        self.ignored_truth += sum(1 for t in truths if t.returns < MIN_TRUTH_POINTS)
        self.unknown_objects += sum(1 for o in objects if o.class_hint not in CLASSES)

    def _add_class(self, cls: str, dets: list[LidarObject], gts: list[TruthBox]) -> None:
        matched_det: set[int] = set()
        matched_gt: set[int] = set()
        if dets and gts:
            det_xy = np.array([d.center_m[:2] for d in dets])
            gt_xy = np.array([g.center_m[:2] for g in gts])
            dist = np.linalg.norm(det_xy[:, None, :] - gt_xy[None, :, :], axis=2)
            rows, cols = linear_sum_assignment(np.where(dist <= MATCH_RADIUS_M, dist, 1e6))
            for r, c in zip(rows, cols, strict=True):
                if dist[r, c] > MATCH_RADIUS_M:
                    continue
                matched_det.add(int(r))
                matched_gt.add(int(c))
                band = _band(_range(gts[c].center_m))
                if gts[c].returns >= MIN_TRUTH_POINTS and band:
                    self.counts[(cls, band)]["tp"] += 1
                    self.center_errors_m[cls].append(float(dist[r, c]))
        for i, det in enumerate(dets):
            band = _band(_range(det.center_m))
            if i not in matched_det and band:
                self.counts[(cls, band)]["fp"] += 1
        for j, gt in enumerate(gts):
            band = _band(_range(gt.center_m))
            if j not in matched_gt and gt.returns >= MIN_TRUTH_POINTS and band:
                self.counts[(cls, band)]["fn"] += 1

    def report(self) -> dict[str, dict[str, dict[str, float | int | None]]]:
        out: dict[str, dict[str, dict[str, float | int | None]]] = {}
        for cls in CLASSES:
            per_band: dict[str, dict[str, float | int | None]] = {}
            for lo, hi in BANDS_M:
                per_band[f"{lo:g}-{hi:g}"] = _scores(self.counts[(cls.value, f"{lo:g}-{hi:g}")])
            for name, bands in (("0-40", BANDS_M[:2]), ("0-60", BANDS_M)):
                total = {"tp": 0, "fp": 0, "fn": 0}
                for lo, hi in bands:
                    for key, value in self.counts[(cls.value, f"{lo:g}-{hi:g}")].items():
                        total[key] += value
                per_band[name] = _scores(total)
            errors = self.center_errors_m[cls.value]
            per_band["center_error_m"] = {
                "mean": round(float(np.mean(errors)), 3) if errors else None,
                "p95": round(float(np.percentile(errors, 95)), 3) if errors else None,
            }
            out[cls.value] = per_band
        return out


def _range(center_m: np.ndarray) -> float:
    return math.hypot(float(center_m[0]), float(center_m[1]))


def _scores(c: dict[str, int]) -> dict[str, float | int | None]:
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    return {
        **c,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
    }


@dataclass(frozen=True, slots=True)
class ScanDetections:
    """What the pipeline found in one frame's first LiDAR scan, and how long it took."""

    scenario: str
    frame: SensorFrame  # the scan, the ego pose and the ground truth
    objects: Sequence[LidarObject]
    pipeline_ms: float


def score_scans(
    scans: Iterable[ScanDetections], max_range_m: float, scenarios: Sequence[str] = ()
) -> dict[str, object]:
    """Precision and recall per class and range band over ``scans``, with truth counted
    within ``max_range_m`` (the pipeline's crop); ``scenarios`` are listed in the scan
    counts even when none of their scans came."""
    tally = Tally()
    total_ms: list[float] = []
    per_scenario = dict.fromkeys(scenarios, 0)
    for scan in scans:
        _score_scan(scan, tally, max_range_m)
        total_ms.append(scan.pipeline_ms)
        per_scenario[scan.scenario] = per_scenario.get(scan.scenario, 0) + 1
    ms = np.array(total_ms) if total_ms else np.zeros(1)
    report = tally.report()
    return {
        "scans": per_scenario,
        "match": (
            f"same class, bird's-eye centre distance <= {MATCH_RADIUS_M} m, Hungarian; "
            "bands by truth range (misses) or detection range (false positives)"
        ),
        "truth_counted": (
            f"actors with >= {MIN_TRUTH_POINTS} LiDAR returns inside their box "
            f"(returns within {GROUND_CLEARANCE_M} m of the box floor not counted); "
            "a detection matched to a sparser actor is neither TP nor FP"
        ),
        "truth_ignored_too_few_points": tally.ignored_truth,
        "unknown_class_objects": tally.unknown_objects,  # neither counted as FP nor TP
        "tuning_note": "the pipeline's config was tuned on these scenarios",
        "scores": report,
        "targets": _targets(report),
        "pipeline_ms_mean": round(float(ms.mean()), 2),
        "pipeline_ms_p95": round(float(np.percentile(ms, 95)), 2),
    }


def _score_scan(scan: ScanDetections, tally: Tally, max_range_m: float) -> None:
    frame = scan.frame
    if frame.ground_truth is None:
        raise ValueError("LiDAR evaluation needs a world that knows its ground truth")
    lidar = frame.lidars[0]
    points_ego = lidar.sensor_to_ego.transform_points(lidar.points_xyzi[:, :3].astype(np.float64))
    truths = truth_in_ego(frame.ground_truth.actors, frame.ego.pose, points_ego, max_range_m)
    tally.add_frame(scan.objects, truths)


def _targets(report: dict[str, dict[str, dict[str, float | int | None]]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for cls, want in TARGETS.items():
        band = want.band
        got = report[cls][band]
        for key in ("recall", "precision"):
            value = got[key]
            goal = float(getattr(want, key))
            out[f"{cls}_{key}_{band}m"] = {
                "value": value,
                "target": goal,
                "met": value is not None and value >= goal,
            }
    return out
