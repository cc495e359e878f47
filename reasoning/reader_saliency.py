"""Where the reader's image tower looked, for the class it read.

``gradient`` (the default): how much each pixel moves the class score (the crop's
similarity to the class's prompts): the absolute input gradient, its largest colour
channel, smoothed. ``gradcam``: Grad-CAM on the tower's last feature map (channels
weighted by their mean gradient, negatives dropped). On the project's small tower the
last map is 2x2 to 4x4 cells, too coarse to place a sign inside its crop: on signs
pasted on clutter Grad-CAM's heat lay more on the sign than around it in 16 of 30
crops, the gradient's in 30 of 30 (``tests/reasoning/test_reader_saliency.py``).
Both come back at the crop's own size, in [0, 1].
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from reasoning.reader_crops import normalise, resize, sanitize
from reasoning.sign_reader import SignReader

SMOOTH_PX = 2.0  # blur of the gradient map at the 64 px input: a region, not single pixels


def saliency(
    reader: SignReader,
    crop: np.ndarray,
    class_name: str | None = None,
    method: Literal["gradient", "gradcam"] = "gradient",
) -> np.ndarray:
    """(H, W) float32 in [0, 1] over ``crop`` for ``class_name`` (default: the class the
    reader picks). A flat zero map when the tower looked nowhere in particular."""
    import torch

    rgb = sanitize(crop)
    pixels = torch.from_numpy(normalise(resize(rgb, reader.encoder.image_px)[None]))
    pixels.requires_grad_(method == "gradient")
    with torch.enable_grad():
        embedded, feature_map = reader.encoder.image_features_and_map(pixels)
        feature_map.retain_grad()
        logits = embedded @ reader.class_vectors.T
        if class_name is None:
            index = int(logits[0].argmax())
        else:
            names = [c.name for c in reader.classes]
            if class_name not in names:
                raise ValueError(f"saliency: no class {class_name!r} in {reader.vocabulary.source}")
            index = names.index(class_name)
        logits[0, index].backward()
    if method == "gradient":
        grad = pixels.grad
        if grad is None:
            return np.zeros(rgb.shape[:2], np.float32)
        heat = grad[0].abs().amax(dim=0).numpy()
        heat = cv2.GaussianBlur(heat, (0, 0), SMOOTH_PX * reader.encoder.image_px / 64)
    else:
        grad = feature_map.grad
        if grad is None:
            return np.zeros(rgb.shape[:2], np.float32)
        weights = grad.mean(dim=(2, 3), keepdim=True)
        heat = torch.relu((weights * feature_map).sum(dim=1))[0].detach().numpy()
    peak = float(heat.max())
    if not np.isfinite(peak) or peak <= 0.0:
        return np.zeros(rgb.shape[:2], np.float32)
    heat = (heat / peak).astype(np.float32)
    return cv2.resize(heat, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)


def overlay(crop: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The crop (RGB uint8) with the saliency drawn over it as a heat map (RGB)."""
    rgb = sanitize(crop)
    colored = cv2.applyColorMap((np.clip(heat, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    blended = rgb.astype(np.float32) * (1 - alpha) + colored[:, :, ::-1].astype(np.float32) * alpha
    return blended.clip(0, 255).astype(np.uint8)
