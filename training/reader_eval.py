"""``roadmind eval reader``: the reader on embedded-world crops it never trained on.

- signs: type and value accuracy on legible crops (boxes >= ``LEGIBLE_PX`` tall),
  with and without OCR; by size band and lighting;
- lights: the reader's state beside the pixel state reader's (``perception``);
- robustness: the same sign crops blurred, noised, JPEG-compressed, a quarter hidden,
  darkened to dusk, and shrunk under 20 px;
- zero-shot: the vocabulary said in other words (``configs/reader/paraphrases.yaml``),
  and the sign type training left out (synthetic crops of it; the world has none).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from evaluation.reader import accuracy, rate
from perception.light_state import read_light_state
from reasoning.reader_vocabulary import load_vocabulary
from reasoning.sign_reader import SignReader
from roadmind.messages import LightState
from roadmind.resources import configs_dir
from training.reader_data import synth_crop
from training.reader_world import WorldCrop, world_crops

LEGIBLE_PX = 20
SIZE_BANDS = ((8, 12), (12, 20), (20, 40), (40, 10_000))
PARAPHRASES = configs_dir() / "reader" / "paraphrases.yaml"
HELD_OUT_LABEL = "no_parking"  # what the shipped recipe leaves out of training


def _blur(c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return cv2.GaussianBlur(c, (0, 0), max(0.8, c.shape[0] / 40))


def _noise(c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(c + rng.normal(0, 12, c.shape), 0, 255).astype(np.uint8)


def _jpeg(c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", c, [cv2.IMWRITE_JPEG_QUALITY, 20])
    decoded = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else None
    return np.asarray(decoded) if decoded is not None else c


def _occlude(c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A quarter of the object hidden: half its width, half its height, at a corner."""
    out = c.copy()
    side = c.shape[0]
    inner0, inner1 = int(side * 0.065), int(side * 0.935)  # the box inside the context
    half = (inner1 - inner0) // 2
    y = inner0 if rng.random() < 0.5 else inner1 - half
    x = inner0 if rng.random() < 0.5 else inner1 - half
    out[y : y + half, x : x + half] = rng.uniform(40, 160, 3).astype(np.uint8)
    return out


def _dusk(c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(c * np.array([0.42, 0.36, 0.30]), 0, 255).astype(np.uint8)


def _small(c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return cv2.resize(c, (16, 16), interpolation=cv2.INTER_AREA)


CORRUPTIONS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "clean": lambda c, rng: c,
    "blur": _blur,
    "noise": _noise,
    "jpeg_q20": _jpeg,
    "occlusion_25pct": _occlude,
    "dusk": _dusk,
    "under_20px": _small,
}


def _said(reader: SignReader, crops: Sequence[np.ndarray], kind: str) -> list[str]:
    """Class names as the truth has them: a value only for labels whose classes have
    values (a school-zone plate's OCR value is not part of its class)."""
    valued = {c.label for c in reader.classes if c.unit}
    return [
        r.describe() if r.label in valued else r.label
        for r in reader.read(crops, [kind] * len(crops))
    ]


def evaluate_reader(
    reader: SignReader, frames: int, seed: int, held_out_crops: int = 200, progress: bool = True
) -> dict[str, Any]:
    start = time.perf_counter()
    crops = list(world_crops(frames, seed, progress=progress))
    signs = [c for c in crops if c.kind == "sign"]
    lights = [c for c in crops if c.kind == "light"]
    legible = [c for c in signs if c.box_height_px >= LEGIBLE_PX]
    out: dict[str, Any] = {
        "model": reader.encoder.name,
        "frames": frames,
        "seed": seed,
        "crops": {"signs": len(signs), "signs_legible": len(legible), "lights": len(lights)},
    }
    truth = [c.truth for c in legible]
    said = _said(reader, [c.rgb for c in legible], "sign")  # read once, scored many ways
    out["signs"] = accuracy(truth, said)
    encoder_only = SignReader(reader.encoder, reader.vocabulary, ocr=False)
    out["signs_encoder_only"] = accuracy(
        truth, _said(encoder_only, [c.rgb for c in legible], "sign")
    )["accuracy"]
    out["signs_by_size_px"] = {
        f"{lo}-{hi}" if hi < 10_000 else f"{lo}+": _band(reader, signs, lo, hi)
        for lo, hi in SIZE_BANDS
    }
    out["signs_by_lighting"] = {
        light: accuracy(
            [c.truth for c in legible if c.lighting == light],
            [s for c, s in zip(legible, said, strict=True) if c.lighting == light],
        )["accuracy"]
        for light in sorted({c.lighting for c in legible})
    }
    out["lights"] = _lights(reader, lights)
    rng = np.random.default_rng(seed)
    out["robustness"] = {
        name: accuracy(
            truth,
            said if name == "clean" else _said(reader, [f(c.rgb, rng) for c in legible], "sign"),
        )["accuracy"]
        for name, f in CORRUPTIONS.items()
    }
    out["zero_shot"] = _zero_shot(reader, legible, said, held_out_crops, seed)
    out["reader_ms_per_crop"] = round(sum(reader.times.encoder_ms) / max(reader.times.crops, 1), 3)
    out["wall_s"] = round(time.perf_counter() - start, 1)
    return out


def _band(reader: SignReader, signs: Sequence[WorldCrop], lo: float, hi: float) -> Any:
    band = [c for c in signs if lo <= c.box_height_px < hi]
    return accuracy([c.truth for c in band], _said(reader, [c.rgb for c in band], "sign"))[
        "accuracy"
    ]


def _lights(reader: SignReader, lights: Sequence[WorldCrop]) -> dict[str, Any]:
    """The dual encoder, the pixel state reader, and the loop's way: the pixel reader,
    with the encoder's reading where the pixel reader cannot tell (UNKNOWN)."""
    truth = [c.truth for c in lights]
    pixel = []
    for c in lights:
        bgra = cv2.cvtColor(np.ascontiguousarray(c.rgb[:, :, ::-1]), cv2.COLOR_BGR2BGRA)
        state, _ = read_light_state(bgra, c.box_in_crop_px)
        pixel.append(f"light_{state.value}" if state is not LightState.UNKNOWN else "unknown")
    encoder = _said(reader, [c.rgb for c in lights], "light")
    scores = {
        "reader": accuracy(truth, encoder),
        "pixel_state_reader": accuracy(truth, pixel),
        "pixel_then_reader": accuracy(
            truth, [e if p == "unknown" else p for p, e in zip(pixel, encoder, strict=True)]
        ),
    }
    best = max(scores, key=lambda k: scores[k]["accuracy"] or 0.0)
    return {**scores, "better": best.replace("_", " ")}


def _zero_shot(
    reader: SignReader, legible: Sequence[WorldCrop], said: Sequence[str], count: int, seed: int
) -> dict[str, Any]:
    """Paraphrased prompts on the world's crops; the held-out type on synthetic crops of
    it, and how often the reader said it of a world crop (``said``: its readings)."""
    paraphrased = SignReader(reader.encoder, load_vocabulary(PARAPHRASES), ocr=False)
    truth = [c.truth for c in legible]
    held = [c for c in reader.vocabulary.classes if c.label == HELD_OUT_LABEL]
    out: dict[str, Any] = {
        "paraphrases_accuracy": accuracy(
            truth, _said(paraphrased, [c.rgb for c in legible], "sign")
        )["accuracy"],
        "paraphrases_file": str(PARAPHRASES),
    }
    if held:
        crops = [
            synth_crop(held[0], np.random.default_rng([seed, 424242, i]), reader.encoder.image_px)
            for i in range(count)
        ]
        labels = [r.label for r in reader.read(crops, ["sign"] * count)]
        out["held_out_type"] = HELD_OUT_LABEL
        out["held_out_type_recall"] = rate([s == HELD_OUT_LABEL for s in labels])
        out["held_out_type_said"] = dict(
            sorted({s: labels.count(s) for s in set(labels)}.items(), key=lambda kv: -kv[1])[:5]
        )
        out["held_out_type_false_alarms_on_world"] = rate([s == HELD_OUT_LABEL for s in said])
    return out
