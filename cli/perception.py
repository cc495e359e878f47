"""CLI commands of the camera detector: datagen, train, eval and bench."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from cli.output import emit_json, timing_ms
from roadmind.resources import configs_dir, models_dir

if TYPE_CHECKING:  # the CLI imports heavy modules inside its commands
    from perception.camera_detector import CameraDetector
    from roadmind.messages import CameraImage

RECIPE = configs_dir() / "training" / "detector.yaml"
DATA_DIR = Path("datasets") / "detector"  # generated data goes under the working directory
MODEL_DIR = models_dir() / "detector"


def cmd_datagen(args: argparse.Namespace) -> int:
    from training.datagen import generate
    from training.dataset_layout import label_stats

    counts = generate(Path(args.out), args.frames, args.seed, progress=not args.quiet)
    stats = label_stats(Path(args.out))
    if not any(stats["val"].values()):
        print(
            "roadmind: warning: no validation labels (one group of 8 frames in 5 is "
            "validation: give --frames 40 or more to train on this dataset)",
            file=sys.stderr,
        )
    print(json.dumps({"written": counts, "labels": stats}))
    return 0


def cmd_train_detector(args: argparse.Namespace) -> int:
    from perception.camera_detector import export_onnx
    from training.train_detector import WEIGHTS_NAME, train_detector

    out = Path(args.out)
    summary = train_detector(
        Path(args.recipe), Path(args.data), out, args.device, make_data=not args.no_datagen
    )
    onnx = export_onnx(out / WEIGHTS_NAME)
    print(json.dumps({**summary, "onnx": str(onnx)}, indent=1))
    return 0


def cmd_eval_camera(args: argparse.Namespace) -> dict[str, object]:
    """mAP50 and mAP50-95 per class on the held-out split, through ultralytics' validator."""
    import os

    import cv2

    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics import YOLO

    from perception.camera_detector import TRAIN_HINT, export_onnx, input_hw, quiet_ultralytics
    from roadmind.errors import UserError

    weights = Path(args.weights)
    if not weights.is_file():
        raise UserError(f"{weights}: detector weights not found; {TRAIN_HINT}, or give --weights")
    data = Path(args.data) / "data.yaml"
    if not data.is_file():
        raise UserError(
            f"{data}: no dataset; make one with `roadmind datagen --out {args.data} --frames 1600`"
        )
    names = yaml.safe_load(data.read_text())["names"]
    val_images = sorted((Path(args.data) / "images" / "val").glob("*.jpg"))
    if not val_images:
        raise UserError(f"{data.parent / 'images' / 'val'}: no validation images (*.jpg)")
    # scored at the input the detector runs these frames at (enlarged, e.g. 640 -> 832);
    # datagen writes every frame of a dataset at one size
    first = cv2.imread(str(val_images[0]))
    if first is None:
        raise UserError(f"{val_images[0]}: not a readable image")
    input_px = input_hw(*first.shape[:2])[1]
    if args.backend == "onnx" and weights.suffix != ".onnx":
        weights = export_onnx(weights)
    with quiet_ultralytics():
        model = YOLO(str(weights), task="detect")
    # the validator compares class indices, not names
    if {int(k): v for k, v in model.names.items()} != {int(k): v for k, v in names.items()}:
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


def cmd_eval_perception(args: argparse.Namespace) -> int:
    """Camera mAP on the held-out split and LiDAR precision/recall by range band."""
    from evaluation.lidar import evaluate
    from perception.lidar_pipeline import load_lidar_config
    from sim.scenario import SCENARIOS_DIR

    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
        result: dict[str, object] = {"camera": cmd_eval_camera(args)}
    if not args.camera_only:
        names = sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml"))
        result["lidar"] = evaluate(names, args.lidar_frames, 5, load_lidar_config())
    return emit_json(result, args.out)


def cmd_bench_perception(args: argparse.Namespace) -> int:
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
        detector = cmd_bench_detector(args)
    return emit_json({"benchmark": "perception", "detector": detector}, args.out)


def cmd_bench_detector(args: argparse.Namespace) -> dict[str, object]:
    """Detector ms per rendered frame: 640x360 (run enlarged to 832x468), ONNX Runtime
    and PyTorch; the default rig's 960x540 front camera (letterboxed to 832 plus the
    horizon crop), ONNX Runtime."""
    from perception.camera_detector import CameraDetector
    from sim.embedded.world import EmbeddedWorld
    from sim.rig import load_rig, resolve_rig_path
    from sim.scenario import load_scenario

    images = {}
    for rig in ("bench", "default"):
        with EmbeddedWorld(load_rig(resolve_rig_path(rig))) as world:
            images[rig] = world.reset(load_scenario("default")).cameras[0]
    image = images["bench"]
    out: dict[str, object] = {"frame_px": f"{image.bgra.shape[1]}x{image.bgra.shape[0]}"}
    detectors = {b: CameraDetector(Path(args.weights), b) for b in ("onnx", "torch")}  # type: ignore[arg-type]
    for backend, detector in detectors.items():
        out[backend] = _time_detector(detector, image, args.repeats)
    front = images["default"]
    out[f"front_{front.bgra.shape[1]}x{front.bgra.shape[0]}_with_crop_onnx"] = _time_detector(
        detectors["onnx"], front, args.repeats
    )
    out["target_onnx_ms"] = 60.0
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


def add_eval_and_bench(
    evals: argparse._SubParsersAction, bench: argparse._SubParsersAction
) -> None:
    from perception.camera_detector import DEFAULT_WEIGHTS

    e = evals.add_parser(
        "perception", help="camera mAP per class (held-out maps) and LiDAR precision/recall"
    )
    e.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    e.add_argument("--backend", choices=["onnx", "torch"], default="onnx")
    e.add_argument("--data", default=str(DATA_DIR), help="dataset made by `roadmind datagen`")
    e.add_argument("--lidar-frames", type=int, default=40, help="LiDAR scans per scenario")
    e.add_argument("--camera-only", action="store_true")
    e.add_argument("--out", default=None, help="also write the JSON to this file")
    e.set_defaults(func=cmd_eval_perception)
    b = bench.add_parser(
        "perception", help="detector ms per 640x360 frame (ONNX, PyTorch) and 960x540 with crop"
    )
    b.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    b.add_argument("--repeats", type=int, default=30)
    b.add_argument("--out", default=None, help="also write the JSON to this file")
    b.set_defaults(func=cmd_bench_perception)


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datagen", help="write a YOLO dataset from the embedded world (resumable)")
    p.add_argument("--out", default=str(DATA_DIR), help=f"dataset folder (default {DATA_DIR})")
    p.add_argument("--frames", type=int, required=True, help="frames in all (train + val)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_datagen)

    p = sub.add_parser("train", help="train a model from a committed recipe")
    train = p.add_subparsers(dest="target", required=True)
    t = train.add_parser("detector", help="YOLO11n camera detector; exports ONNX")
    t.add_argument("--recipe", default=str(RECIPE))
    t.add_argument("--data", default=str(DATA_DIR), help="dataset folder (generated if missing)")
    t.add_argument("--out", default=str(MODEL_DIR), help="weights, recipe copy, training.json")
    t.add_argument("--device", default="cpu", help="cpu, or a CUDA device such as 0")
    t.add_argument(
        "--no-datagen",
        action="store_true",
        help="train on --data as it stands (e.g. a copied dataset on a GPU machine)",
    )
    t.set_defaults(func=cmd_train_detector)
