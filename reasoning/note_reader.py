"""The map-note reader the rules use: the sentence encoder tells what a note is about
(school zone, road works, speed limit, another zone, or nothing the rules enforce) by
its similarity to example phrases in ``configs/reader/note_intents.yaml``; the careful
patterns of :func:`reasoning.map_text.read_note` read its numbers, units and times.

The encoder is loaded on the first note read, once per process, and the examples are
encoded once per config file.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, field_validator

from reasoning.map_text import (
    CAP_UNITS,
    NoteIntent,
    TextConstraint,
    TimeWindow,
    ZoneHours,
    ZoneKind,
    intent_text,
    read_note,
)
from roadmind.config import StrictModel, load_model
from roadmind.resources import configs_dir

if TYPE_CHECKING:
    from reasoning.text_encoder import SentenceEncoder

NO_CONSTRAINT = "no_constraint"
INTENT_NAMES = (*(k.value for k in ZoneKind), NO_CONSTRAINT)
_HHMM_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def intents_path() -> Path:
    return configs_dir() / "reader" / "note_intents.yaml"


class IntentSpec(StrictModel):
    examples: list[str] = Field(min_length=1)
    hours: str | None = None  # "06:00-19:00": when zones of this kind are normally in force

    @field_validator("hours")
    @classmethod
    def _hours_is_a_range(cls, value: str | None) -> str | None:
        if value is not None:
            _window(value)  # ValueError names the text
        return value


class IntentConfig(StrictModel):
    min_similarity: float = Field(ge=-1.0, le=1.0)
    intents: dict[str, IntentSpec]

    @field_validator("intents")
    @classmethod
    def _known_intents(cls, value: dict[str, IntentSpec]) -> dict[str, IntentSpec]:
        unknown = sorted(set(value) - set(INTENT_NAMES))
        if unknown:
            raise ValueError(f"unknown intents {unknown}; expected some of {INTENT_NAMES}")
        return value


def _window(text: str) -> TimeWindow:
    match = _HHMM_RANGE.match(text.strip())
    if match is None:
        raise ValueError(f"hours {text!r} must look like '06:00-19:00'")
    h1, m1, h2, m2 = map(int, match.groups())
    return TimeWindow(h1 * 60 + m1, h2 * 60 + m2)


@functools.cache
def _encoder() -> SentenceEncoder:
    from reasoning.text_encoder import SentenceEncoder

    return SentenceEncoder()


@functools.cache
def _examples(path: Path) -> tuple[IntentConfig, tuple[str, ...], np.ndarray]:
    """The config, each example's intent, and the examples' unit vectors (encoded once)."""
    config = load_model(IntentConfig, path)
    names = tuple(name for name, spec in config.intents.items() for _ in spec.examples)
    texts = [text for spec in config.intents.values() for text in spec.examples]
    return config, names, _encoder().encode(texts)


class IntentClassifier:
    """Nearest example phrase by cosine similarity; below ``min_similarity``: unknown."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or intents_path()

    def hours(self) -> dict[ZoneKind, ZoneHours]:
        config = load_model(IntentConfig, self.path)
        return {
            ZoneKind(name): ZoneHours(_window(spec.hours), f"{name.replace('_', ' ')} hours")
            for name, spec in config.intents.items()
            if spec.hours is not None and name != NO_CONSTRAINT
        }

    def classify(self, words: str) -> NoteIntent | None:
        """The intent of a note's words (see ``intent_text``); None when none is close."""
        if not words:
            return None
        config, names, vectors = _examples(self.path)
        similarity = vectors @ _encoder().encode([words])[0]
        best = int(np.argmax(similarity))
        if similarity[best] < config.min_similarity:
            return None
        name = names[best]
        kind = None if name == NO_CONSTRAINT else ZoneKind(name)
        return NoteIntent(kind, f"{name} (similarity {similarity[best]:.2f})")


class EncoderNoteParser:
    """``NoteParser``: the encoder's intent plus careful parsing of numbers, units, times.

    ``default_unit`` is the unit a number without one is read in (the map's speed unit, or
    the country's); ``unit_source`` says which, in the constraint's ``reading``.
    """

    def __init__(
        self,
        default_unit: str | None = None,
        unit_source: str = "the map's unit",
        intents: Path | None = None,
    ) -> None:
        if default_unit is not None and default_unit not in CAP_UNITS:
            raise ValueError(f"default_unit must be one of {CAP_UNITS}, got {default_unit!r}")
        self.default_unit = default_unit
        self.unit_source = unit_source
        self.classifier = IntentClassifier(intents)
        self._hours: dict[ZoneKind, ZoneHours] | None = None

    def parse(self, text: str) -> TextConstraint:
        if self._hours is None:
            self._hours = self.classifier.hours()
        intent = self.classifier.classify(intent_text(text)) if isinstance(text, str) else None
        return read_note(
            text,
            intent,
            hours=self._hours,
            default_unit=self.default_unit,
            unit_source=self.unit_source,
        )
