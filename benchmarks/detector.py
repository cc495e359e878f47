"""``roadmind bench perception``: camera detector ms per rendered frame."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.timing import timing_ms
from loop.rollout import frames_at
from loop.worlds import WorldOptions
from perception.camera_detector import CameraDetector
from roadmind.messages import CameraImage
from sim.rig import load_rig, resolve_rig_path
from sim.scenario import load_scenario


def bench_detector(weights: Path, repeats: int) -> dict[str, object]:
    """Detector ms per rendered frame: 640x360 (run enlarged to 832x468), ONNX Runtime
    and PyTorch; the default rig's 960x540 front camera (letterboxed to 832 plus the
    horizon crop), ONNX Runtime."""
    images = {}
    for rig in ("bench", "default"):
        options = WorldOptions(load_rig(resolve_rig_path(rig)))
        frame, _ = frames_at(load_scenario("default"), 0, options)
        images[rig] = frame.cameras[0]
    image = images["bench"]
    out: dict[str, object] = {"frame_px": f"{image.bgra.shape[1]}x{image.bgra.shape[0]}"}
    detectors = {b: CameraDetector(weights, b) for b in ("openvino", "onnx", "torch")}
    for backend, detector in detectors.items():
        out[backend] = _time_detector(detector, image, repeats)
    front = images["default"]
    out[f"front_{front.bgra.shape[1]}x{front.bgra.shape[0]}_with_crop_openvino"] = _time_detector(
        detectors["openvino"], front, repeats
    )
    out["target_ms"] = 40.0
    return out


def _time_detector(detector: CameraDetector, image: CameraImage, repeats: int) -> dict[str, object]:
    for _ in range(3):
        detector.detect(image)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        found = detector.detect(image)
        times.append((time.perf_counter() - t0) * 1000.0)
    return {**timing_ms(times), "detections": len(found)}
