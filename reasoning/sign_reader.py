"""The sign and light reader: what a detected sign or light means, from its pixels.

The dual encoder (``reader_model``) scores each crop against the vocabulary's prompts
(``reader_vocabulary``), zero-shot: the classes are text. Where the winning class has
a value or a plate, OCR (``reader_ocr``) reads it too; agreement raises the confidence;
on disagreement OCR's value (digits are its trade) is kept, less surely, and the
encoder's becomes the runner-up. Crops
too small to read honestly get their confidence scaled down; a crop that is not an
image (empty, non-finite) reads ``unreadable`` at confidence 0. Nothing here raises on
bad pixels.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reasoning.reader_crops import normalise, resize, sanitize, square_crop
from reasoning.reader_model import Encoder, load_encoder
from reasoning.reader_ocr import read_plate, value_likelihoods, word_likelihood
from reasoning.reader_vocabulary import ReaderClass, Vocabulary, load_vocabulary
from roadmind.messages import SignReading

FULL_CONFIDENCE_PX = 20  # crops this tall or more keep their confidence
NO_CONFIDENCE_PX = 8  # ... this small or less say nothing (a speed disc 40 m away)
MIN_OCR_PX = 14  # smaller crops are not worth the OCR's time
OCR_MIN_SCORE = 0.8  # a plate line read below this recogniser score is no evidence
ENCODER_WEIGHT = 0.5  # the encoder's log-probability against OCR's on a value
DISAGREE_FACTOR = 0.8  # confidence kept when the fused value is not the encoder's
OCR_FLOOR_LOGP = -20.0  # no candidate value this likely: the disc's middle holds no digits
WORD_TRUST = 0.9  # a face's own word found by OCR: at least this sure of its class
WORD_MIN_CHAR_P = 0.06  # per-letter likelihood of a face's word below this is no word
# (other faces score STOP at 0.04 or less per letter; a 20 px stop at 0.06 or more)
_VALUE = re.compile(r"(\d{1,3})\s*(mph|km\s*/?\s*h|kph)", re.IGNORECASE)


@dataclass
class ReaderTimes:
    encoder_ms: list[float] = field(default_factory=list)  # per batch
    ocr_ms: list[float] = field(default_factory=list)  # per OCR call
    crops: int = 0


class SignReader:
    """``read(crops, kinds)`` -> one ``SignReading`` per crop (RGB, any size)."""

    def __init__(
        self,
        encoder: Encoder | None = None,
        vocabulary: Vocabulary | None = None,
        ocr: bool = True,
    ) -> None:
        import torch

        self.encoder = encoder if encoder is not None else load_encoder()
        self.vocabulary = vocabulary if vocabulary is not None else load_vocabulary()
        self.ocr = ocr
        self.times = ReaderTimes()
        classes = self.vocabulary.classes
        with torch.no_grad():
            prompts = [p for c in classes for p in c.prompts]
            vectors = self.encoder.text_features(prompts)
            owner = torch.tensor([i for i, c in enumerate(classes) for _ in c.prompts])
            # prompt ensemble: a class is the mean of its prompts' directions
            sums = torch.zeros(len(classes), vectors.shape[1]).index_add_(0, owner, vectors)
            self.class_vectors = torch.nn.functional.normalize(sums, dim=-1)
        self._is_light = np.array([c.is_light for c in classes])

    @property
    def classes(self) -> tuple[ReaderClass, ...]:
        return self.vocabulary.classes

    def probabilities(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, K) softmax over every class of the vocabulary, for crops of any kind."""
        return self._probabilities([sanitize(c) for c in crops])

    def _probabilities(self, clean: Sequence[np.ndarray]) -> np.ndarray:
        """``probabilities`` of crops already sanitized."""
        import torch

        if not clean:
            return np.zeros((0, len(self.classes)), np.float32)
        batch = np.stack([resize(c, self.encoder.image_px) for c in clean])
        t0 = time.perf_counter()
        with torch.no_grad():
            image = self.encoder.image_features(torch.from_numpy(normalise(batch)))
            logits = self.encoder.logit_scale() * image @ self.class_vectors.T
            probs = torch.softmax(logits, dim=-1).numpy()
        self.times.encoder_ms.append((time.perf_counter() - t0) * 1000.0)
        self.times.crops += len(clean)
        return probs

    def read(
        self, crops: Sequence[np.ndarray], kinds: Sequence[str | None] | None = None
    ) -> list[SignReading]:
        """Readings of ``crops``; ``kinds``: per crop "sign", "light" or None (either)."""
        kinds = list(kinds) if kinds is not None else [None] * len(crops)
        if len(kinds) != len(crops):
            raise ValueError(f"read: {len(crops)} crops but {len(kinds)} kinds")
        clean = [sanitize(c) for c in crops]
        probs = self._probabilities(clean)
        out = []
        for crop, original, p, kind in zip(clean, crops, probs, kinds, strict=True):
            out.append(self._reading(crop, original, p, kind))
        return out

    def read_in_image(
        self, rgb: np.ndarray, boxes_xyxy: Sequence[np.ndarray], kinds: Sequence[str | None]
    ) -> list[SignReading]:
        """Readings of the boxes of one RGB image, each cut with context."""
        return self.read([square_crop(rgb, b) for b in boxes_xyxy], kinds)

    def _reading(
        self, crop: np.ndarray, original: np.ndarray, p: np.ndarray, kind: str | None
    ) -> SignReading:
        if not _is_image(original) or crop.shape[0] < 2:
            return SignReading("unreadable", confidence=0.0)
        allowed = (
            np.ones_like(self._is_light) if kind is None else self._is_light == (kind == "light")
        )
        p = np.where(allowed, p, 0.0)
        total = float(p.sum())
        if total <= 0.0 or not np.isfinite(total):
            return SignReading("unreadable", confidence=0.0)
        p = p / total
        order = np.argsort(-p)
        if self.ocr and min(original.shape[:2]) >= MIN_OCR_PX:
            order = self._by_words(crop, order, p)
        best, second = self.classes[order[0]], self.classes[order[1]]
        confidence = float(p[order[0]])
        value, unit, text = best.value, best.unit, ""
        runner_up, runner_up_p = second.name, float(p[order[1]])
        if self.ocr and min(original.shape[:2]) >= MIN_OCR_PX:
            if best.ocr == "value":
                best, confidence, second, runner_up_p = self._value(crop, p, int(order[0]))
                value, unit, runner_up = best.value, best.unit, second.name
            elif best.ocr == "text":
                value, unit, text = self._plate(crop, value, unit)
        # small crops: neither the encoder nor OCR is to be trusted fully, agreeing or not
        confidence *= _size_trust(min(original.shape[:2]))
        return SignReading(
            best.label,
            best.sign_type,
            float(value),
            unit,
            text,
            float(np.clip(confidence, 0.0, 1.0)),
            runner_up,
            runner_up_p,
            best.light_state,
        )

    def _value(
        self, crop: np.ndarray, p: np.ndarray, best: int
    ) -> tuple[ReaderClass, float, ReaderClass, float]:
        """The valued class of ``best``'s label that the encoder and OCR together make
        likeliest: the encoder's probability (tempered: it is sure too soon on small
        digits) times each value's OCR likelihood. Returns the class, its confidence
        (the label's share of the encoder times the fused posterior), the runner-up and
        its confidence (lowered where the fused value is not the encoder's)."""
        label = self.classes[best].label
        same = np.array([i for i, c in enumerate(self.classes) if c.label == label])
        t0 = time.perf_counter()
        likelihood = value_likelihoods(crop, sorted({round(self.classes[i].value) for i in same}))
        self.times.ocr_ms.append((time.perf_counter() - t0) * 1000.0)
        score = ENCODER_WEIGHT * np.log(np.maximum(p[same], 1e-9))
        if likelihood and max(likelihood.values()) >= OCR_FLOOR_LOGP:
            score = score + np.array([likelihood[round(self.classes[i].value)] for i in same])
        posterior = np.exp(score - score.max())
        posterior /= posterior.sum()
        ranked = np.argsort(-posterior)
        # encoder and OCR naming different values: the fused one is held less surely
        mass = float(p[same].sum()) * (DISAGREE_FACTOR if same[ranked[0]] != best else 1.0)
        first, second = same[ranked[0]], same[ranked[1]] if len(same) > 1 else same[ranked[0]]
        return (
            self.classes[first],
            mass * float(posterior[ranked[0]]),
            self.classes[second],
            mass * float(posterior[ranked[1]] if len(same) > 1 else 0.0),
        )

    def _plate(self, crop: np.ndarray, value: float, unit: str) -> tuple[float, str, str]:
        """A plate's text and the limit it states, if any (``value``, ``unit`` kept
        otherwise)."""
        t0 = time.perf_counter()
        plate = read_plate(crop)
        self.times.ocr_ms.append((time.perf_counter() - t0) * 1000.0)
        if not plate.text or plate.score < OCR_MIN_SCORE:
            return value, unit, ""
        found = _VALUE.search(plate.text)
        if found:
            value = float(found.group(1))
            unit = "mph" if found.group(2).lower() == "mph" else "km/h"
        return value, unit, plate.text

    def _by_words(self, crop: np.ndarray, order: np.ndarray, p: np.ndarray) -> np.ndarray:
        """A sign the encoder names without value or plate (stop, yield, no entry...) gets
        its face's middle scored for each class's own word: a word the recogniser finds
        likely there (STOP) makes that class the reading, whatever the encoder ranked
        it. The order is unchanged otherwise."""
        best = self.classes[int(order[0])]
        worded = [i for i in order if self.classes[i].words]
        if best.ocr or best.is_light or not worded:
            return order
        face = resize(crop, 64)  # the recogniser reads small faces better smoothed up
        for i in worded:
            t0 = time.perf_counter()
            # per-character probability: the geometric mean over the word's letters
            found = max(
                float(np.exp(word_likelihood(face, w) / len(w))) for w in self.classes[i].words
            )
            self.times.ocr_ms.append((time.perf_counter() - t0) * 1000.0)
            if found >= WORD_MIN_CHAR_P:
                p[i] = max(float(p[i]), found * WORD_TRUST)
                return np.array([i, *(j for j in order if j != i)])
        return order


def _size_trust(side_px: int) -> float:
    span = FULL_CONFIDENCE_PX - NO_CONFIDENCE_PX
    return float(np.clip((side_px - NO_CONFIDENCE_PX) / span, 0.0, 1.0))


def _is_image(array: np.ndarray) -> bool:
    arr = np.asarray(array)
    if arr.ndim not in (2, 3) or arr.size == 0:
        return False
    return arr.dtype == np.uint8 or bool(np.isfinite(arr).all())
