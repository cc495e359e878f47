"""OCR of sign values and plate text with the PP-OCR models inside ``rapidocr``.

Values (the digits of a speed-limit disc) are read by the recogniser alone on the
disc's middle: no text detection needed, a few ms. Plates (school zone, road works)
need detection of their lines first. Both are loaded once, lazily.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from reasoning.text_encoder import require

OCR_PACKAGE = "rapidocr"
VALUE_PX = 48  # the disc's middle is scaled to this height for the recogniser
PLATE_PX = 160  # plates are scaled to this width before line detection
_DIGITS = re.compile(r"\d{1,3}")
_DOT_DASH = re.compile(r"(?<=\w)\s*[·•‧∙]\s*(?=\w)")


@dataclass(frozen=True, slots=True)
class OcrText:
    text: str  # lines joined by newlines
    score: float  # mean recogniser score of the lines, 0 when nothing was read


@functools.cache
def _engine(detect: bool) -> Any:
    require("rapidocr", OCR_PACKAGE)
    from rapidocr import RapidOCR

    params: dict[str, Any] = {"Global.log_level": "error", "Global.use_cls": False}
    if not detect:
        params["Global.use_det"] = False
    return RapidOCR(params=params)


def _run(engine: Any, bgr: np.ndarray) -> tuple[list[str], list[float]]:
    result = engine(bgr)
    texts = list(getattr(result, "txts", None) or ())
    scores = [float(s) for s in (getattr(result, "scores", None) or ())]
    return texts, scores


def read_value(rgb: np.ndarray) -> tuple[int | None, float]:
    """The number on a speed-limit disc crop (square, disc filling most of it) and the
    recogniser's score; (None, 0) when no number is read."""
    side = rgb.shape[0]
    if side < 8:
        return None, 0.0
    # the digits sit in the middle third, a little above centre on mph discs
    middle = rgb[int(side * 0.28) : int(side * 0.68), int(side * 0.16) : int(side * 0.84)]
    scale = VALUE_PX / max(middle.shape[0], 1)
    bgr = cv2.resize(middle[:, :, ::-1], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    texts, scores = _run(_engine(False), np.ascontiguousarray(bgr))
    for text, score in zip(texts, scores, strict=False):
        found = _DIGITS.search(text.replace("O", "0").replace("o", "0"))
        if found:
            return int(found.group()), score
    return None, 0.0


def read_middle(rgb: np.ndarray) -> OcrText:
    """Text across the middle band of a sign crop (a word such as STOP), recogniser only."""
    side = rgb.shape[0]
    if side < 8:
        return OcrText("", 0.0)
    middle = rgb[int(side * 0.3) : int(side * 0.7), int(side * 0.08) : int(side * 0.92)]
    scale = VALUE_PX / max(middle.shape[0], 1)
    bgr = cv2.resize(middle[:, :, ::-1], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    texts, scores = _run(_engine(False), np.ascontiguousarray(bgr))
    if not texts:
        return OcrText("", 0.0)
    return OcrText(" ".join(texts), float(np.mean(scores)))


def read_plate(rgb: np.ndarray) -> OcrText:
    """The lines of a text plate crop, top to bottom."""
    if min(rgb.shape[:2]) < 8:
        return OcrText("", 0.0)
    scale = PLATE_PX / rgb.shape[1]
    bgr = cv2.resize(rgb[:, :, ::-1], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    texts, scores = _run(_engine(True), np.ascontiguousarray(bgr))
    if not texts:
        return OcrText("", 0.0)
    # a hyphen on a small plate is read as a dot between words ("MON·FRI"): a plate's
    # dots between letters or digits are its dashes
    lines = [_DOT_DASH.sub("-", t) for t in texts]
    return OcrText("\n".join(lines), float(np.mean(scores)))
