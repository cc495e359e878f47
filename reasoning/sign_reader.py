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

import difflib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reasoning.reader_crops import normalise, resize, sanitize, square_crop
from reasoning.reader_model import Encoder, load_encoder
from reasoning.reader_ocr import read_middle, read_plate, read_value
from reasoning.reader_vocabulary import ReaderClass, Vocabulary, load_vocabulary
from roadmind.messages import SignReading

FULL_CONFIDENCE_PX = 20  # crops this tall or more keep their confidence
NO_CONFIDENCE_PX = 8  # ... this small or less say nothing (a speed disc 40 m away)
MIN_OCR_PX = 14  # smaller crops are not worth the OCR's time
OCR_MIN_SCORE = 0.8  # a recogniser score below this is no evidence
DISAGREE_FACTOR = 0.8  # confidence kept when encoder and OCR name different values
WORD_TRUST = 0.9  # a face's own word read by OCR: at least this sure of its class
WORD_MIN_SCORE = 0.6  # a recogniser score below this is no word
WORD_MATCH = 0.75  # letters in common with the word (STCP, STOR for STOP at 20 px)
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
        if self.ocr and best.ocr and min(original.shape[:2]) >= MIN_OCR_PX:
            value, unit, text, confidence = self._ocr(crop, best, value, unit, confidence)
            if best.unit and value != best.value:  # OCR overruled: the encoder's is second
                runner_up, runner_up_p = best.name, float(p[order[0]])
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

    def _ocr(
        self,
        crop: np.ndarray,
        best: ReaderClass,
        value: float,
        unit: str,
        confidence: float,
    ) -> tuple[float, str, str, float]:
        t0 = time.perf_counter()
        text = ""
        if best.ocr == "value":
            number, score = read_value(resize(crop, 64))
            if number is not None and score >= OCR_MIN_SCORE:
                if number == round(value):
                    confidence = 1.0 - (1.0 - confidence) * (1.0 - score)
                elif self._known(best.label, number, unit):
                    # digits are OCR's trade: its value, held less surely; the encoder's
                    # value stays the runner-up
                    confidence = DISAGREE_FACTOR * score
                    value = float(number)
        else:
            plate = read_plate(crop)
            if plate.text and plate.score >= OCR_MIN_SCORE:
                text = plate.text
                found = _VALUE.search(text)
                if found:
                    value = float(found.group(1))
                    unit = "mph" if found.group(2).lower() == "mph" else "km/h"
        self.times.ocr_ms.append((time.perf_counter() - t0) * 1000.0)
        return value, unit, text, confidence

    def _by_words(self, crop: np.ndarray, order: np.ndarray, p: np.ndarray) -> np.ndarray:
        """A sign the encoder names without value or plate (stop, yield, no entry...) gets
        its face's middle read: a class's own word found there (STOP) makes that class
        the reading, whatever the encoder ranked it. The order is unchanged otherwise."""
        best = self.classes[int(order[0])]
        worded = [i for i in order if self.classes[i].words]
        if best.ocr or best.is_light or not worded:
            return order
        t0 = time.perf_counter()
        read = read_middle(resize(crop, 64))
        self.times.ocr_ms.append((time.perf_counter() - t0) * 1000.0)
        if read.score < WORD_MIN_SCORE:
            return order
        found = re.findall(r"[A-Z]+", read.text.upper())
        for i in worded:
            words = self.classes[i].words
            if any(
                difflib.SequenceMatcher(None, f, w).ratio() >= WORD_MATCH
                for f in found
                for w in words
            ):
                p[i] = max(float(p[i]), read.score * WORD_TRUST)
                return np.array([i, *(j for j in order if j != i)])
        return order

    def _known(self, label: str, value: int, unit: str) -> bool:
        """A value the vocabulary has for this label and unit (not a misread digit)."""
        return any(
            c.label == label and round(c.value) == value and c.unit == unit for c in self.classes
        )


def _size_trust(side_px: int) -> float:
    span = FULL_CONFIDENCE_PX - NO_CONFIDENCE_PX
    return float(np.clip((side_px - NO_CONFIDENCE_PX) / span, 0.0, 1.0))


def _is_image(array: np.ndarray) -> bool:
    arr = np.asarray(array)
    if arr.ndim not in (2, 3) or arr.size == 0:
        return False
    return arr.dtype == np.uint8 or bool(np.isfinite(arr).all())
