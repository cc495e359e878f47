"""Camera detector: ultralytics YOLO weights (PyTorch ``.pt``) or their ONNX export
(ONNX Runtime) -> typed 2D detections of vehicles, pedestrians, traffic lights and
traffic signs.

Weights trained by roadmind carry its four class names. COCO-trained ultralytics
weights a user brings work too: their classes are mapped (person -> pedestrian;
car, truck, bus, motorcycle -> vehicle; traffic light; stop sign -> traffic sign)
and every other class is dropped.

Small objects need every pixel, and more than they have: a frame is enlarged 1.3x
before the network (a 640 px frame runs at 832 px), which finds the smallest
pedestrians and signs that the network, trained on 640 px frames, misses at their
own size (held-out mAP50 0.911 against 0.895, ONNX). The input is at most ``imgsz`` (832)
wide. A wider frame is letterboxed to it, where far objects shrink below what the
network finds (a pedestrian 40 m ahead is 25 px tall in the 960 px front camera);
the detector then also looks at a 416x256 crop around the horizon, where far objects
are, enlarged 1.3x as well, and merges the two sets of boxes (slicing-aided
inference, as SAHI does, with one slice).
The ONNX export has a dynamic input shape for this.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from roadmind.errors import UserError
from roadmind.messages import CameraImage, Detection2D, ObjectClass
from roadmind.resources import derived_path, models_dir

WEIGHTS_NAME = "roadmind_yolo11n.pt"  # what training writes and the detector loads
DEFAULT_WEIGHTS = models_dir() / "detector" / WEIGHTS_NAME
TRAIN_HINT = "train them with `roadmind train detector` (recipe configs/training/detector.yaml)"
IMGSZ = 832  # widest network input: wider frames are letterboxed to it
UPSCALE = 1.3  # frames and crops are enlarged this much, up to IMGSZ wide
CROP_HW_PX = (256, 416)  # the horizon crop of a wider frame, in its pixels
STRIDE_PX = 32  # network inputs are padded to a multiple of the coarsest stride
CROP_HORIZON_AT = 0.4  # the horizon this far down the crop: far road users stand below it
CROP_EDGE_PX = 2.0  # a crop box this near a cut edge is part of an object: the frame has it
MERGE_IOU = 0.5
# openvino: the ONNX export run by OpenVINO (the default: ~40 % less CPU per frame than
# ONNX Runtime on x86); onnx: ONNX Runtime; torch: the .pt itself
DetectorBackend = Literal["openvino", "onnx", "torch"]
BACKENDS: tuple[str, ...] = ("openvino", "onnx", "torch")

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
    exports the ``.pt`` once to a ``.onnx`` (``export_onnx``), or takes a ``.onnx``;
    ``"openvino"`` (the default) runs that ONNX export converted to OpenVINO's IR.
    A frame runs enlarged ``upscale`` times, its longer side at most ``imgsz``; larger
    ones are letterboxed to ``imgsz``. ``far_crop`` adds the horizon crop to the frames wider
    than ``imgsz`` (a ``CameraImage`` only: the crop is placed from its pose)."""

    def __init__(
        self,
        weights: Path = DEFAULT_WEIGHTS,
        backend: DetectorBackend = "openvino",
        imgsz: int = IMGSZ,
        upscale: float = UPSCALE,
        conf: float = 0.25,
        iou: float = 0.6,
        far_crop: bool = True,
    ) -> None:
        weights = Path(weights)
        if not weights.is_file():
            raise UserError(f"{weights}: detector weights not found; {TRAIN_HINT}, or give a path")
        if backend not in BACKENDS:
            raise UserError(f"detector backend {backend!r}: choose one of {', '.join(BACKENDS)}")
        if not (math.isfinite(upscale) and upscale > 0):
            raise UserError(
                f"detector upscale {upscale}: must be above 0 (1 keeps frames as they are)"
            )
        self.imgsz = imgsz
        self.upscale = upscale
        self.conf = conf
        self.iou = iou
        self.backend = backend
        self.far_crop = far_crop
        if backend in ("onnx", "openvino") and weights.suffix != ".onnx":
            weights = export_onnx(weights)
        self.weights = weights
        if backend == "openvino":
            from perception.openvino_export import export_openvino

            self.model = load_yolo(export_openvino(weights))
        else:
            self.model = load_yolo(weights)
        names = self.model.names
        self.class_of = class_map(names)
        if not any(self.class_of.values()):
            raise UserError(
                f"{weights}: none of the model's classes ({', '.join(map(str, names.values()))}) "
                "is a vehicle, pedestrian, traffic light or traffic sign"
            )

    def input_hw(self, height_px: int, width_px: int) -> tuple[int, int]:
        """(H, W) network input of a frame of this size."""
        return input_hw(height_px, width_px, self.imgsz, self.upscale)

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
        xyxy, cls, score = self._predict(bgr)
        crop = self.crop_window(image) if isinstance(image, CameraImage) else None
        if crop is not None:
            u0, v0, u1, v1 = crop
            c_xyxy, c_cls, c_score = self._predict(np.ascontiguousarray(bgr[v0:v1, u0:u1]))
            c_xyxy += [u0, v0, u0, v0]
            whole = whole_in_crop(c_xyxy, crop, bgr.shape[1], bgr.shape[0])
            xyxy, cls, score = merge_boxes(
                (xyxy, cls, score), (c_xyxy[whole], c_cls[whole], c_score[whole])
            )
        out = []
        for box, c, s in zip(xyxy, cls, score, strict=True):
            object_class = self.class_of.get(int(c))
            if object_class is not None and box[2] > box[0] and box[3] > box[1]:
                out.append(Detection2D(camera, object_class, box, float(np.clip(s, 0.0, 1.0))))
        return tuple(out)

    def crop_window(self, image: CameraImage) -> tuple[int, int, int, int] | None:
        """(u0, v0, u1, v1) of the crop around the horizon straight ahead of the
        camera (in the frame's pixels; the network sees it enlarged like any input),
        or None for a frame that is not letterboxed: up to ``imgsz`` wide."""
        height, width = image.bgra.shape[:2]
        crop_h, crop_w = CROP_HW_PX
        if not self.far_crop or width <= self.imgsz or height < crop_h or width < crop_w:
            return None
        rotation = image.sensor_to_ego.rotation
        forward = rotation[:, 0].copy()
        forward[2] = 0.0  # the far road lies level with the car
        if np.linalg.norm(forward) < 1e-6:
            return None  # a camera looking straight up or down has no horizon
        x, y, z = rotation.T @ (forward / np.linalg.norm(forward))
        k = image.intrinsics
        u_px = k[0, 2] + k[0, 0] * y / x
        v_px = k[1, 2] - k[1, 1] * z / x
        u0 = int(np.clip(round(u_px - crop_w / 2), 0, width - crop_w))
        v0 = int(np.clip(round(v_px - CROP_HORIZON_AT * crop_h), 0, height - crop_h))
        return u0, v0, u0 + crop_w, v0 + crop_h

    def _predict(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N, 4) xyxy px, (N,) model class, (N,) score."""
        imgsz = self.input_hw(*bgr.shape[:2])
        result: Any  # ultralytics' annotations do not narrow to one Results with boxes
        with quiet_ultralytics():  # the first call of an ONNX model announces its runtime
            results: Any = self.model.predict(
                bgr, imgsz=imgsz, conf=self.conf, iou=self.iou, verbose=False, device="cpu"
            )
            result = results[0]
        boxes = result.boxes
        return (
            boxes.xyxy.cpu().numpy().astype(np.float64),
            boxes.cls.cpu().numpy().astype(int),
            boxes.conf.cpu().numpy().astype(np.float64),
        )


def whole_in_crop(
    xyxy: np.ndarray, crop: tuple[int, int, int, int], width_px: int, height_px: int
) -> np.ndarray:
    """(N,) bool: boxes that do not touch a crop edge lying inside the frame (a box
    cut by the crop shows part of an object, which the whole frame shows entire)."""
    u0, v0, u1, v1 = crop
    cut = np.zeros(len(xyxy), bool)
    if u0 > 0:
        cut |= xyxy[:, 0] <= u0 + CROP_EDGE_PX
    if v0 > 0:
        cut |= xyxy[:, 1] <= v0 + CROP_EDGE_PX
    if u1 < width_px:
        cut |= xyxy[:, 2] >= u1 - CROP_EDGE_PX
    if v1 < height_px:
        cut |= xyxy[:, 3] >= v1 - CROP_EDGE_PX
    return ~cut


def merge_boxes(
    *sets: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class non-maximum suppression over the boxes of the frame and its crop."""
    import torch
    from torchvision.ops import batched_nms

    xyxy = np.concatenate([s[0] for s in sets])
    cls = np.concatenate([s[1] for s in sets])
    score = np.concatenate([s[2] for s in sets])
    keep = batched_nms(
        torch.from_numpy(xyxy), torch.from_numpy(score), torch.from_numpy(cls), MERGE_IOU
    ).numpy()
    return xyxy[keep], cls[keep], score[keep]


def class_map(names: dict[int, str]) -> dict[int, ObjectClass | None]:
    """Model class index -> roadmind class (None: a class roadmind does not use)."""
    return {int(i): NAME_TO_CLASS.get(str(n)) for i, n in names.items()}


@contextlib.contextmanager
def quiet_ultralytics() -> Iterator[None]:
    """Only ultralytics' warnings, and on stderr: stdout may carry a command's JSON."""
    from ultralytics.utils import LOGGER

    level = LOGGER.level
    streams = [h for h in LOGGER.handlers if isinstance(h, logging.StreamHandler)]
    old = [h.stream for h in streams]  # setStream returns None when nothing changes
    for handler in streams:
        _set_stream(handler, sys.stderr)
    LOGGER.setLevel(logging.WARNING)
    try:
        yield
    finally:
        LOGGER.setLevel(level)
        for handler, stream in zip(streams, old, strict=True):
            _set_stream(handler, stream)


def _set_stream(handler: logging.StreamHandler, stream: object) -> None:
    """``setStream`` flushes the old stream: one closed since ultralytics bound its
    handler to it (stdout redirected at import time) is replaced without a flush."""
    if getattr(stream, "closed", False):
        stream = sys.stderr
    if getattr(handler.stream, "closed", False):
        handler.stream = stream
    else:
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


def input_hw(
    height_px: int, width_px: int, imgsz: int = IMGSZ, upscale: float = UPSCALE
) -> tuple[int, int]:
    """(H, W) network input of a frame: enlarged ``upscale`` times, its longer side at
    most ``imgsz`` (as YOLO's ``imgsz``: camera frames are landscape, so their width);
    padded to the stride."""
    scale = min(upscale, imgsz / max(height_px, width_px))
    return (_padded(height_px * scale), _padded(width_px * scale))


def load_yolo(weights: Path) -> Any:
    """ultralytics' ``YOLO`` for a ``.pt``, ``.onnx`` or OpenVINO IR folder; an empty,
    truncated or foreign file is a one-line ``UserError`` naming it (an ONNX is opened
    with ONNX Runtime first: ultralytics would load it lazily and fail at the first
    frame)."""
    weights = Path(weights)
    if not weights.is_dir():  # an OpenVINO IR folder is made by export_openvino
        check_weights(weights)
    os.environ.setdefault("YOLO_OFFLINE", "1")  # never reach for the hub
    from ultralytics import YOLO

    try:
        with quiet_ultralytics():
            return YOLO(str(weights), task="detect")
    except Exception as exc:  # ultralytics/torch raise many kinds for a bad checkpoint
        raise UserError(f"{weights}: not loadable YOLO weights ({_first_line(exc)})") from None


def check_weights(weights: Path) -> None:
    """Refuse a weights file that is missing, empty or (``.onnx``) not an ONNX model."""
    if not weights.is_file():
        raise UserError(f"{weights}: detector weights not found; {TRAIN_HINT}, or give a path")
    if weights.stat().st_size == 0:
        raise UserError(f"{weights}: the weights file is empty")
    if weights.suffix == ".onnx":
        _onnx_session(weights)


def _onnx_session(path: Path) -> Any:
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's errors are its own pybind types
        raise UserError(f"{path}: not a loadable ONNX model ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


ONNX_SOURCE_KEY = "roadmind_source_sha256"  # ONNX metadata: the weights it was made from


def export_onnx(weights: Path) -> Path:
    """The ONNX export of ``weights``, with a dynamic input shape (made once; remade
    unless the export is newer than the weights, has a dynamic shape and records the
    weights' SHA-256 in its metadata: an .onnx left from other weights is never used).
    It is kept beside the weights, or in the user cache when that folder is read-only or
    inside the installed package (``roadmind.resources.derived_path``). The export is made
    in a temporary folder and moved into place, so runs that share a folder never read a
    half-written file."""
    weights = Path(weights)
    check_weights(weights)
    onnx_path = derived_path(weights, ".onnx")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    if _export_matches(onnx_path, weights, digest):
        return onnx_path
    load_yolo(weights)  # a bad checkpoint fails here with its name, not in the exporter
    from ultralytics import YOLO

    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=onnx_path.parent) as tmp:
        staged = Path(tmp) / weights.name  # ultralytics writes the export beside its input
        shutil.copy2(weights, staged)
        with quiet_ultralytics():  # the exporter narrates every step
            exported = YOLO(str(staged)).export(
                format="onnx",
                imgsz=[_padded(IMGSZ * 9 / 16), IMGSZ],
                simplify=True,
                dynamic=True,
                verbose=False,
            )
        _stamp_source(Path(exported), digest)
        os.replace(exported, onnx_path)
    return onnx_path


def _export_matches(onnx_path: Path, weights: Path, digest: str) -> bool:
    if not onnx_path.is_file() or onnx_path.stat().st_mtime < weights.stat().st_mtime:
        return False
    try:
        session = _onnx_session(onnx_path)
    except UserError:
        return False  # a broken export is made again
    source = session.get_modelmeta().custom_metadata_map.get(ONNX_SOURCE_KEY)
    return source == digest and _is_dynamic(session)


def _stamp_source(path: Path, digest: str) -> None:
    import onnx

    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = ONNX_SOURCE_KEY, digest
    onnx.save(model, str(path))


def _onnx_is_dynamic(path: Path) -> bool:
    return _is_dynamic(_onnx_session(path))


def _is_dynamic(session: Any) -> bool:
    return not any(isinstance(d, int) for d in session.get_inputs()[0].shape[2:])


def _padded(size_px: float) -> int:
    return int(-(-round(size_px) // STRIDE_PX) * STRIDE_PX)
