"""The evaluation wiring: the oracle drives, a stage watches, the scorers score."""

from __future__ import annotations

from loop.eval_runs import eval_lidar


def test_evaluate_short_drive_reports_targets():
    report = eval_lidar(["lead_vehicle_braking"], frames=2, stride=2)
    assert report["scans"] == {"lead_vehicle_braking": 2}
    assert set(report["scores"]) == {"vehicle", "pedestrian"}
    assert set(report["scores"]["vehicle"]) >= {"0-20", "20-40", "40-60", "0-40"}
    target = report["targets"]["vehicle_recall_0-40m"]
    assert target["target"] == 0.95 and isinstance(target["met"], bool)
    vehicle = report["scores"]["vehicle"]["0-60"]
    assert vehicle["tp"] >= 2  # the lead car and the car beside it, in both scans
    assert "5 LiDAR returns" in report["truth_counted"]
