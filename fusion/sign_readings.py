"""Readings of located signs, kept per sign between fusion cycles.

Reading a crop costs milliseconds (OCR more), and a sign stays in view for many
cycles: a sign is read when first seen, and again only when it is seen clearly bigger
(nearer, so more legible) or the last reading was unsure and it has grown at all,
and never from a box the image's edge cuts once it has a reading.
The reader itself is injected (``ReadSign``): it lives in ``reasoning/``, above fusion.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np

from fusion.locate import whole_in_image
from roadmind.messages import CameraImage, Detection2D, LightState, SignReading

ReadSign = Callable[[CameraImage, np.ndarray, int], SignReading]  # image, box, frame id
ReadLight = Callable[[CameraImage, np.ndarray, int], LightState]  # the same, a light's box
REREAD_GROWTH = 1.3  # box height over the last read's: read again
SURE = 0.9  # below this, any growth is worth another read
MAX_KEPT = 256  # signs remembered; the oldest are forgotten first


@dataclass(frozen=True, slots=True)
class HeldReading:
    reading: SignReading
    frame_id: int  # the frame it was read in
    box_height_px: float


class SignReadings:
    def __init__(self, read: ReadSign) -> None:
        self.read = read
        self.calls = 0
        self._held: dict[Hashable, HeldReading] = {}

    def get(
        self, key: Hashable, image: CameraImage, det: Detection2D, frame_id: int
    ) -> HeldReading:
        height = float(det.xyxy_px[3] - det.xyxy_px[1])
        held = self._held.get(key)
        if held is not None and not whole_in_image(det, image):
            return held  # cut by the image's edge: a part of the face reads worse
        if held is not None:
            growth = height / max(held.box_height_px, 1e-6)
            unsure = held.reading.confidence < SURE and growth > 1.05
            if growth < REREAD_GROWTH and not unsure:
                return held
        self.calls += 1
        fresh = HeldReading(self.read(image, det.xyxy_px, frame_id), frame_id, height)
        if held is not None and fresh.reading.confidence < held.reading.confidence * 0.5:
            return held  # a worse look (occluded, cut by the edge) does not replace a good one
        self._held.pop(key, None)
        self._held[key] = fresh
        if len(self._held) > MAX_KEPT:
            self._held.pop(next(iter(self._held)))
        return fresh
