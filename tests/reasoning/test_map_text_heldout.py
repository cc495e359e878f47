"""Accuracy of the encoder-backed note parser on the held-out phrasings
(tests/reasoning/heldout_notes.yaml, written before the parser was built).

An entry counts only on an exact match: kind, cap value and unit, time windows and days
for a constraint; ``NoConstraintError`` for a note that sets none; ``MapTextError``
for one that must be refused. A constraint read where a refusal was expected is the
worst error and is counted on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from reasoning.map_text import (
    WEEKDAYS,
    MapTextError,
    NoConstraintError,
    TextConstraint,
    TimeWindow,
    ZoneKind,
)
from reasoning.note_reader import EncoderNoteParser

HELDOUT = Path(__file__).with_name("heldout_notes.yaml")
ACCURACY_FLOOR = 0.9  # measured 82/90 = 91.1% when written
DAY_GROUPS = {"weekdays": WEEKDAYS[:5], "weekend": WEEKDAYS[5:]}


def _window(text: str) -> TimeWindow:
    start, end = text.split("-")
    (h1, m1), (h2, m2) = map(int, start.split(":")), map(int, end.split(":"))
    return TimeWindow(h1 * 60 + m1, h2 * 60 + m2)


def _expected(entry: dict[str, Any]) -> tuple[Any, ...]:
    days = entry.get("days", WEEKDAYS)
    return (
        ZoneKind(entry["kind"]),
        float(entry["value"]),
        entry["unit"],
        tuple(sorted((_window(w) for w in entry.get("windows", ())), key=str)),
        frozenset(DAY_GROUPS.get(days, days) if isinstance(days, str) else days),
    )


def _got(c: TextConstraint) -> tuple[Any, ...]:
    return (
        c.kind,
        c.cap_value,
        c.cap_unit,
        tuple(sorted(c.windows, key=str)),
        c.weekdays,
    )


@dataclass
class Score:
    total: int = 0
    correct: int = 0
    accepted_not_refused: int = 0  # a constraint where a refusal was expected
    accepted_ambiguous_time: int = 0
    misses: list[str] | None = None


def score(parser: EncoderNoteParser, entries: list[dict[str, Any]]) -> Score:
    result = Score(misses=[])
    assert result.misses is not None
    for entry in entries:
        result.total += 1
        text = entry["text"]
        parser.default_unit = entry.get("default_unit")
        try:
            got: Any = _got(parser.parse(text))
        except NoConstraintError:
            got = "none"
        except MapTextError as exc:
            got = f"refused: {exc}"
        if entry.get("refuse"):
            ok = isinstance(got, str) and got.startswith("refused")
            if not isinstance(got, str):
                result.accepted_not_refused += 1
                result.accepted_ambiguous_time += bool(entry.get("ambiguous_time"))
        elif entry.get("none"):
            ok = got == "none"
        else:
            ok = got == _expected(entry)
        result.correct += ok
        if not ok:
            result.misses.append(f"{text!r}: got {got}")
    return result


@pytest.fixture(scope="module")
def heldout_score() -> Score:
    entries = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))["notes"]
    return score(EncoderNoteParser(), entries)


def test_heldout_accuracy(heldout_score: Score) -> None:
    s = heldout_score
    accuracy = s.correct / s.total
    print(
        f"\nheld-out map notes: {s.correct}/{s.total} exact = {accuracy:.1%}; "
        f"constraint where refusal expected: {s.accepted_not_refused} "
        f"(ambiguous times: {s.accepted_ambiguous_time})"
    )
    for miss in s.misses or ():
        print("  miss:", miss)
    assert s.total >= 60
    assert accuracy >= ACCURACY_FLOOR


def test_heldout_never_guesses_an_ambiguous_time(heldout_score: Score) -> None:
    assert heldout_score.accepted_ambiguous_time == 0
