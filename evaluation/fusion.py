"""Score the fused, tracked BEV scene against the embedded world's ground truth,
nuScenes-style.

``loop.eval_runs.eval_fusion`` drives each scenario with the oracle agent (so every run
takes the same path) while the perception stack sees every frame; every ``stride``-th
LiDAR frame is scored here.

- Detection: average precision per class with bird's-eye centre-distance thresholds
  0.5, 1, 2 and 4 m, within 50 m of the ego (the nuScenes detection metric: predictions
  ranked by score over all frames, each matched greedily to the nearest free truth of
  its class; precision linearly interpolated at 101 recall points; AP is the area
  above precision 0.1 from recall 0.1, normalised).
- Velocity: the error of true positives at 2 m, |v_track - v_truth| in the bird's-eye
  plane (absolute velocities), per class.
- Tracking: identity switches, MOTA and IDF1 (motmetrics) over every scan frame, truth
  and tracks matched within 2 m.

Truth counts where a sensor could see it: at least one LiDAR return inside its box or
``MIN_VISIBLE_PX`` visible pixels in a camera. Predictions match seen truth first; one
left unmatched within the threshold of unseen truth is not judged (KITTI's don't-care
rule; ``ap_2m_strict`` is nuScenes' rule, where it is a false positive).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from evaluation.lidar import returns_in_box
from roadmind.messages import ActorTruth, BevScene, ObjectClass, SensorFrame

CLASSES = (ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN)
THRESHOLDS_M = (0.5, 1.0, 2.0, 4.0)
MAX_RANGE_M = 50.0
MIN_VISIBLE_PX = 30
MIN_RECALL = 0.1
MIN_PRECISION = 0.1
VELOCITY_THRESHOLD_M = 2.0
RANGE_BANDS_M = ((0.0, 20.0), (20.0, 35.0), (35.0, 50.0))
TRACK_MATCH_M = 2.0
TARGETS = {
    "vehicle_ap_2m": 0.85,
    "pedestrian_ap_2m": 0.75,
    "vehicle_velocity_error_median_mps": 0.5,
}


@dataclass(frozen=True, slots=True)
class Truth:
    """An actor in the ego frame at one scored frame."""

    actor_id: int
    object_class: ObjectClass
    xy_m: np.ndarray  # (2,)
    velocity_mps: np.ndarray  # (2,) absolute, ego axes
    seen: bool


@dataclass(frozen=True, slots=True)
class Prediction:
    track_id: int
    object_class: ObjectClass
    xy_m: np.ndarray  # (2,)
    velocity_mps: np.ndarray  # (2,)
    score: float


@dataclass
class FrameRecord:
    predictions: list[Prediction]
    truths: list[Truth]


# --------------------------------------------------------------------------- detection


def average_precision(
    frames: Sequence[FrameRecord],
    object_class: ObjectClass,
    threshold_m: float,
    dont_care: bool = True,
) -> tuple[float, list[tuple[Prediction, Truth]]]:
    """nuScenes AP of one class at one distance threshold, and its true positives.

    Predictions, ranked by score over all frames, take the nearest free seen truth of
    their class closer than the threshold. With ``dont_care`` (KITTI's rule), a
    prediction left without a match but within the threshold of truth no sensor could
    see is not judged; without it (nuScenes' rule) it is a false positive."""
    ranked = [
        (k, p)
        for k, f in enumerate(frames)
        for p in f.predictions
        if p.object_class is object_class
    ]
    ranked.sort(key=lambda kp: -kp[1].score)
    n_truth = sum(t.seen for f in frames for t in f.truths if t.object_class is object_class)
    if n_truth == 0:
        return float("nan"), []
    taken: set[tuple[int, int]] = set()
    hits: list[bool] = []
    matches: list[tuple[Prediction, Truth]] = []
    for k, pred in ranked:
        best, best_d = None, threshold_m
        unseen_near = False
        for j, truth in enumerate(frames[k].truths):
            if truth.object_class is not object_class:
                continue
            d = float(np.hypot(*(truth.xy_m - pred.xy_m)))
            if not truth.seen:
                unseen_near |= d < threshold_m
            elif (k, j) not in taken and d < best_d:
                best, best_d = j, d
        if best is not None:
            taken.add((k, best))
            hits.append(True)
            matches.append((pred, frames[k].truths[best]))
        elif not (dont_care and unseen_near):
            hits.append(False)
    if not hits:
        return 0.0, []
    tp = np.cumsum(hits)
    fp = np.cumsum(~np.array(hits))
    return _nuscenes_ap(tp / (tp + fp), tp / n_truth), matches


def recall_by_range(
    frames: Sequence[FrameRecord],
    object_class: ObjectClass,
    matches: Sequence[tuple[Prediction, Truth]],
) -> dict[str, dict[str, float | int | None]]:
    """Share of seen truth ``matches`` found (at any score), per range band: where the
    misses are, which AP alone does not say."""
    found = {id(t) for _, t in matches}
    out: dict[str, dict[str, float | int | None]] = {}
    for low_m, high_m in RANGE_BANDS_M:
        band = [
            t
            for f in frames
            for t in f.truths
            if t.object_class is object_class and t.seen and low_m <= math.hypot(*t.xy_m) < high_m
        ]
        hits = sum(id(t) in found for t in band)
        out[f"{low_m:g}-{high_m:g}m"] = {
            "truth": len(band),
            "recall": round(hits / len(band), 4) if band else None,
        }
    return out


def _nuscenes_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """The nuScenes devkit's calc_ap: precision linearly interpolated at 101 recall
    points (0 beyond the last recall reached), the part above MIN_PRECISION from
    MIN_RECALL on, normalised to [0, 1]."""
    levels = np.linspace(0.0, 1.0, 101)
    interp = np.interp(levels, recall, precision, right=0.0)
    kept = interp[round(100 * MIN_RECALL) + 1 :] - MIN_PRECISION
    kept[kept < 0.0] = 0.0
    return float(np.mean(kept) / (1.0 - MIN_PRECISION))


# --------------------------------------------------------------------------- tracking


@dataclass
class TrackingTally:
    """motmetrics accumulators per (scenario, class): ids restart with every scenario."""

    accumulators: dict[tuple[str, str], object] = field(default_factory=dict)

    def add(self, frame: FrameRecord, scenario: str = "") -> None:
        import motmetrics as mm

        for cls in CLASSES:
            key = (scenario, cls.value)
            acc = self.accumulators.setdefault(key, mm.MOTAccumulator(auto_id=True))
            truths = [t for t in frame.truths if t.object_class is cls and t.seen]
            unseen = [t for t in frame.truths if t.object_class is cls and not t.seen]
            preds = [
                p
                for p in frame.predictions
                if p.object_class is cls and not _dont_care(p, truths, unseen)
            ]
            dist = np.full((len(truths), len(preds)), np.nan)
            for i, t in enumerate(truths):
                for j, p in enumerate(preds):
                    d = float(np.hypot(*(t.xy_m - p.xy_m)))
                    if d <= TRACK_MATCH_M:
                        dist[i, j] = d
            acc.update([t.actor_id for t in truths], [p.track_id for p in preds], dist)  # type: ignore[attr-defined]

    def report(self) -> dict[str, dict[str, float | int | None]]:
        import motmetrics as mm

        out: dict[str, dict[str, float | int | None]] = {}
        metrics = ["num_switches", "mota", "idf1", "num_fragmentations", "num_objects"]
        host = mm.metrics.create()
        for cls in CLASSES:
            keys = [k for k in self.accumulators if k[1] == cls.value]
            if not keys:
                continue
            table = host.compute_many(
                [self.accumulators[k] for k in keys],
                metrics=metrics,
                names=[f"{k[0]}/{k[1]}" for k in keys],
                generate_overall=True,
            )
            row = table.loc["OVERALL"]
            out[cls.value] = {
                "id_switches": int(row["num_switches"]),
                "fragmentations": int(row["num_fragmentations"]),
                "mota": _finite(row["mota"]),
                "idf1": _finite(row["idf1"]),
                "truth_object_frames": int(row["num_objects"]),
            }
        return out


def _dont_care(pred: Prediction, seen: list[Truth], unseen: list[Truth]) -> bool:
    """Near truth no sensor could see and near no seen truth: not judged."""

    def near(truths: list[Truth]) -> bool:
        return any(float(np.hypot(*(t.xy_m - pred.xy_m))) <= TRACK_MATCH_M for t in truths)

    return near(unseen) and not near(seen)


def _finite(value: object) -> float | None:
    """JSON has no NaN: a metric with nothing to count is None."""
    number = float(value)  # type: ignore[arg-type]
    return round(number, 4) if math.isfinite(number) else None


# --------------------------------------------------------------------------- records


def frame_record(
    frame: SensorFrame, scene: BevScene, max_range_m: float = MAX_RANGE_M
) -> FrameRecord:
    """Predictions and truth of one frame in the ego frame, within ``max_range_m``."""
    truth = frame.ground_truth
    if truth is None:
        raise ValueError("fusion evaluation needs a world that knows its ground truth")
    ego = frame.ego.pose
    visible_ids = {
        box.object_id
        for boxes in truth.boxes_2d.values()
        for box in boxes
        if box.visible_px >= MIN_VISIBLE_PX
    }
    points_world = np.zeros((0, 3))
    for scan in frame.lidars:
        local = scan.sensor_to_ego.transform_points(scan.points_xyzi[:, :3].astype(np.float64))
        points_world = np.vstack([points_world, ego.transform_points(local)])
    truths = []
    for actor in truth.actors:
        if actor.object_class not in CLASSES:
            continue
        xy = ego.inverse_transform_points(actor.pose.translation[None, :])[0, :2]
        if math.hypot(*xy) > max_range_m:
            continue
        seen = actor.actor_id in visible_ids or _has_returns(actor, points_world)
        velocity = (ego.rotation.T @ actor.velocity_mps)[:2]
        truths.append(Truth(actor.actor_id, actor.object_class, xy, velocity, seen))
    predictions = [
        Prediction(
            o.track_id, o.object_class, o.position_m[:2].copy(), o.velocity_mps[:2].copy(), o.score
        )
        for o in scene.objects
        if math.hypot(*o.position_m[:2]) <= max_range_m
    ]
    return FrameRecord(predictions, truths)


def _has_returns(actor: ActorTruth, points_world: np.ndarray) -> bool:
    return points_world.shape[0] > 0 and returns_in_box(actor, points_world) > 0


# --------------------------------------------------------------------------- run


def score(scored: Sequence[FrameRecord], tracking: TrackingTally) -> dict[str, object]:
    detection: dict[str, dict[str, float | None]] = {}
    velocity: dict[str, dict[str, float | int | None]] = {}
    recall: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for cls in CLASSES:
        per: dict[str, float | None] = {}
        for thr in THRESHOLDS_M:
            ap, matches = average_precision(scored, cls, thr)
            per[f"ap_{thr:g}m"] = None if math.isnan(ap) else round(ap, 4)
            if thr == VELOCITY_THRESHOLD_M:
                recall[cls.value] = recall_by_range(scored, cls, matches)
                errors = [float(np.hypot(*(p.velocity_mps - t.velocity_mps))) for p, t in matches]
                velocity[cls.value] = {
                    "true_positives": len(errors),
                    "median_mps": round(float(np.median(errors)), 3) if errors else None,
                    "mean_mps": round(float(np.mean(errors)), 3) if errors else None,
                }
        aps = [v for v in per.values() if v is not None]
        per["map"] = round(float(np.mean(aps)), 4) if aps else None
        # nuScenes' own rule: a prediction on truth no sensor saw counts against
        strict, _ = average_precision(scored, cls, VELOCITY_THRESHOLD_M, dont_care=False)
        per["ap_2m_strict"] = None if math.isnan(strict) else round(strict, 4)
        detection[cls.value] = per
    got = {
        "vehicle_ap_2m": detection["vehicle"]["ap_2m"],
        "pedestrian_ap_2m": detection["pedestrian"]["ap_2m"],
        "vehicle_velocity_error_median_mps": velocity["vehicle"]["median_mps"],
    }
    targets = {}
    for key, want in TARGETS.items():
        value = got[key]
        met = value is not None and (value < want if "error" in key else value >= want)
        targets[key] = {"value": value, "target": want, "met": met}
    return {
        "detection": detection,
        "recall_2m_by_range": recall,
        "velocity_error": velocity,
        "tracking": tracking.report(),
        "targets": targets,
    }


@dataclass(frozen=True, slots=True)
class FusedFrame:
    """The fused scene of one LiDAR frame; every one counts for tracking, the ``scored``
    ones for detection and velocity."""

    scenario: str
    frame: SensorFrame  # ego pose, scans and ground truth
    scene: BevScene
    scored: bool


def score_frames(frames: Iterable[FusedFrame], scenarios: Sequence[str] = ()) -> dict[str, object]:
    """nuScenes-style scores of the fused scenes; ``scenarios`` are listed in the scored
    frame counts even when none of their frames came."""
    scored: list[FrameRecord] = []
    tracking = TrackingTally()
    per_scenario = dict.fromkeys(scenarios, 0)
    for fused in frames:
        record = frame_record(fused.frame, fused.scene)
        tracking.add(record, fused.scenario)
        per_scenario.setdefault(fused.scenario, 0)
        if fused.scored:
            scored.append(record)
            per_scenario[fused.scenario] += 1
    return {
        "scored_frames": per_scenario,
        "truth_counted": (
            f"vehicles and pedestrians within {MAX_RANGE_M:g} m with a LiDAR return in their "
            f"box or >= {MIN_VISIBLE_PX} visible camera pixels; predictions matched to "
            "unseen truth are not judged"
        ),
        "match": (
            "bird's-eye centre distance; nuScenes AP (greedy by score, 101 recall points, "
            "linear interpolation); unmatched predictions within the threshold of unseen "
            "truth are not judged (KITTI's don't-care); ap_2m_strict judges them as "
            "false positives (nuScenes' rule)"
        ),
        **score(scored, tracking),
    }
