"""``roadmind read IMAGE...``: what the signs and lights in images say.

A whole camera image goes through the detector first, then every sign and light box
through the reader; a small image (or ``--crop``) is read as one crop. One JSON line
per image; ``--out DIR`` also writes each image annotated with its readings.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from roadmind.errors import UserError

CROP_MAX_PX = 256  # images no larger than this on both sides are taken as one crop


def cmd_read(args: argparse.Namespace) -> int:
    import cv2

    from perception.light_state import read_light_state
    from reasoning.reader_crops import with_context
    from reasoning.reader_model import load_encoder
    from reasoning.sign_reader import SignReader

    reader = SignReader(load_encoder(args.model), ocr=not args.no_ocr)
    detector = None
    out = Path(args.out) if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    for name in args.images:
        path = Path(name)
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
        if bgr is None:
            raise UserError(f"{path}: not a readable image file (PNG, JPEG, BMP, ...)")
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        as_crop = args.crop or (not args.whole and max(rgb.shape[:2]) <= CROP_MAX_PX)
        entries: list[dict[str, Any]] = []
        if as_crop:
            reading = reader.read([with_context(rgb)])[0]
            height, width = rgb.shape[:2]
            entries.append({"box_xyxy_px": [0, 0, width, height], **_reading_json(reading)})
        else:
            if detector is None:
                from perception.camera_detector import CameraDetector

                with contextlib.redirect_stdout(sys.stderr):  # stdout: the JSON lines only
                    detector = CameraDetector()
            from roadmind.messages import ObjectClass

            bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
            wanted = {ObjectClass.TRAFFIC_SIGN: "sign", ObjectClass.TRAFFIC_LIGHT: "light"}
            with contextlib.redirect_stdout(sys.stderr):
                found = detector.detect(bgra)
            dets = [d for d in found if d.object_class in wanted]
            readings = reader.read_in_image(
                rgb, [d.xyxy_px for d in dets], [wanted[d.object_class] for d in dets]
            )
            for det, reading in zip(dets, readings, strict=True):
                entry = {
                    "box_xyxy_px": [round(float(v), 1) for v in det.xyxy_px],
                    "detector_class": det.object_class.value,
                    "detector_score": round(det.score, 3),
                    **_reading_json(reading),
                }
                if det.object_class is ObjectClass.TRAFFIC_LIGHT:
                    state, conf = read_light_state(bgra, det.xyxy_px)
                    entry["pixel_state"] = {"state": state.value, "confidence": round(conf, 3)}
                entries.append(entry)
        line = {"image": str(path), "mode": "crop" if as_crop else "image", "readings": entries}
        print(json.dumps(line), flush=True)
        if out is not None:
            _annotate(bgr, entries, out / f"{path.stem}_read.png")
    return 0


def _reading_json(reading: Any) -> dict[str, Any]:
    return {
        "label": reading.label,
        "type": reading.sign_type.value if reading.sign_type is not None else None,
        "value": reading.value,
        "unit": reading.unit,
        "text": reading.text,
        "confidence": round(reading.confidence, 4),
        "runner_up": reading.runner_up,
        "runner_up_confidence": round(reading.runner_up_confidence, 4),
        "light_state": reading.light_state.value if reading.light_state is not None else None,
    }


def _annotate(bgr: np.ndarray, entries: list[dict[str, Any]], path: Path) -> None:
    import cv2

    img = bgr.copy()
    scale = 1.0
    if max(img.shape[:2]) < 200:  # a crop: enlarge so that its label can be read
        scale = 200 / max(img.shape[:2])
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    height, width = img.shape[:2]
    for e in entries:
        x0, y0, x1, y1 = (
            int(min(v * scale, lim - 1))
            for v, lim in zip(e["box_xyxy_px"], (width, height, width, height), strict=True)
        )
        color = (40, 200, 40) if e["confidence"] >= 0.6 else (0, 160, 255)  # BGR: sure / unsure
        cv2.rectangle(img, (x0, y0), (x1, y1), color, 2)
        what = e["label"] + (f" {e['value']:g} {e['unit']}" if e["unit"] else "")
        label = f"{what} {e['confidence']:.2f}"
        ty = y0 - 4 if y0 > 14 else min(y1 + 14, height - 2)
        cv2.putText(img, label, (x0, ty), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)
    tmp = path.with_name(path.stem + ".part.png")
    if not cv2.imwrite(str(tmp), img):
        raise UserError(f"{path}: cannot write the annotated image")
    tmp.replace(path)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "read", help="read the signs and lights in images or sign crops (JSON lines)"
    )
    p.add_argument("images", nargs="+", help="image files: camera images or sign crops")
    p.add_argument("--out", default=None, help="folder for annotated images")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--crop", action="store_true", help="every image is one sign crop")
    mode.add_argument("--whole", action="store_true", help="every image is a camera image")
    p.add_argument(
        "--model",
        default=None,
        help="reader model: a trained folder, or a CLIP checkpoint folder or model id in the "
        "local cache (default: the shipped reader)",
    )
    p.add_argument("--no-ocr", action="store_true", help="the dual encoder alone")
    p.set_defaults(func=cmd_read)
