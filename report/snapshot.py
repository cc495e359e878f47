"""What ``roadmind render`` writes: one moment of a drive as pictures and its truth."""

from __future__ import annotations

import json
from pathlib import Path

from report.visualize import bgra_to_image, draw_boxes, lidar_bev
from roadmind.messages import SensorFrame
from roadmind.serialize import to_dict


def write_snapshot(camera: SensorFrame, lidar: SensorFrame | None, out: Path) -> list[str]:
    """Each camera image with and without its ground-truth boxes, a bird's-eye PNG of each
    scan of ``lidar`` (the first frame with scans from ``camera`` on) and
    ground_truth.json; the names written under ``out``."""
    truth = camera.ground_truth
    if truth is None:
        raise ValueError(f"frame {camera.frame_id} has no ground truth to draw")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for cam in camera.cameras:
        bgra_to_image(cam.bgra).save(out / f"camera_{cam.name}.png")
        draw_boxes(cam.bgra, truth.boxes_2d.get(cam.name, ())).save(out / f"gt_{cam.name}.png")
        written += [f"camera_{cam.name}.png", f"gt_{cam.name}.png"]
    last = camera
    if lidar is not None:
        assert lidar.ground_truth is not None
        for scan in lidar.lidars:
            actors = lidar.ground_truth.actors
            lidar_bev(scan.points_xyzi, scan.sensor_to_ego, actors, lidar.ego.pose).save(
                out / f"lidar_{scan.name}_bev.png"
            )
            written.append(f"lidar_{scan.name}_bev.png")
        last = lidar
    # the latest frame's time and ego beside the camera frame's truth, as render always wrote
    gt = {
        "frame_id": last.frame_id,
        "timestamp_s": last.timestamp_s,
        "ego": to_dict(last.ego),
        "ground_truth": to_dict(truth),
    }
    (out / "ground_truth.json").write_text(json.dumps(gt, indent=1))
    written.append("ground_truth.json")
    return written
