"""The shipped YOLO detector on embedded-world frames, PyTorch and ONNX Runtime."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from perception.camera_detector import (
    CROP_HW_PX,
    DEFAULT_WEIGHTS,
    CameraDetector,
    _onnx_is_dynamic,
    class_map,
    merge_boxes,
    whole_in_crop,
)
from roadmind.errors import UserError
from roadmind.frames import Pose
from roadmind.messages import CameraImage, ObjectClass
from sim.embedded.world import EmbeddedWorld
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


@pytest.mark.parametrize("backend", ["torch", "onnx", "openvino"])
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
    onnx = CameraDetector(onnx_weights, "onnx")
    assert _onnx_is_dynamic(onnx.weights)  # one export serves every input size
    b = onnx.detect(image)
    strong = [d for d in a if d.score > 0.5]
    for d in strong:
        assert any(e.object_class is d.object_class and _iou(e.xyxy_px, d.xyxy_px) > 0.7 for e in b)


def test_openvino_runs_the_onnx_export_and_agrees_with_onnx_runtime(
    frame, onnx_weights: Path
) -> None:
    """The default runtime: the ONNX export converted to OpenVINO's IR once, beside it
    (bf16 on CPUs that have it, so boxes agree to rounding, not bit for bit)."""
    image = frame.cameras[0]
    onnx = CameraDetector(onnx_weights, "onnx").detect(image)
    detector = CameraDetector(onnx_weights)
    assert detector.backend == "openvino"
    folder = onnx_weights.with_suffix(".onnx").with_name(f"{onnx_weights.stem}_openvino_model")
    made = (folder / "model.bin").stat().st_mtime_ns
    found = detector.detect(image)
    for d in (d for d in onnx if d.score > 0.5):
        assert any(
            e.object_class is d.object_class and _iou(e.xyxy_px, d.xyxy_px) > 0.9 for e in found
        )
    assert {d.object_class for d in found if d.score > 0.5} == {
        d.object_class for d in onnx if d.score > 0.5
    }
    CameraDetector(onnx_weights)  # the IR is reused, not made again
    assert (folder / "model.bin").stat().st_mtime_ns == made


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


def test_quieting_ultralytics_restores_its_stream_even_when_already_on_stderr() -> None:
    import contextlib
    import logging
    import sys

    from ultralytics.utils import LOGGER

    from perception.camera_detector import quiet_ultralytics

    handlers = [h for h in LOGGER.handlers if isinstance(h, logging.StreamHandler)]
    before = [h.stream for h in handlers]
    with contextlib.redirect_stdout(sys.stderr):  # how the JSON commands call it
        for handler in handlers:
            handler.setStream(sys.stderr)
        with quiet_ultralytics():
            pass
        assert all(h.stream is sys.stderr for h in handlers)  # not None: messages still print
    for handler, stream in zip(handlers, before, strict=True):
        handler.setStream(stream)


def _front(pitch_deg: float = 0.0, yaw_deg: float = 0.0, width: int = 960) -> CameraImage:
    pose = Pose(0.8, 0.0, 1.6, pitch_rad=np.radians(pitch_deg), yaw_rad=np.radians(yaw_deg))
    return CameraImage("front", np.zeros((width * 9 // 16, width, 4), np.uint8), 70.0, pose, 0.0)


def _project(image: CameraImage, point_ego: np.ndarray) -> np.ndarray:
    cam = image.sensor_to_ego.inverse_transform_points(point_ego[None, :])[0]
    k = image.intrinsics
    return np.array([k[0, 2] + k[0, 0] * cam[1] / cam[0], k[1, 2] - k[1, 1] * cam[2] / cam[0]])


@pytest.mark.parametrize(("pitch_deg", "yaw_deg"), [(0.0, 0.0), (-2.0, 0.0), (6.0, 10.0)])
def test_the_far_crop_sits_on_the_horizon_ahead(pitch_deg: float, yaw_deg: float) -> None:
    detector = CameraDetector(DEFAULT_WEIGHTS, "torch")
    image = _front(pitch_deg, yaw_deg)
    u0, v0, u1, v1 = detector.crop_window(image)
    assert (v1 - v0, u1 - u0) == CROP_HW_PX == (256, 416)  # native pixels
    yaw = np.radians(yaw_deg)
    far_u, far_v = _project(image, np.array([500.0 * np.cos(yaw), 500.0 * np.sin(yaw), 1.6]))
    assert abs((u0 + u1) / 2 - far_u) <= 1.0
    assert abs(v0 + 0.4 * (v1 - v0) - far_v) <= 1.0
    # a pedestrian 40 m ahead, feet to head, lies inside it
    for z_m in (0.0, 1.8):
        u, v = _project(image, np.array([40.0 * np.cos(yaw), 40.0 * np.sin(yaw), z_m]))
        assert u0 < u < u1 and v0 < v < v1


def test_frames_run_enlarged_up_to_832_px_wider_ones_shrink_to_832() -> None:
    detector = CameraDetector(DEFAULT_WEIGHTS, "torch")
    assert detector.input_hw(360, 640) == (480, 832)  # 1.3x: 468 rows, padded to the stride
    assert detector.input_hw(256, 416) == (352, 544)  # the horizon crop, enlarged as well
    assert detector.input_hw(540, 960) == (480, 832)
    assert detector.input_hw(1080, 1920) == (480, 832)
    assert detector.input_hw(64, 64) == (96, 96)
    assert CameraDetector(DEFAULT_WEIGHTS, "torch", upscale=1.0).input_hw(360, 640) == (384, 640)
    assert CameraDetector(DEFAULT_WEIGHTS, "torch", imgsz=416).input_hw(540, 960) == (256, 416)
    assert detector.input_hw(1000, 500) == (832, 416)  # portrait: the longer side, as YOLO's


@pytest.mark.parametrize("upscale", [0.0, -1.0, float("nan")])
def test_upscale_must_be_positive(upscale: float) -> None:
    with pytest.raises(UserError, match=f"upscale {upscale}: must be above 0"):
        CameraDetector(DEFAULT_WEIGHTS, "torch", upscale=upscale)


def test_no_crop_for_frames_the_input_already_resolves() -> None:
    detector = CameraDetector(DEFAULT_WEIGHTS, "torch")
    assert detector.crop_window(_front(width=640)) is None
    assert CameraDetector(DEFAULT_WEIGHTS, "torch", far_crop=False).crop_window(_front()) is None


def test_crop_boxes_cut_by_an_inner_crop_edge_are_dropped_and_duplicates_merged() -> None:
    crop = (272, 144, 688, 400)  # inside a 960x540 frame on every side
    boxes = np.array([[300, 200, 320, 250], [272, 200, 290, 250], [600, 380, 620, 400.0]])
    assert whole_in_crop(boxes, crop, 960, 540).tolist() == [True, False, False]
    at_frame_edge = (0, 144, 416, 400)  # its left edge is the frame's: nothing cut there
    assert whole_in_crop(np.array([[0, 200, 20, 250.0]]), at_frame_edge, 960, 540).tolist() == [
        True
    ]
    frame = (np.array([[300, 200, 320, 250.0]]), np.array([1]), np.array([0.4]))
    crop_set = (
        np.array([[301, 201, 321, 251], [301, 201, 321, 251.0]]),
        np.array([1, 0]),  # the same place, once as the same class and once as another
        np.array([0.8, 0.6]),
    )
    _, cls, score = merge_boxes(frame, crop_set)
    assert sorted(zip(cls.tolist(), score.tolist(), strict=True)) == [(0, 0.6), (1, 0.8)]


@pytest.mark.parametrize("backend", ["torch", "onnx", "openvino"])
def test_the_horizon_crop_finds_far_pedestrians_the_shrunk_frame_misses(
    onnx_weights: Path, backend: str
) -> None:
    weights = DEFAULT_WEIGHTS if backend == "torch" else onnx_weights
    with EmbeddedWorld(load_rig(resolve_rig_path("default"))) as world:
        frame = world.reset(load_scenario("pedestrian_crossing"))
    image = frame.cameras[0]
    assert image.bgra.shape[1] == 960  # shrunk to 416: the pedestrians shrink to 6 px
    far = [
        b
        for b in frame.ground_truth.boxes_2d["front"]
        if b.object_class is ObjectClass.PEDESTRIAN and b.xyxy_px[3] - b.xyxy_px[1] < 20
    ]
    assert len(far) >= 2, "two pedestrians about 13 px tall wait at the far crossing"

    def found(detections: tuple) -> int:
        return sum(
            any(
                d.object_class is ObjectClass.PEDESTRIAN and _iou(d.xyxy_px, b.xyxy_px) > 0.3
                for d in detections
            )
            for b in far
        )

    shrunk = CameraDetector(weights, backend, imgsz=416, far_crop=False)
    assert found(shrunk.detect(image)) < len(far)
    assert found(CameraDetector(weights, backend, imgsz=416).detect(image)) == len(far)
