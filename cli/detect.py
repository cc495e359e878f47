"""``roadmind detect IMAGE...``: the camera detector on image files.

One JSON line per image on stdout (every box: class, score, xyxy in pixels; the image
size; the detector's milliseconds). ``--out DIR`` also writes each image with its boxes
(``<stem>_detect.png``) and the same lines to ``detections.jsonl``. A folder stands for
its images. A file that is missing or not an image is one line on stderr naming it; the
batch goes on and the exit code is 2 at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from cli.common import output_folder, positive_float, positive_int
from roadmind.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")  # what a folder expands to
# BGR, one colour per class, as the video draws them
CLASS_COLORS = {
    "vehicle": (255, 160, 0),
    "pedestrian": (0, 0, 255),
    "traffic_light": (0, 220, 255),
    "traffic_sign": (255, 0, 200),
}
OTHER_COLOR = (200, 200, 200)


def image_paths(names: list[str]) -> Iterator[tuple[Path, str | None]]:
    """(path, None) per image to run, or (path, why) for a name that cannot be one: a
    missing file, a folder with no images. A folder gives its images, sorted."""
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not found:
                yield path, f"a folder with no images ({', '.join(IMAGE_SUFFIXES)})"
            for p in found:
                yield p, None
        elif not path.exists():
            yield path, "no such file or folder"
        else:
            yield path, None


def read_bgra(path: Path) -> np.ndarray:
    """An image file as BGRA uint8 (the detector's layout); UserError naming it if it is
    not a readable image."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
    if bgr is None:
        raise UserError(f"{path}: not a readable image file (PNG, JPEG, BMP, ...)")
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))


def make_detector(args: argparse.Namespace) -> Any:
    """The camera detector the flags ask for; ultralytics' chatter goes to stderr."""
    from perception.camera_detector import CameraDetector

    with contextlib.redirect_stdout(sys.stderr):  # stdout: the JSON lines only
        detector = CameraDetector(
            Path(args.weights), args.runtime, imgsz=args.imgsz, conf=args.conf, iou=args.iou
        )
        detector.detect(np.zeros((64, 64, 4), np.uint8))  # the runtime starts: not in "ms"
    return detector


def detect_image(detector: Any, path: Path, bgra: np.ndarray) -> dict[str, Any]:
    """One image's JSON line: its boxes, size and the detector's milliseconds."""
    height, width = bgra.shape[:2]
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            found = detector.detect(bgra)
    except ValueError as exc:  # e.g. an image too small to detect in
        raise UserError(f"{path}: {exc}") from None
    ms = (time.perf_counter() - start) * 1000.0
    boxes = [
        {
            "class": d.object_class.value,
            "score": round(d.score, 4),
            "xyxy_px": [round(float(v), 1) for v in d.xyxy_px],
        }
        for d in sorted(found, key=lambda d: -d.score)
    ]
    return {
        "image": str(path),
        "width_px": width,
        "height_px": height,
        "ms": round(ms, 1),
        "boxes": boxes,
    }


def annotate(bgra: np.ndarray, line: dict[str, Any], out: Path) -> None:
    """The image with its boxes, class and score, one colour per class."""
    import cv2

    img = np.ascontiguousarray(bgra[:, :, :3])
    height, width = img.shape[:2]
    for box in line["boxes"]:
        x0, y0, x1, y1 = (
            int(np.clip(round(v), 0, lim - 1))
            for v, lim in zip(box["xyxy_px"], (width, height, width, height), strict=True)
        )
        color = CLASS_COLORS.get(box["class"], OTHER_COLOR)
        cv2.rectangle(img, (x0, y0), (x1, y1), color, 2)
        label = f"{box['class']} {box['score']:.2f}"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        ty = y0 - 4 if y0 > th + 6 else min(y1 + th + 4, height - 2)  # above, else below
        tx = min(x0, max(width - tw - 2, 0))
        cv2.rectangle(img, (tx, ty - th - 3), (tx + tw + 2, ty + 3), color, cv2.FILLED)
        cv2.putText(
            img, label, (tx + 1, ty), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA
        )
    tmp = out.with_name(out.stem + ".part.png")
    if not cv2.imwrite(str(tmp), img):
        raise UserError(f"{out}: cannot write the annotated image")
    tmp.replace(out)


def cmd_detect(args: argparse.Namespace) -> int:
    out = output_folder(Path(args.out)) if args.out else None
    detector = make_detector(args)  # bad weights stop here, before any image
    jsonl: IO[str] | None = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        jsonl = (out / "detections.jsonl").open("w")
    failed = 0
    used: set[str] = set()
    try:
        for path, why in image_paths(args.images):
            try:
                if why is not None:
                    raise UserError(f"{path}: {why}")
                bgra = read_bgra(path)
                line = detect_image(detector, path, bgra)
            except UserError as exc:
                failed += 1
                print(f"roadmind: error: {exc}", file=sys.stderr, flush=True)
                continue
            if out is not None and jsonl is not None:
                name = f"{path.stem}_detect.png"
                n = 1
                while name in used:  # two inputs with one name: a/0.png, b/0.png
                    n += 1
                    name = f"{path.stem}_{n}_detect.png"
                used.add(name)
                annotate(bgra, line, out / name)
                line["annotated"] = str(out / name)
                jsonl.write(json.dumps(line) + "\n")
                jsonl.flush()
            print(json.dumps(line), flush=True)
    finally:
        if jsonl is not None:
            jsonl.close()
    return 2 if failed else 0


def fraction(text: str) -> float:
    """argparse type: a number in (0, 1]."""
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at most 1")
    return value


def add_detector_flags(p: argparse.ArgumentParser) -> None:
    """The detector's flags, as a YOLO user knows them."""
    from perception.camera_detector import BACKENDS, DEFAULT_WEIGHTS, IMGSZ

    p.add_argument(
        "--weights",
        default=str(DEFAULT_WEIGHTS),
        help="YOLO weights (.pt or .onnx): roadmind's or COCO ones (default: the shipped)",
    )
    p.add_argument(
        "--conf", type=fraction, default=0.25, help="lowest box score kept (default 0.25)"
    )
    p.add_argument("--iou", type=fraction, default=0.6, help="NMS IoU threshold (default 0.6)")
    p.add_argument(
        "--imgsz",
        type=positive_int,
        default=IMGSZ,
        help=f"network input's longer side at most this [px] (default {IMGSZ}; smaller "
        "images run enlarged 1.3x up to it)",
    )
    p.add_argument(
        "--runtime",
        choices=list(BACKENDS),
        default="openvino",
        help="detector runtime (openvino: the ONNX export on OpenVINO, the stack's)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "detect", help="camera detector on image files: JSON lines, annotated images"
    )
    p.add_argument("images", nargs="+", help="image files (PNG, JPEG) or folders of them")
    p.add_argument("--out", default=None, help="folder for annotated images and detections.jsonl")
    add_detector_flags(p)
    p.set_defaults(func=cmd_detect)
