"""The shipped sign and light reader on faces the embedded world draws, on lights,
and on input that is no image at all."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reasoning import reader_ocr, sign_reader
from reasoning.reader_crops import with_context
from reasoning.reader_vocabulary import load_vocabulary
from reasoning.sign_reader import SignReader
from roadmind.messages import LightState, SignType
from training.reader_data import face_rgba


@pytest.fixture(scope="module")
def reader() -> SignReader:
    return SignReader()


def _crop(name: str, seed: int) -> np.ndarray:
    """A legible view: the face 24-48 px tall, turned up to 30 degrees, in daylight,
    on a plain background, cut with the loop's context."""
    vocabulary = load_vocabulary()
    cls = vocabulary.classes[vocabulary.index(name)]
    rng = np.random.default_rng([seed, 99])
    face = face_rgba(cls, 256, rng)
    side = int(rng.integers(24, 49))
    small = cv2.resize(
        face,
        (max(4, round(side * face.shape[1] / face.shape[0])), side),
        interpolation=cv2.INTER_AREA,
    ).astype(np.float32)
    yaw = np.cos(np.radians(rng.uniform(0, 30)))
    small = cv2.resize(small, (max(4, round(small.shape[1] * yaw)), side))
    back = np.full((*small.shape[:2], 3), rng.uniform(60, 200, 3), np.float32)
    alpha = small[:, :, 3:4] / 255.0
    view = (back * (1 - alpha) + small[:, :, :3] * alpha).astype(np.uint8)
    return with_context(view)


@pytest.mark.parametrize(
    ("name", "sign_type", "value", "unit"),
    [
        ("stop", SignType.STOP, 0.0, ""),
        ("yield", SignType.YIELD, 0.0, ""),
        ("speed_limit 30 km/h", SignType.SPEED_LIMIT, 30.0, "km/h"),
        ("speed_limit 60 mph", SignType.SPEED_LIMIT, 60.0, "mph"),
        ("speed_limit 120 km/h", SignType.SPEED_LIMIT, 120.0, "km/h"),
    ],
)
def test_reads_sign_faces(
    reader: SignReader, name: str, sign_type: SignType, value: float, unit: str
) -> None:
    """Legible views of each face are read right, each with a runner-up."""
    readings = reader.read([_crop(name, s) for s in range(6)], ["sign"] * 6)
    right = [r for r in readings if (r.sign_type, r.value, r.unit) == (sign_type, value, unit)]
    assert len(right) == 6, [r.describe() for r in readings]
    assert all(r.runner_up and r.runner_up != r.describe() for r in right)


@pytest.mark.parametrize("state", [LightState.RED, LightState.YELLOW, LightState.GREEN])
def test_reads_light_states(reader: SignReader, state: LightState) -> None:
    readings = reader.read([_crop(f"light_{state.value}", s) for s in range(6)], ["light"] * 6)
    assert sum(r.light_state is state for r in readings) == 6
    assert all(r.sign_type is None for r in readings)


def test_bad_crops_give_no_confident_reading_and_never_raise(reader: SignReader) -> None:
    bad = [
        np.zeros((0, 0, 3), np.uint8),  # empty
        np.full((20, 20, 3), np.nan, np.float32),  # non-finite
        np.full((30, 30, 3), np.inf, np.float64),
        np.zeros((3, 3, 3), np.uint8),  # tiny
        np.zeros((5,), np.uint8),  # not an image
        np.random.default_rng(0).integers(0, 255, (4, 40, 3), dtype=np.uint8),  # a sliver
    ]
    readings = reader.read(bad, ["sign"] * len(bad))
    assert len(readings) == len(bad)
    assert all(r.confidence < 0.3 for r in readings), [(r.label, r.confidence) for r in readings]


def test_ocr_disagreement_takes_ocr_value_less_surely(
    reader: SignReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    crop = _crop("speed_limit 50 km/h", 1)
    agreed = reader.read([crop], ["sign"])[0]
    assert agreed.value == 50.0
    # OCR finds "30" far likelier than any other value on the disc
    monkeypatch.setattr(
        sign_reader,
        "value_likelihoods",
        lambda rgb, values: {v: (0.0 if v == 30 else -30.0) for v in values},
    )
    disputed = reader.read([crop], ["sign"])[0]
    assert disputed.value == 30.0
    assert disputed.confidence < agreed.confidence
    # the same digits in the other unit come next: OCR cannot tell units apart
    assert disputed.runner_up == "speed_limit 30 mph"


def test_ocr_reads_the_plate_of_a_school_zone_sign(reader: SignReader) -> None:
    from PIL import Image

    from sim.embedded.render import textures

    face = textures.draw_text_sign(
        256, ["SCHOOL", "ZONE", "20 MPH", "7-9 AM 2-4 PM", "MON-FRI"], 0.78, textures.YELLOW_GREEN
    )
    plate = np.asarray(face.resize((70, 90), Image.Resampling.LANCZOS))
    reading = reader.read([with_context(plate)], ["sign"])[0]
    assert reading.sign_type is SignType.SCHOOL_ZONE
    assert "7-9 AM 2-4 PM" in reading.text and "MON-FRI" in reading.text
    assert (reading.value, reading.unit) == (20.0, "mph")


def test_missing_ocr_package_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from reasoning.text_encoder import ModelUnavailableError

    reader_ocr._engine.cache_clear()
    monkeypatch.setitem(sys.modules, "rapidocr", None)
    with pytest.raises(ModelUnavailableError, match="pip install rapidocr"):
        reader_ocr.value_likelihoods(np.zeros((40, 40, 3), np.uint8), [30])
    reader_ocr._engine.cache_clear()


def test_ctc_likelihood_sums_every_alignment() -> None:
    """The forward recursion against brute force over every path of 4 columns."""
    import itertools

    probs = np.random.default_rng(3).random((4, 3))
    probs /= probs.sum(axis=1, keepdims=True)
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(3), repeat=4):
        collapsed = tuple(c for i, c in enumerate(path) if c != 0 and (i == 0 or c != path[i - 1]))
        totals[collapsed] = totals.get(collapsed, 0.0) + float(
            np.prod([probs[t, c] for t, c in enumerate(path)])
        )
    for labels, total in totals.items():
        if labels:
            assert reader_ocr.ctc_log_likelihood(probs, list(labels)) == pytest.approx(
                np.log(total)
            )


def test_value_likelihoods_rank_the_disc_value_first() -> None:
    from PIL import Image

    from sim.embedded.render import textures

    values = [10, 20, 30, 50, 80, 120]
    for value in (30, 80, 120):
        face = textures.draw_speed_limit(256, value, "km/h").convert("RGB")
        crop = with_context(np.asarray(face.resize((48, 48), Image.Resampling.LANCZOS)))
        likelihood = reader_ocr.value_likelihoods(crop, values)
        assert max(likelihood, key=likelihood.__getitem__) == value, likelihood
