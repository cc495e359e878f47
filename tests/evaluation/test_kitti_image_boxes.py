"""Found, missed and false 2D boxes against KITTI labels (IoU >= 0.5, classes mapped)."""

from __future__ import annotations

import numpy as np

from evaluation.kitti import ImageBoxTally, box_iou
from perception.kitti_labels import read_image_boxes
from roadmind.messages import ObjectClass

V, P = ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN


def _b(*xyxy: float) -> np.ndarray:
    return np.array(xyxy, np.float64)


def test_iou() -> None:
    iou = box_iou(
        np.array([[0, 0, 10, 10]], float), np.array([[5, 0, 15, 10], [20, 20, 30, 30]], float)
    )
    assert np.allclose(iou, [[1 / 3, 0.0]])


def test_counts_per_class() -> None:
    labels = [
        ("Car", _b(0, 0, 100, 100)),
        ("Van", _b(200, 0, 300, 100)),  # a vehicle too
        ("Pedestrian", _b(400, 0, 450, 100)),
        ("Cyclist", _b(500, 0, 550, 100)),  # not truth
        ("DontCare", _b(600, 0, 700, 100)),
    ]
    dets = [
        (V, _b(2, 2, 100, 100), 0.9),  # found
        (V, _b(0, 0, 98, 98), 0.5),  # the same car again: false
        (P, _b(200, 0, 300, 100), 0.8),  # a pedestrian box on the van: false, van missed
        (V, _b(500, 0, 550, 100), 0.7),  # on the cyclist: false, on another label
        (V, _b(600, 0, 700, 100), 0.6),  # on DontCare: false, on another label
    ]
    tally = ImageBoxTally()
    image = tally.add(labels, dets)
    assert image["vehicle"] == {"found": 1, "missed": 1, "false": 3, "false_on_other_label": 2}
    assert image["pedestrian"] == {"found": 0, "missed": 1, "false": 1, "false_on_other_label": 0}
    tally.add([], [])
    report = tally.report()
    assert report["images"] == 2 and report["vehicle"] == image["vehicle"]


def test_reads_the_2d_boxes(tmp_path) -> None:
    path = tmp_path / "000000.txt"
    path.write_text(
        "Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 1.47 8.41 0.01\n"
        "DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10\n"
    )
    (kind, box), (other, _) = read_image_boxes(path)
    assert kind == "Pedestrian" and other == "DontCare"
    assert np.allclose(box, [712.40, 143.00, 810.73, 307.92])
