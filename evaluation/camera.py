"""Score the camera detector on the held-out split of a generated dataset: mAP per
class through ultralytics' validator (``roadmind eval perception``)."""

from __future__ import annotations

from pathlib import Path

import cv2

from perception.camera_detector import (
    TRAIN_HINT,
    export_onnx,
    input_hw,
    load_yolo,
    quiet_ultralytics,
)
from perception.openvino_export import export_openvino
from roadmind.config import read_yaml
from roadmind.errors import UserError


def eval_camera(weights: Path, data_dir: Path, runtime: str = "openvino") -> dict[str, object]:
    """mAP50 and mAP50-95 per class on the held-out split of ``data_dir`` (made by
    ``roadmind datagen``), through ultralytics' validator; ``runtime`` openvino (the
    stack's), onnx or torch."""
    if not weights.is_file():
        raise UserError(f"{weights}: detector weights not found; {TRAIN_HINT}, or give --weights")
    data = data_dir / "data.yaml"
    if not data.is_file():
        raise UserError(
            f"{data}: no dataset; make one with `roadmind datagen --out {data_dir} --frames 1600`"
        )
    names = dataset_names(data)
    val_images = sorted((data_dir / "images" / "val").glob("*.jpg"))
    if not val_images:
        raise UserError(f"{data.parent / 'images' / 'val'}: no validation images (*.jpg)")
    # scored at the input the detector runs these frames at (enlarged, e.g. 640 -> 832);
    # datagen writes every frame of a dataset at one size
    first = cv2.imread(str(val_images[0]))
    if first is None:
        raise UserError(f"{val_images[0]}: not a readable image")
    input_px = input_hw(*first.shape[:2])[1]
    if runtime in ("onnx", "openvino") and weights.suffix != ".onnx":
        weights = export_onnx(weights)
    model = load_yolo(export_openvino(weights) if runtime == "openvino" else weights)
    # the validator compares class indices, not names
    if {int(k): v for k, v in model.names.items()} != names:
        raise UserError(
            f"{weights}: classes {list(model.names.values())} are not the dataset's "
            f"{list(names.values())}; mAP needs weights trained on roadmind's classes "
            "(COCO weights work in the detector, not in this score)"
        )
    with quiet_ultralytics():
        metrics = model.val(
            data=str(data),
            split="val",
            imgsz=input_px,
            batch=1 if weights.suffix == ".onnx" else 16,
            device="cpu",
            plots=False,
            verbose=False,
            rect=weights.suffix != ".onnx",
        )
    names = metrics.names
    per_class = {
        names[int(c)]: {
            "mAP50": round(float(metrics.box.ap50[i]), 4),
            "mAP50_95": round(float(metrics.box.ap[i]), 4),
        }
        for i, c in enumerate(metrics.box.ap_class_index)
    }
    return {
        "weights": str(weights),
        "split": "val (maps and seeds training never saw)",
        "images": len(val_images),
        "input_px": input_px,
        "mAP50": round(float(metrics.box.map50), 4),
        "mAP50_95": round(float(metrics.box.map), 4),
        "per_class": per_class,
        "targets": {"mAP50": 0.90, "per_class_mAP50": 0.85},
        "targets_met": float(metrics.box.map50) >= 0.90
        and all(v["mAP50"] >= 0.85 for v in per_class.values()),
    }


def dataset_names(data: Path) -> dict[int, str]:
    """Label index -> class name from a dataset's ``data.yaml`` (a mapping or a list)."""
    doc = read_yaml(data)
    names = doc.get("names") if isinstance(doc, dict) else None
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names or not all(isinstance(k, int) for k in names):
        raise UserError(
            f"{data}: field 'names' must map label indices to class names "
            "(as `roadmind datagen` writes it)"
        )
    return {k: str(v) for k, v in names.items()}
