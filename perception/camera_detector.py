"""Camera detector: ultralytics YOLO weights (PyTorch ``.pt``) or their ONNX export
(ONNX Runtime) -> typed 2D detections of vehicles, pedestrians, traffic lights and
traffic signs.

Weights trained by roadmind carry its four class names. COCO-trained ultralytics
weights a user brings work too: their classes are mapped (person -> pedestrian;
car, truck, bus, motorcycle -> vehicle; traffic light; stop sign -> traffic sign)
and every other class is dropped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np

from roadmind.errors import UserError
from roadmind.messages import CameraImage, Detection2D, ObjectClass

DEFAULT_WEIGHTS = (
    Path(__file__).resolve().parent.parent / "models" / "detector" / ("roadmind_yolo11n.pt")
)
TRAIN_HINT = "train them with `roadmind train detector` (recipe configs/training/detector.yaml)"
IMGSZ = 416  # the size the shipped weights were trained at (letterboxed)
ONNX_SHAPE = (256, 416)  # fixed ONNX input (H, W): a 16:9 frame letterboxed to width 416

NAME_TO_CLASS = {
    # roadmind's own classes
    "vehicle": ObjectClass.VEHICLE,
    "pedestrian": ObjectClass.PEDESTRIAN,
    "traffic_light": ObjectClass.TRAFFIC_LIGHT,
    "traffic_sign": ObjectClass.TRAFFIC_SIGN,
    # COCO
    "person": ObjectClass.PEDESTRIAN,
    "car": ObjectClass.VEHICLE,
    "truck": ObjectClass.VEHICLE,
    "bus": ObjectClass.VEHICLE,
    "motorcycle": ObjectClass.VEHICLE,
    "traffic light": ObjectClass.TRAFFIC_LIGHT,
    "stop sign": ObjectClass.TRAFFIC_SIGN,
}


class CameraDetector:
    """``CameraDetector(weights, backend).detect(camera_image)``; ``backend="onnx"``
    exports the ``.pt`` once to a ``.onnx`` beside it (or takes a ``.onnx`` directly).
    ``imgsz`` is the PyTorch input width; an ONNX model has the fixed ONNX_SHAPE input."""

    def __init__(
        self,
        weights: Path = DEFAULT_WEIGHTS,
        backend: Literal["torch", "onnx"] = "onnx",
        imgsz: int = IMGSZ,
        conf: float = 0.25,
        iou: float = 0.6,
    ) -> None:
        weights = Path(weights)
        if not weights.is_file():
            raise UserError(f"{weights}: detector weights not found; {TRAIN_HINT}, or give a path")
        if backend not in ("torch", "onnx"):
            raise UserError(f"detector backend {backend!r}: choose 'torch' or 'onnx'")
        os.environ.setdefault("YOLO_OFFLINE", "1")  # never reach for the hub
        from ultralytics import YOLO

        self.imgsz = imgsz
        self.conf = conf
        self.iou = iou
        self.backend = backend
        if backend == "onnx" and weights.suffix != ".onnx":
            weights = export_onnx(weights)
        self.weights = weights
        with quiet_ultralytics():
            self.model = YOLO(str(weights), task="detect")
        names = self.model.names
        self.class_of = class_map(names)
        if not any(self.class_of.values()):
            raise UserError(
                f"{weights}: none of the model's classes ({', '.join(map(str, names.values()))}) "
                "is a vehicle, pedestrian, traffic light or traffic sign"
            )

    def detect(
        self, image: CameraImage | np.ndarray, camera: str = "front"
    ) -> tuple[Detection2D, ...]:
        """Detections in one BGRA (H, W, 4) uint8 frame (CARLA's layout)."""
        if isinstance(image, CameraImage):
            camera, bgra = image.name, image.bgra
        else:
            bgra = image
        check_bgra(bgra)
        bgr = np.ascontiguousarray(bgra[:, :, :3])
        imgsz = ONNX_SHAPE if self.weights.suffix == ".onnx" else self.imgsz
        with quiet_ultralytics():  # the first call of an ONNX model announces its runtime
            result = self.model.predict(
                bgr, imgsz=imgsz, conf=self.conf, iou=self.iou, verbose=False, device="cpu"
            )[0]
        boxes = result.boxes
        xyxy = boxes.xyxy.cpu().numpy().astype(np.float64)
        cls = boxes.cls.cpu().numpy().astype(int)
        score = boxes.conf.cpu().numpy().astype(np.float64)
        out = []
        for box, c, s in zip(xyxy, cls, score, strict=True):
            object_class = self.class_of.get(int(c))
            if object_class is not None and box[2] > box[0] and box[3] > box[1]:
                out.append(Detection2D(camera, object_class, box, float(np.clip(s, 0.0, 1.0))))
        return tuple(out)


def class_map(names: dict[int, str]) -> dict[int, ObjectClass | None]:
    """Model class index -> roadmind class (None: a class roadmind does not use)."""
    return {int(i): NAME_TO_CLASS.get(str(n)) for i, n in names.items()}


@contextlib.contextmanager
def quiet_ultralytics() -> Iterator[None]:
    """Only ultralytics' warnings, and on stderr: stdout may carry a command's JSON."""
    from ultralytics.utils import LOGGER

    level = LOGGER.level
    streams = [h for h in LOGGER.handlers if isinstance(h, logging.StreamHandler)]
    old = [h.setStream(sys.stderr) for h in streams]
    LOGGER.setLevel(logging.WARNING)
    try:
        yield
    finally:
        LOGGER.setLevel(level)
        for handler, stream in zip(streams, old, strict=True):
            handler.setStream(stream)


def check_bgra(bgra: object) -> None:
    if not isinstance(bgra, np.ndarray):
        raise ValueError(f"image must be a numpy array, got {type(bgra).__name__}")
    if bgra.dtype != np.uint8 or bgra.ndim != 3 or bgra.shape[2] != 4:
        raise ValueError(
            f"image must be BGRA uint8 of shape (H, W, 4) (CARLA's camera layout), "
            f"got {bgra.dtype} {bgra.shape}"
        )
    if bgra.shape[0] < 32 or bgra.shape[1] < 32:
        raise ValueError(f"image of {bgra.shape[1]}x{bgra.shape[0]} px is too small to detect in")


def export_onnx(weights: Path) -> Path:
    """The ONNX export beside ``weights`` (made once; remade when the weights are newer)."""
    onnx_path = weights.with_suffix(".onnx")
    fresh = onnx_path.is_file() and onnx_path.stat().st_mtime >= weights.stat().st_mtime
    if fresh and _onnx_input_hw(onnx_path) == ONNX_SHAPE:
        return onnx_path
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics import YOLO

    with quiet_ultralytics():  # the exporter narrates every step
        exported = YOLO(str(weights)).export(
            format="onnx", imgsz=list(ONNX_SHAPE), simplify=True, dynamic=False, verbose=False
        )
    return Path(exported)


def _onnx_input_hw(path: Path) -> tuple[int, ...]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return tuple(int(d) for d in session.get_inputs()[0].shape[2:])
