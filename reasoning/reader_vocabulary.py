"""The reader's vocabulary: sign and light classes as text prompts (configs/reader/).

An entry with values (speed limits) expands to one class per value and unit; every
class keeps its prompts with ``{value}``, ``{value_words}`` and ``{unit_words}`` filled
in. The reader embeds the prompts once and scores crops against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from roadmind.config import StrictModel, load_model
from roadmind.errors import ConfigError
from roadmind.messages import LightState, SignType
from roadmind.resources import configs_dir

VOCABULARY_PATH = configs_dir() / "reader" / "vocabulary.yaml"
UNIT_WORDS = {"km/h": "kilometres per hour", "mph": "miles per hour"}
_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    """0 <= n < 1000 in English words: 35 -> 'thirty-five', 120 -> 'one hundred twenty'."""
    if not 0 <= n < 1000:
        raise ValueError(f"number_words takes 0..999, got {n}")
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")


class SignEntry(StrictModel):
    label: str = Field(min_length=1)
    type: SignType | None
    prompts: list[str] = Field(min_length=1)
    values: dict[Literal["km/h", "mph"], list[int]] = {}
    ocr: Literal["value", "text"] | None = None
    words: list[str] = []  # words on the face that identify it (OCR confirms them)


class LightEntry(StrictModel):
    label: str = Field(min_length=1)
    state: LightState
    prompts: list[str] = Field(min_length=1)


class VocabularyFile(StrictModel):
    signs: list[SignEntry] = Field(min_length=1)
    lights: list[LightEntry] = []


@dataclass(frozen=True, slots=True)
class ReaderClass:
    """One thing the reader can say. ``name``: label with value (``speed_limit 30 km/h``)."""

    label: str
    prompts: tuple[str, ...]
    sign_type: SignType | None = None
    value: float = 0.0
    unit: str = ""
    light_state: LightState | None = None
    ocr: str | None = None  # "value" or "text"
    words: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.label} {self.value:g} {self.unit}" if self.unit else self.label

    @property
    def is_light(self) -> bool:
        return self.light_state is not None


@dataclass(frozen=True, slots=True)
class Vocabulary:
    classes: tuple[ReaderClass, ...]
    source: str

    def signs(self) -> tuple[ReaderClass, ...]:
        return tuple(c for c in self.classes if not c.is_light)

    def lights(self) -> tuple[ReaderClass, ...]:
        return tuple(c for c in self.classes if c.is_light)

    def without(self, labels: set[str]) -> Vocabulary:
        return Vocabulary(tuple(c for c in self.classes if c.label not in labels), self.source)

    def index(self, name: str) -> int:
        for i, c in enumerate(self.classes):
            if c.name == name:
                return i
        raise KeyError(f"{self.source}: no class {name!r}")


def expand(entry: SignEntry) -> list[ReaderClass]:
    if not entry.values:
        return [
            ReaderClass(
                entry.label,
                tuple(entry.prompts),
                entry.type,
                ocr=entry.ocr,
                words=tuple(w.upper() for w in entry.words),
            )
        ]
    out = []
    for unit, values in entry.values.items():
        for value in values:
            fill = {
                "value": str(value),
                "value_words": number_words(value),
                "unit_words": UNIT_WORDS[unit],
            }
            prompts = tuple(p.format(**fill) for p in entry.prompts)
            out.append(ReaderClass(entry.label, prompts, entry.type, value, unit, ocr=entry.ocr))
    return out


def load_vocabulary(path: Path = VOCABULARY_PATH) -> Vocabulary:
    """The classes of a vocabulary file; errors name the file and field."""
    data = load_model(VocabularyFile, path)
    classes = [c for entry in data.signs for c in expand(entry)]
    classes += [ReaderClass(e.label, tuple(e.prompts), light_state=e.state) for e in data.lights]
    names = [c.name for c in classes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{path}: labels must be distinct, repeated: {', '.join(dupes)}")
    return Vocabulary(tuple(classes), str(path))
