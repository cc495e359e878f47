"""The fusion scores on records with known answers: nuScenes AP, velocity error of
true positives, unseen truth not judged, identity switches."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.fusion import (
    FrameRecord,
    Prediction,
    TrackingTally,
    Truth,
    average_precision,
    recall_by_range,
    score,
)
from roadmind.messages import ObjectClass

V = ObjectClass.VEHICLE


def _truth(actor: int, x: float, seen: bool = True, vx: float = 0.0) -> Truth:
    return Truth(actor, V, np.array([x, 0.0]), np.array([vx, 0.0]), seen)


def _pred(track: int, x: float, score: float = 0.9, vx: float = 0.0) -> Prediction:
    return Prediction(track, V, np.array([x, 0.0]), np.array([vx, 0.0]), score)


def test_perfect_predictions_score_one() -> None:
    frames = [FrameRecord([_pred(1, 10.0), _pred(2, 30.0)], [_truth(1, 10.0), _truth(2, 30.0)])]
    ap, matches = average_precision(frames, V, 0.5)
    assert ap == pytest.approx(1.0) and len(matches) == 2


def test_distance_threshold_decides_a_match() -> None:
    frames = [FrameRecord([_pred(1, 11.5)], [_truth(1, 10.0)])]
    assert average_precision(frames, V, 1.0)[0] == pytest.approx(0.0)
    assert average_precision(frames, V, 2.0)[0] == pytest.approx(1.0)


def test_confident_false_positives_cost_more_than_unsure_ones() -> None:
    truths = [_truth(i, 10.0 * i) for i in range(1, 5)]
    good = [_pred(i, 10.0 * i, 0.8) for i in range(1, 5)]
    unsure_fp = FrameRecord([*good, _pred(9, 70.0, 0.1)], truths)
    sure_fp = FrameRecord([*good, _pred(9, 70.0, 0.99)], truths)
    ap_unsure = average_precision([unsure_fp], V, 2.0)[0]
    ap_sure = average_precision([sure_fp], V, 2.0)[0]
    assert ap_unsure == pytest.approx(1.0, abs=0.01)  # only the last recall point pays
    assert 0.5 < ap_sure < 0.9  # the first recall level sees precision 0


def test_misses_lower_recall_and_ap() -> None:
    frames = [FrameRecord([_pred(1, 10.0)], [_truth(1, 10.0), _truth(2, 20.0)])]
    ap = average_precision(frames, V, 2.0)[0]
    # precision 1 up to recall 0.5, nothing beyond: recall 0.1 to 0.5 of the 0.1 to 1 axis
    assert ap == pytest.approx(0.4 / 0.9, abs=0.01)


def test_recall_by_range_puts_misses_in_their_band() -> None:
    truths = [_truth(1, 10.0), _truth(2, 25.0), _truth(3, 40.0), _truth(4, 45.0, seen=False)]
    frames = [FrameRecord([_pred(1, 10.5), _pred(3, 40.3, 0.2)], truths)]
    bands = recall_by_range(frames, V, average_precision(frames, V, 2.0)[1])
    assert bands["0-20m"] == {"truth": 1, "recall": 1.0}
    assert bands["20-35m"] == {"truth": 1, "recall": 0.0}
    assert bands["35-50m"] == {"truth": 1, "recall": 1.0}  # unseen truth is not counted


def test_a_prediction_on_unseen_truth_is_not_judged() -> None:
    frames = [
        FrameRecord(
            [_pred(1, 10.0), _pred(2, 30.0, 0.95)], [_truth(1, 10.0), _truth(2, 30.0, seen=False)]
        )
    ]
    ap, matches = average_precision(frames, V, 2.0)
    assert ap == pytest.approx(1.0) and len(matches) == 1


def test_velocity_error_and_targets_in_the_report() -> None:
    frames = [
        FrameRecord([_pred(1, 10.0, vx=5.0)], [_truth(1, 10.0, vx=5.3)]),
        FrameRecord([_pred(1, 10.5, vx=5.0)], [_truth(1, 10.5, vx=6.0)]),
    ]
    tracking = TrackingTally()
    for f in frames:
        tracking.add(f)
    report = score(frames, tracking)
    assert report["velocity_error"]["vehicle"]["median_mps"] == pytest.approx(0.65)  # type: ignore[index]
    targets = report["targets"]
    assert targets["vehicle_ap_2m"]["met"] is True  # type: ignore[index]
    assert targets["vehicle_velocity_error_median_mps"]["met"] is False  # type: ignore[index]
    assert targets["pedestrian_ap_2m"]["value"] is None  # type: ignore[index]


def test_identity_switch_is_counted() -> None:
    tracking = TrackingTally()
    for k, track in enumerate([1, 1, 1, 7, 7]):  # the tracker renames actor 1 at frame 3
        tracking.add(FrameRecord([_pred(track, 10.0 + k)], [_truth(1, 10.0 + k)]))
    report = tracking.report()["vehicle"]
    assert report["id_switches"] == 1 and report["truth_object_frames"] == 5


def test_ids_restarting_in_the_next_scenario_are_not_switches() -> None:
    tracking = TrackingTally()
    for scenario, track in (("a", 1), ("b", 2)):  # actor 1 of b is not actor 1 of a
        for k in range(3):
            tracking.add(FrameRecord([_pred(track, 10.0 + k)], [_truth(1, 10.0 + k)]), scenario)
    report = tracking.report()["vehicle"]
    assert report["id_switches"] == 0 and report["idf1"] == pytest.approx(1.0)


def test_bench_fusion_tracks_the_synthetic_scene(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from cli.main import main

    assert main(["bench", "fusion", "--repeats", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["objects"] == 30 and out["cameras"] == 2
    assert out["tracks_out"] >= 25  # LiDAR sees all 30; a few share a spot
    assert out["cycle"]["mean_ms"] > 0
