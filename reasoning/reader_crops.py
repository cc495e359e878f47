"""Crops as the reader's image tower takes them: a square around the box with some
context, resized, normalised. Training cuts its crops with the same code."""

from __future__ import annotations

import cv2
import numpy as np

CONTEXT = 0.15  # extra side around the box: a sign's outline is part of what it is
# Normalisation of CLIP's image towers; the project's tower is trained with it too.
MEAN_RGB = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
STD_RGB = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)


def square_crop(rgb: np.ndarray, box_xyxy: np.ndarray, context: float = CONTEXT) -> np.ndarray:
    """(S, S, 3) uint8 square centred on the box, side max(w, h) * (1 + context); parts
    outside the image repeat its edge. An empty or non-finite box gives a 1x1 crop."""
    height, width = rgb.shape[:2]
    box = np.asarray(box_xyxy, dtype=np.float64)
    if box.shape != (4,) or not np.isfinite(box).all() or height == 0 or width == 0:
        return np.zeros((1, 1, 3), np.uint8)
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1.0 + context)
    if side < 1.0:
        return np.zeros((1, 1, 3), np.uint8)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    left, top = round(cx - side / 2.0), round(cy - side / 2.0)
    size = max(1, round(side))
    cols = np.clip(np.arange(left, left + size), 0, width - 1)
    rows = np.clip(np.arange(top, top + size), 0, height - 1)
    return np.ascontiguousarray(rgb[np.ix_(rows, cols)][..., :3])


def to_square(crop: np.ndarray) -> np.ndarray:
    """Pad a non-square crop to a square with mid grey (edge repeats would smear a
    plate's colour over the padding and change its shape)."""
    height, width = crop.shape[:2]
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    return cv2.copyMakeBorder(
        crop,
        top,
        side - height - top,
        left,
        side - width - left,
        cv2.BORDER_CONSTANT,
        value=(128, 128, 128),
    )


def with_context(crop: np.ndarray, context: float = CONTEXT) -> np.ndarray:
    """A tight crop (a sign cut out by hand) given the margin the loop's crops have."""
    height, width = crop.shape[:2]
    pad = max(1, round(max(height, width) * context / 2))
    return to_square(
        cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    )


def resize(crop: np.ndarray, image_px: int) -> np.ndarray:
    """(image_px, image_px, 3) uint8; area filter when shrinking (no aliasing)."""
    square = to_square(crop) if crop.shape[0] != crop.shape[1] else crop
    shrink = square.shape[0] > image_px
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(square, (image_px, image_px), interpolation=interp)


def sanitize(crop: np.ndarray) -> np.ndarray:
    """Any array a caller hands in as an (H, W, 3) uint8 RGB crop: floats in [0, 1]
    (non-finite values become 0), grey images repeated, alpha dropped."""
    arr = np.asarray(crop)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        return np.zeros((1, 1, 3), np.uint8)
    arr = arr[:, :, :3]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.dtype != np.uint8:
        values = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if values.max(initial=0.0) <= 1.0 else 1.0
        arr = np.clip(values * scale, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def normalise(batch_uint8: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 RGB -> (N, 3, S, S) float32 as the tower expects."""
    x = batch_uint8.astype(np.float32) / 255.0
    x = (x - MEAN_RGB) / STD_RGB
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
