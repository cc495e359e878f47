"""Signs are read once, again when seen nearer, and a worse look keeps the better reading."""

from __future__ import annotations

import numpy as np

from fusion.sign_readings import SignReadings
from roadmind.frames import Pose
from roadmind.messages import CameraImage, Detection2D, ObjectClass, SignReading, SignType

IMAGE = CameraImage("front", np.zeros((100, 200, 4), np.uint8), 70.0, Pose(), 0.0)


def _det(height_px: float) -> Detection2D:
    box = np.array([10.0, 10.0, 10.0 + height_px, 10.0 + height_px])
    return Detection2D("front", ObjectClass.TRAFFIC_SIGN, box, 0.9)


class _Reader:
    def __init__(self, confidences: list[float]) -> None:
        self.confidences = confidences
        self.frames: list[int] = []

    def __call__(self, image: CameraImage, box: np.ndarray, frame_id: int) -> SignReading:
        self.frames.append(frame_id)
        conf = self.confidences[min(len(self.frames), len(self.confidences)) - 1]
        return SignReading("speed_limit", SignType.SPEED_LIMIT, 30.0, "km/h", confidence=conf)


def test_read_once_then_again_only_when_nearer() -> None:
    reader = _Reader([0.95])
    readings = SignReadings(reader)
    for frame, height in enumerate([20.0, 21.0, 22.0, 25.0, 27.0]):
        held = readings.get(("landmark", 1), IMAGE, _det(height), frame)
    assert reader.frames == [0, 4]  # 25 px is 1.25x of 20: not yet; 27 px is 1.35x
    readings.get(("landmark", 1), IMAGE, _det(36.0), 5)
    assert reader.frames == [0, 4, 5]
    assert held.frame_id == 4


def test_unsure_reading_is_read_again_as_soon_as_the_sign_grows() -> None:
    reader = _Reader([0.5, 0.97])
    readings = SignReadings(reader)
    readings.get("a", IMAGE, _det(20.0), 0)
    held = readings.get("a", IMAGE, _det(21.5), 1)
    assert reader.frames == [0, 1] and held.reading.confidence == 0.97


def test_worse_look_does_not_replace_a_good_reading() -> None:
    reader = _Reader([0.95, 0.2])
    readings = SignReadings(reader)
    readings.get("a", IMAGE, _det(20.0), 0)
    held = readings.get("a", IMAGE, _det(40.0), 1)  # read again: occluded, unsure
    assert held.frame_id == 0 and held.reading.confidence == 0.95


def test_a_box_cut_by_the_image_edge_keeps_the_reading_it_has() -> None:
    reader = _Reader([0.95, 0.95])
    readings = SignReadings(reader)
    readings.get("a", IMAGE, _det(20.0), 0)
    edge = Detection2D("front", ObjectClass.TRAFFIC_SIGN, np.array([150.0, 0.0, 199.5, 60.0]), 0.9)
    held = readings.get("a", IMAGE, edge, 1)
    assert reader.frames == [0] and held.frame_id == 0


def test_a_signs_meaning_is_its_reading_with_the_landmark_as_evidence() -> None:
    from fusion.bev_fusion import _sign
    from fusion.landmarks import KnownLandmark
    from fusion.sign_readings import HeldReading

    landmark = KnownLandmark(
        17, ObjectClass.TRAFFIC_SIGN, np.zeros(3), 0.0, SignType.SPEED_LIMIT, 50.0, "km/h"
    )
    read = SignReading("speed_limit", SignType.SPEED_LIMIT, 30.0, "km/h", confidence=0.9)
    sign = _sign(HeldReading(read, 412, 30.0), landmark, 20.0, 3.0)
    assert (sign.value, sign.landmark_id, sign.read_frame, sign.confidence) == (30.0, 17, 412, 0.9)
    unreadable = HeldReading(SignReading("not_a_sign", confidence=0.8), 413, 30.0)
    fallback = _sign(unreadable, landmark, 20.0, 3.0)
    assert (fallback.value, fallback.read_frame, fallback.confidence) == (50.0, None, 1.0)
    unknown = _sign(unreadable, None, 20.0, 3.0)
    assert unknown.sign_type is SignType.TEXT and unknown.confidence == 0.0
