"""The shipped YOLO detector on embedded-world frames, PyTorch and ONNX Runtime."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from perception.camera_detector import DEFAULT_WEIGHTS, CameraDetector, class_map
from roadmind.errors import UserError
from roadmind.messages import ObjectClass
from sim.embedded import EmbeddedWorld
from sim.rig import load_rig, resolve_rig_path
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def frame():
    with EmbeddedWorld(load_rig(resolve_rig_path("bench"))) as world:
        return world.reset(load_scenario("default"))


@pytest.fixture(scope="module")
def onnx_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("w") / DEFAULT_WEIGHTS.name
    shutil.copy(DEFAULT_WEIGHTS, copy)
    return copy


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = np.maximum(a[:2], b[:2])
    x1, y1 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_finds_the_big_objects_of_a_frame(frame, onnx_weights: Path, backend: str) -> None:
    weights = DEFAULT_WEIGHTS if backend == "torch" else onnx_weights
    found = CameraDetector(weights, backend).detect(frame.cameras[0])  # type: ignore[arg-type]
    truth = [
        b
        for b in frame.ground_truth.boxes_2d["front"]
        if b.object_class is not ObjectClass.UNKNOWN
        and b.occlusion < 0.3
        and min(b.xyxy_px[2] - b.xyxy_px[0], b.xyxy_px[3] - b.xyxy_px[1]) >= 12
    ]
    assert truth, "the default scenario's first frame shows clear objects"
    matched = sum(
        any(d.object_class is t.object_class and _iou(d.xyxy_px, t.xyxy_px) > 0.5 for d in found)
        for t in truth
    )
    assert matched / len(truth) >= 0.8, (matched, len(truth))
    assert all(d.camera == "front" and 0.0 <= d.score <= 1.0 for d in found)


def test_onnx_and_torch_agree(frame, onnx_weights: Path) -> None:
    image = frame.cameras[0]
    a = CameraDetector(DEFAULT_WEIGHTS, "torch").detect(image)
    b = CameraDetector(onnx_weights, "onnx").detect(image)
    strong = [d for d in a if d.score > 0.5]
    for d in strong:
        assert any(e.object_class is d.object_class and _iou(e.xyxy_px, d.xyxy_px) > 0.7 for e in b)


def test_coco_names_map_onto_roadmind_classes() -> None:
    coco = {
        0: "person",
        1: "bicycle",
        2: "car",
        3: "motorcycle",
        5: "bus",
        7: "truck",
        9: "traffic light",
        11: "stop sign",
        16: "dog",
    }
    mapped = class_map(coco)
    assert mapped[0] is ObjectClass.PEDESTRIAN
    assert {mapped[i] for i in (2, 3, 5, 7)} == {ObjectClass.VEHICLE}
    assert mapped[9] is ObjectClass.TRAFFIC_LIGHT and mapped[11] is ObjectClass.TRAFFIC_SIGN
    assert mapped[1] is None and mapped[16] is None


def test_bad_images_and_missing_weights_are_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="roadmind train detector"):
        CameraDetector(tmp_path / "nope.pt")
    detector = CameraDetector(DEFAULT_WEIGHTS, "torch")
    with pytest.raises(ValueError, match=r"BGRA uint8 of shape \(H, W, 4\)"):
        detector.detect(np.zeros((360, 640, 3), np.uint8))
    with pytest.raises(ValueError, match="float32"):
        detector.detect(np.zeros((360, 640, 4), np.float32))
