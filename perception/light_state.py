"""Reading a traffic light's state from the pixels of its detected box.

A lit lamp is the brightest saturated blob in the head. Each bright, saturated pixel
votes by hue (red, yellow, green), weighted by brightness times saturation; the
winner must clearly beat the others and sit where that lamp sits in a vertical head
(red top, yellow middle, green bottom). A head with no bright lamp reads ``OFF``;
a box too small to tell, a tie or a lamp in the wrong place reads ``UNKNOWN``.
"""

from __future__ import annotations

import numpy as np

from roadmind.messages import LightState

MIN_HEIGHT_PX = 6  # fewer rows cannot separate three lamps
MIN_SATURATION = 0.45
MIN_VALUE = 0.55  # of full scale: lit lamps glow, unlit ones are dark tints
MIN_LIT_PIXELS = 2
WIN_RATIO = 2.0  # the winning colour's weight over the runner-up
# Hue ranges [deg] and where the lamp sits, as a fraction of the head's height.
HUES: dict[LightState, tuple[tuple[float, float], tuple[float, float]]] = {
    LightState.RED: ((-25.0, 20.0), (0.0, 0.5)),
    LightState.YELLOW: ((20.0, 70.0), (0.2, 0.8)),
    LightState.GREEN: ((80.0, 190.0), (0.5, 1.0)),
}


def read_light_state(bgra: np.ndarray, box_xyxy: np.ndarray) -> tuple[LightState, float]:
    """State and confidence in [0, 1] of the light in ``box_xyxy`` of a BGRA frame."""
    height, width = bgra.shape[:2]
    x0, y0, x1, y1 = (round(float(v)) for v in box_xyxy)
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, width), min(y1, height)
    if y1 - y0 < MIN_HEIGHT_PX or x1 <= x0:
        return LightState.UNKNOWN, 0.0
    rgb = bgra[y0:y1, x0:x1, 2::-1].astype(np.float32) / 255.0
    value = rgb.max(axis=2)
    chroma = value - rgb.min(axis=2)
    saturation = np.where(value > 0, chroma / np.maximum(value, 1e-6), 0.0)
    lit = (value >= MIN_VALUE) & (saturation >= MIN_SATURATION)
    if int(lit.sum()) < MIN_LIT_PIXELS:
        return LightState.OFF, 0.5
    hue = _hue_deg(rgb, value, chroma)
    hue = np.where(hue > 335.0, hue - 360.0, hue)  # red wraps around 0
    rows = (np.arange(y1 - y0, dtype=np.float32)[:, None] + 0.5) / (y1 - y0)
    rows = np.broadcast_to(rows, lit.shape)
    weight = value * saturation
    votes: dict[LightState, float] = {}
    where: dict[LightState, float] = {}
    for state, ((lo, hi), _) in HUES.items():
        sel = lit & (hue >= lo) & (hue < hi)
        votes[state] = float(weight[sel].sum())
        where[state] = float(np.average(rows[sel], weights=weight[sel])) if sel.any() else 0.5
    ranked = sorted(votes, key=votes.__getitem__, reverse=True)
    best, second = ranked[0], ranked[1]
    if votes[best] <= 0.0 or votes[best] < WIN_RATIO * votes[second]:
        return LightState.UNKNOWN, 0.0
    lo, hi = HUES[best][1]
    if not lo <= where[best] <= hi:
        return LightState.UNKNOWN, 0.0
    confidence = 1.0 - votes[second] / votes[best]
    return best, float(confidence)


def _hue_deg(rgb: np.ndarray, value: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    safe = np.maximum(chroma, 1e-6)
    hue = np.where(
        value == r,
        ((g - b) / safe) % 6.0,
        np.where(value == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    return hue * 60.0
