"""OCR of sign values and plate text with the PP-OCR models inside ``rapidocr``.

Values (the digits of a speed-limit disc) and face words (STOP) are read by the
recogniser alone on the face's middle: no text detection needed, a few ms. Plates
(school zone, road works) need detection of their lines first. Both are loaded once,
lazily.

A sign can only say what the vocabulary knows, so values and words are not taken from
the recogniser's greedy text: each candidate string ("30", "130", "STOP") is scored
by its CTC likelihood under the recogniser's per-column character probabilities. At
7 px digit height the greedy read of a "80" disc is "30" with a fair score, while the
likelihood of "80" stays comparable; the reader weighs these against the encoder.
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
# Where a disc's digits are (fractions of the crop's side: y0, y1, x0, x1): the middle
# band, a little above centre on mph discs, and three cuts a little higher, lower and
# wider. A 20 px disc's digits are 8 px tall: one pixel more or less in the cut changes
# the recogniser's reading, so the likelihoods of the four cuts are averaged.
VALUE_CUTS = (
    (0.28, 0.68, 0.16, 0.84),
    (0.25, 0.65, 0.14, 0.86),
    (0.31, 0.71, 0.18, 0.82),
    (0.26, 0.70, 0.12, 0.88),
)
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


def _band(rgb: np.ndarray, y0: float, y1: float, x0: float, x1: float) -> np.ndarray:
    """A band of a square crop (fractions of its side), BGR, scaled to the recogniser's
    line height."""
    side = rgb.shape[0]
    band = rgb[int(side * y0) : int(side * y1), int(side * x0) : int(side * x1)]
    scale = VALUE_PX / max(band.shape[0], 1)
    bgr = cv2.resize(band[:, :, ::-1], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(bgr)


def _columns(bgrs: list[np.ndarray]) -> tuple[np.ndarray, dict[str, int]]:
    """The recogniser's (B, T, C) character probabilities over text lines (one batch,
    each padded to the widest) and the index of each character (0: the CTC blank).
    Uses the loaded recogniser's own preprocessing and ONNX session."""
    engine = _engine(False)
    if engine.text_rec is None:  # rapidocr loads its models on first use
        engine(np.zeros((VALUE_PX, VALUE_PX, 3), np.uint8))
    rec = engine.text_rec
    height, width = rec.rec_image_shape[1:3]
    ratio = max([width / height, *(b.shape[1] / max(b.shape[0], 1) for b in bgrs)])
    batch = np.stack([rec.resize_norm_img(b, ratio) for b in bgrs]).astype(np.float32)
    probs = np.asarray(rec.session(batch))
    return probs, _char_index(tuple(rec.postprocess_op.character))


@functools.cache
def _char_index(charset: tuple[str, ...]) -> dict[str, int]:
    return {c: i for i, c in enumerate(charset)}


def ctc_log_likelihood(probs: np.ndarray, labels: list[int]) -> float:
    """log P(labels | columns) under CTC (blank = 0): the sum over every alignment, by
    the forward recursion over the blank-interleaved label sequence."""
    ext = np.zeros(2 * len(labels) + 1, np.int64)
    ext[1::2] = labels
    # only the columns of the blank and the labels: the character set is 18k wide
    logp = np.log(np.maximum(probs[:, ext], 1e-12))
    # a skip over a blank is allowed only between two different labels
    skip = np.zeros(len(ext), bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    alpha = np.full(len(ext), -np.inf)
    alpha[0] = logp[0, 0]
    if len(ext) > 1:
        alpha[1] = logp[0, 1]
    for t in range(1, logp.shape[0]):
        stay = alpha
        step = np.concatenate(([-np.inf], alpha[:-1]))
        jump = np.where(skip, np.concatenate(([-np.inf, -np.inf], alpha[:-2])), -np.inf)
        alpha = np.logaddexp(np.logaddexp(stay, step), jump) + logp[t]
    return float(np.logaddexp(alpha[-1], alpha[-2]) if len(ext) > 1 else alpha[-1])


def _likelihoods(bgrs: list[np.ndarray], texts: list[str]) -> dict[str, float]:
    """log P(text) of each text, averaged over the lines ``bgrs`` (cuts of one place)."""
    probs, index = _columns(bgrs)
    out = {}
    for text in set(texts):
        if all(c in index for c in text):
            labels = [index[c] for c in text]
            out[text] = float(np.mean([ctc_log_likelihood(p, labels) for p in probs]))
        else:
            out[text] = -np.inf
    return out


def value_likelihoods(rgb: np.ndarray, values: list[int]) -> dict[int, float]:
    """log P(digits) of each candidate value on a speed-limit disc crop (square, disc
    filling most of it); empty for a crop too small to hold digits."""
    if rgb.shape[0] < 8:
        return {}
    bands = [_band(rgb, *cut) for cut in VALUE_CUTS]
    scores = _likelihoods(bands, [str(v) for v in values])
    return {v: scores[str(v)] for v in values}


def word_likelihood(rgb: np.ndarray, word: str) -> float:
    """log P(word) across the middle band of a sign crop (STOP on an octagon), or -inf
    for a crop too small to hold it."""
    if rgb.shape[0] < 8:
        return -np.inf
    return _likelihoods([_band(rgb, 0.3, 0.7, 0.08, 0.92)], [word.upper()])[word.upper()]


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
