"""Free-text map notes -> structured speed constraints.

Road stretches carry notes such as "School zone: 20 mph 7:00-9:00 on school days".
``parse_note`` reads them with regular expressions; ``NoteParser`` is the seam a
language-model reader will plug into later, so callers depend only on ``TextConstraint``.

Doubt is resolved toward the safer reading: a condition the rules cannot evaluate
("when children are present") leaves the cap always on, while anything that could
change the cap's value or hide a time window (a stray number or time, two different
speeds) is an error rather than a guess.
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import NoReturn, Protocol, runtime_checkable

from roadmind.clock import MINUTES_PER_DAY, WEEKDAYS
from roadmind.units import MAX_SPEED_VALUE, speed_to_mps

CAP_UNITS = ("km/h", "mph")

_MON_FRI = frozenset(WEEKDAYS[:5])
_WEEKEND = frozenset(WEEKDAYS[5:])
_ALL_DAYS = frozenset(WEEKDAYS)


class MapTextError(ValueError):
    """A map note that cannot be read into a speed constraint."""


class NoConstraintError(MapTextError):
    """A map note that is read and sets no speed constraint ("bus stop relocated")."""


class ZoneKind(enum.StrEnum):
    SCHOOL_ZONE = "school_zone"
    ROAD_WORKS = "road_works"
    SPEED_LIMIT = "speed_limit"
    OTHER_ZONE = "other_zone"  # playground, residential, hospital, ...


def _check_minute(minute_of_day: float) -> None:
    if not (math.isfinite(minute_of_day) and 0 <= minute_of_day < MINUTES_PER_DAY):
        raise ValueError(f"minute_of_day must be in [0, {MINUTES_PER_DAY}), got {minute_of_day}")


def _clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Minutes after midnight, end exclusive; ``end_min < start_min`` wraps past midnight."""

    start_min: int
    end_min: int

    def __post_init__(self) -> None:
        for name in ("start_min", "end_min"):
            if not isinstance(getattr(self, name), int):
                raise ValueError(f"TimeWindow.{name} must be an int, got {getattr(self, name)!r}")
        if not 0 <= self.start_min < MINUTES_PER_DAY:
            raise ValueError(f"TimeWindow.start_min must be in [0, 1440), got {self.start_min}")
        if not 0 <= self.end_min <= MINUTES_PER_DAY:
            raise ValueError(f"TimeWindow.end_min must be in [0, 1440], got {self.end_min}")
        if self.start_min == self.end_min:
            raise ValueError(f"TimeWindow {self} is empty")

    @property
    def wraps(self) -> bool:
        return self.end_min < self.start_min

    def contains(self, minute_of_day: float) -> bool:
        _check_minute(minute_of_day)
        if self.wraps:
            return minute_of_day >= self.start_min or minute_of_day < self.end_min
        return self.start_min <= minute_of_day < self.end_min

    def __str__(self) -> str:
        return f"{_clock_text(self.start_min)}-{_clock_text(self.end_min)}"


_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday_key(weekday: str) -> str:
    key = weekday.strip().lower()
    if key in _WEEKDAY_NAMES:
        return WEEKDAYS[_WEEKDAY_NAMES.index(key)]
    if key not in WEEKDAYS:
        raise ValueError(f"unknown weekday {weekday!r}; expected one of {', '.join(WEEKDAYS)}")
    return key


def _describe_days(days: frozenset[str]) -> str:
    if days == _ALL_DAYS:
        return ""
    # A run of consecutive days (possibly across sun->mon) reads better as "mon-fri".
    for first in range(7):
        run = [WEEKDAYS[(first + i) % 7] for i in range(len(days))]
        if len(run) > 1 and set(run) == days:
            return f"{run[0]}-{run[-1]}"
    return ", ".join(d for d in WEEKDAYS if d in days)


@dataclass(frozen=True, slots=True)
class TextConstraint:
    """One speed cap read from a map note."""

    kind: ZoneKind
    cap_value: float  # as written
    cap_unit: str  # "km/h" or "mph"
    cap_mps: float  # converted once, here at the edge
    windows: tuple[TimeWindow, ...] = ()  # empty: all day
    weekdays: frozenset[str] = _ALL_DAYS
    condition: str = ""  # unevaluated qualifiers; the cap is treated as active regardless
    text: str = ""  # the original note
    reading: str = ""  # what the parser filled in or chose ("no unit given: km/h, ...")

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ZoneKind):
            raise ValueError(f"TextConstraint.kind must be a ZoneKind, got {self.kind!r}")
        if self.cap_unit not in CAP_UNITS:
            raise ValueError(
                f"TextConstraint.cap_unit must be one of {CAP_UNITS}, got {self.cap_unit!r}"
            )
        if not (math.isfinite(self.cap_value) and 0 < self.cap_value <= MAX_SPEED_VALUE):
            raise ValueError(f"TextConstraint.cap_value must be in (0, 200], got {self.cap_value}")
        if not math.isclose(self.cap_mps, speed_to_mps(self.cap_value, self.cap_unit)):
            raise ValueError(
                f"TextConstraint.cap_mps {self.cap_mps} does not match "
                f"{self.cap_value:g} {self.cap_unit}"
            )
        object.__setattr__(self, "windows", tuple(self.windows))
        if not all(isinstance(w, TimeWindow) for w in self.windows):
            raise ValueError("TextConstraint.windows must hold TimeWindow values")
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        if not self.weekdays or not self.weekdays <= _ALL_DAYS:
            raise ValueError(
                f"TextConstraint.weekdays must be a non-empty subset of {WEEKDAYS}, "
                f"got {sorted(self.weekdays)}"
            )

    def active(self, weekday: str, minute_of_day: float) -> bool:
        """Whether the cap applies at this local time (``weekday`` like "mon")."""
        day = _weekday_key(weekday)
        _check_minute(minute_of_day)
        if not self.windows:
            return day in self.weekdays
        previous_day = WEEKDAYS[(WEEKDAYS.index(day) - 1) % 7]
        for window in self.windows:
            if not window.contains(minute_of_day):
                continue
            # The after-midnight part of an overnight window belongs to the day it started.
            started = previous_day if window.wraps and minute_of_day < window.end_min else day
            if started in self.weekdays:
                return True
        return False

    def describe(self) -> str:
        parts = [
            f"{self.kind.value.replace('_', ' ')} {self.cap_value:g} {self.cap_unit} "
            f"({self.cap_mps:.1f} m/s)"
        ]
        if self.windows:
            parts.append(", ".join(str(w) for w in self.windows))
        if days := _describe_days(self.weekdays):
            parts.append(days)
        text = " ".join(parts)
        text = f"{text}, {self.condition}" if self.condition else text
        return f"{text} ({self.reading})" if self.reading else text


@runtime_checkable
class NoteParser(Protocol):
    def parse(self, text: str) -> TextConstraint: ...


class RuleBasedNoteParser:
    """``NoteParser`` backed by the regular-expression rules of :func:`parse_note`."""

    __slots__ = ()

    def parse(self, text: str) -> TextConstraint:
        return parse_note(text)


# --- patterns ----------------------------------------------------------------------------------
# All patterns run on the normalised note: NFKC, lower case, one kind of dash and space.

_MASK = "\x00"  # replaces consumed text so later patterns cannot reuse it
_NUMBER = r"\d+(?:\.\d+)?"
_KMH = (
    r"km\s*/\s*h(?:r|our)?|kmph|kmh|kph|k\.p\.h\.?|km\s+(?:per|an)\s+hour"
    r"|kilomet(?:er|re)s?\s+(?:per|an)\s+hour|kilomet(?:er|re)s?\s*/\s*h(?:our)?"
)
_MPH = r"mph|m\.p\.h\.?|mi\s*/\s*h(?:r|our)?|miles?\s+(?:per|an)\s+hour"
_MPS = r"m\s*/\s*s(?:ec)?|mps|met(?:er|re)s?\s+per\s+second"
_SPEED_RE = re.compile(
    rf"(?<![\w.:])(?P<sign>-?)(?P<num>{_NUMBER})\s*"
    rf"(?:(?P<kmh>{_KMH})|(?P<mph>{_MPH})|(?P<mps>{_MPS}))(?![a-z/])"
)

_ALL_DAY_RE = re.compile(
    r"\b24\s*/\s*7\b|\b24\s*-?\s*h(?:ours?|rs?)?\b|\ball\s+day\b|\b(?:a)?round\s+the\s+clock\b"
    r"|\bat\s+all\s+times\b|\balways\b"
)

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATE = (
    r"(?<![\w.:/])(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    rf"|\d{{1,2}}{_ORDINAL}\s+(?:of\s+)?{_MONTH}(?:\s+\d{{4}})?"
    rf"|{_MONTH}\s+\d{{1,2}}{_ORDINAL}(?:,?\s+\d{{4}})?|{_MONTH}\s+\d{{4}}|(?:19|20)\d{{2}})"
    r"(?![\w:/])"
)
# Dates do not fit the constraint (no calendar); they are kept as condition text.
_DATE_RE = re.compile(
    r"(?:\b(?:until|till|til|through|to|from|since|starting|ending|ends|before|after)\s+)?"
    rf"{_DATE}(?:\s*(?:-|to|until|till|through|thru)\s*{_DATE})?"
)

_CLOCK_TOKEN = (
    r"(?<![\w.:/])(?:noon|midday|midnight"
    r"|\d{1,2}(?:[:.h]\d{2})?(?:\s*[ap]\.?m\b\.?|\s*(?:hrs?|h)\b)?)(?![\w:/]|\.\d)"
)
_CLOCK_PARTS_RE = re.compile(
    r"(?P<word>noon|midday|midnight)"
    r"|(?P<hour>\d{1,2})(?:[:.h](?P<minute>\d{2}))?\s*(?:(?P<mer>[ap])\.?m\.?|hrs?|h)?"
)
_RANGE_RE = re.compile(
    rf"\bbetween\s+(?P<a1>{_CLOCK_TOKEN})\s*(?:and|-|to)\s*(?P<b1>{_CLOCK_TOKEN})"
    rf"|(?:\bfrom\s+)?(?P<a2>{_CLOCK_TOKEN})\s*(?:-|to|till|til|until|through|thru)\s*"
    rf"(?P<b2>{_CLOCK_TOKEN})"
)
_BOUND_RE = re.compile(
    r"\b(?:(?P<until>until|till|til|up\s+to|before)"
    r"|(?P<since>from|after|since|starting|beginning|starts|begins))"
    rf"\s+(?:at\s+)?(?P<t>{_CLOCK_TOKEN})"
)

_DAY = (
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:s|nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)s?\b\.?"
)
_DAY_RANGE_RE = re.compile(
    rf"\b(?P<a>{_DAY})\s*(?:-|to|through|thru|till|until)\s*(?P<b>{_DAY})|\bmo?\s*-\s*fr?\b"
)
_DAY_LIST_RE = re.compile(rf"\b{_DAY}(?:\s*(?:,|/|&|\+|and|or)\s*{_DAY})+")
_DAY_GROUPS: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    (
        re.compile(
            r"\b(?:week\s*-?\s*days?|school\s*-?\s*days?|working\s+days?|work\s*days?"
            r"|business\s+days?)\b"
        ),
        _MON_FRI,
    ),
    (re.compile(r"\bweek\s*-?\s*ends?\b"), _WEEKEND),
    (
        re.compile(
            r"\b(?:daily|every\s*day|all\s+week|all\s+days|(?:7|seven)\s+days(?:\s+a\s+week)?)\b"
        ),
        _ALL_DAYS,
    ),
)
_DAY_SINGLE_RE = re.compile(rf"\b{_DAY}")
_WORDLIKE_DAYS = frozenset({"sun", "sat", "wed"})  # also English words: need a cue like "on"
_DAY_CUE_RE = re.compile(
    r"(?:\b(?:on|every|each|except|excluding|other\s+than|but\s+not|and|or)|[,&/+])\s*$"
)
_EXCEPT_RE = re.compile(
    r"\b(?:except|excluding|excl\.?|not\s+on|other\s+than|but\s+not)\s+(?:on\s+)?$"
)

_CONDITION_RES = (
    re.compile(r"\bschool\s*-?\s*days?\b"),
    re.compile(r"\bterm\s*-?\s*time\b|\b(?:in|during)\s+term\b"),
    re.compile(r"\b(?:at|by)\s+night\b|\bnight\s*-?\s*time\b|\bovernight\b"),
    re.compile(r"\b(?:except\s+(?:on\s+)?)?(?:public\s+|bank\s+|school\s+)?holidays?\b"),
)
# Open-ended clauses run until punctuation or consumed text (a window, days, a speed).
_CLAUSE_RE = re.compile(r"\b(?:when|whenever|while|whilst|if|unless|during)\b[^,;()\x00]*")
_TRAILING_FILLER_RE = re.compile(
    r"(?:^|\s+)(?:on|at|in|from|between|and|or|the|only|until|till|to|&|-"
    r"|during|when|whenever|while|whilst|if|unless)$"
)

_SCHOOL_RE = re.compile(r"\bschool(?!\s*-?\s*(?:days?|holidays?|terms?)\b)")
_WORKS_RE = re.compile(
    r"\broad\s*-?\s*works?\b|\bconstruction\b|\bworks?\s*-?\s*zone\b|\bworks\s+ahead\b"
    r"|\bmen\s+at\s+work\b|\bworkers?\s+present\b|\bmaintenance\b|\blane\s+closures?\b"
    r"|\bresurfacing\b"
)
_OTHER_ZONE_RE = re.compile(
    r"\b(?:playground|residential|hospital|park|pedestrian|shared\s+space|living\s+street"
    r"|home\s+zone|quiet\s+lane|play\s+street|children\s+at\s+play|senior|elderly|village|campus"
    r"|town\s+cent(?:er|re))\b"
)
_NAMED_ZONE_RE = re.compile(r"\b([a-z]+)(?:\s+|-)zone\b")
_NOT_ZONE_NAMES = frozenset({"speed", "limit", "a", "the", "this", "in", "of", "low", "slow"})

_LEFTOVER_TIME_RE = re.compile(
    r"(?<![\w.:/])(?:\d+[:.h]\d{2}|\d+\s*[ap]\.?m\b)|\b(?:noon|midday|midnight)\b"
)
_LEFTOVER_NUMBER_RE = re.compile(
    r"(?<![\w.:/])\d+(?:\.\d+)?(?![\w/]|[.:]\d)"
    # distances, weights and grades are not speeds or times; they may stay
    r"(?!\s*(?:m|metres?|meters?|km|kilomet(?:er|re)s?|ft|feet|foot|yds?|yards?|mi|miles?"
    r"|t|tons?|tonnes?|kg|%)(?![\w/]))"
)

_DASHES = dict.fromkeys(
    map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63~\u301c"),
    "-",
)
_OTHER_CHARS = {0x2044: "/", 0x2215: "/", 0x2019: "'", 0x2018: "'", ord(_MASK): " "}


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_OTHER_CHARS)
    return re.sub(r"\s+", " ", folded.lower()).strip()


@dataclass(frozen=True, slots=True)
class _Clock:
    raw: str
    hour: int
    minute: int
    meridiem: str | None  # "a" or "p"
    word: str | None  # noon, midday, midnight


@dataclass(frozen=True, slots=True)
class _Speed:
    value: float
    unit: str
    mps: float
    raw: str


class _Note:
    """One note being read: ``work`` is ``norm`` with consumed spans masked out."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.norm = _normalise(text)
        self.work = self.norm
        self.conditions: list[tuple[int, int, str]] = []

    def fail(self, reason: str) -> NoReturn:
        raise MapTextError(f"cannot read map note {self.text!r}: {reason}")

    def mask(self, match: re.Match[str]) -> None:
        start, end = match.span()
        self.work = self.work[:start] + _MASK * (end - start) + self.work[end:]

    def take(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        matches = list(pattern.finditer(self.work))
        for match in matches:
            self.mask(match)
        return matches

    # speeds

    def speeds(self) -> list[_Speed]:
        speeds = []
        for match in self.take(_SPEED_RE):
            raw = match.group(0)
            if match["mps"]:
                self.fail(f"speed {raw!r} is in m/s; map notes must use km/h or mph")
            unit = "km/h" if match["kmh"] else "mph"
            value = float(match["num"]) * (-1.0 if match["sign"] else 1.0)
            if not 0 < value <= MAX_SPEED_VALUE:
                self.fail(f"speed {value:g} {unit} is out of range (must be > 0 and <= 200)")
            speeds.append(_Speed(value, unit, speed_to_mps(value, unit), raw))
        return speeds

    # times

    def clock(self, raw: str) -> _Clock:
        parts = _CLOCK_PARTS_RE.fullmatch(raw.strip())
        if parts is None:
            self.fail(f"cannot read time {raw.strip()!r}")
        if parts["word"]:
            return _Clock(raw.strip(), 12, 0, None, parts["word"])
        hour, minute, meridiem = int(parts["hour"]), int(parts["minute"] or 0), parts["mer"]
        valid_hour = 1 <= hour <= 12 if meridiem else 0 <= hour <= 24
        if not valid_hour or minute > 59 or (hour == 24 and minute):
            self.fail(f"invalid time {raw.strip()!r} (hours 0-24 or 1-12 am/pm, minutes 0-59)")
        return _Clock(raw.strip(), hour, minute, meridiem, None)

    @staticmethod
    def minutes(clock: _Clock, meridiem: str | None, *, end: bool) -> int:
        if clock.word == "midnight":
            minute = 0
        elif clock.word:
            minute = 12 * 60
        else:
            hour = clock.hour % 12 + (12 if meridiem == "p" else 0) if meridiem else clock.hour
            minute = (hour * 60 + clock.minute) % MINUTES_PER_DAY  # 24:00 is midnight
        # Midnight closing a window is the end of the day, so "22:00-00:00" does not wrap.
        return MINUTES_PER_DAY if end and minute == 0 else minute

    def window(self, start: _Clock, end: _Clock) -> TimeWindow:
        start_mer, end_mer = start.meridiem, end.meridiem
        bare = start if start_mer is None else end if end_mer is None else None
        if (start_mer is None) != (end_mer is None) and bare and not bare.word and bare.hour <= 12:
            # "7-9 am", "11-1 pm", "10 pm-2": the unmarked side takes the half of the day that
            # gives the shorter window, which is what people mean by these shorthands.
            def length(meridiem: str) -> int:
                s = self.minutes(start, start_mer or meridiem, end=False)
                e = self.minutes(end, end_mer or meridiem, end=True)
                return (e - s) % MINUTES_PER_DAY or MINUTES_PER_DAY

            shared = min(("a", "p"), key=length)
            start_mer, end_mer = start_mer or shared, end_mer or shared
        first = self.minutes(start, start_mer, end=False)
        last = self.minutes(end, end_mer, end=True)
        if first == last:
            self.fail(f"time window {start.raw}-{end.raw} is empty")
        return TimeWindow(first, last)

    def windows(self) -> tuple[TimeWindow, ...]:
        found: list[TimeWindow] = []
        for match in self.take(_RANGE_RE):
            a, b = (match["a1"], match["b1"]) if match["a1"] else (match["a2"], match["b2"])
            found.append(self.window(self.clock(a), self.clock(b)))
        for match in self.take(_BOUND_RE):
            clock = self.clock(match["t"])
            if match["until"]:
                # "until 6" means 06:00 unless marked pm: 24-hour reading for bare hours.
                end = self.minutes(clock, clock.meridiem, end=True)
                found.append(TimeWindow(0, end))
            else:
                start = self.minutes(clock, clock.meridiem, end=False)
                found.append(TimeWindow(start, MINUTES_PER_DAY))
        return tuple(sorted(set(found), key=lambda w: (w.start_min, w.end_min)))

    # days

    def weekdays(self) -> frozenset[str]:
        spans: list[tuple[int, frozenset[str]]] = []
        for match in self.take(_DAY_RANGE_RE):
            if match["a"] is None:  # "m-f"
                spans.append((match.start(), _MON_FRI))
                continue
            first, last = WEEKDAYS.index(match["a"][:3]), WEEKDAYS.index(match["b"][:3])
            run = [WEEKDAYS[(first + i) % 7] for i in range((last - first) % 7 + 1)]
            spans.append((match.start(), frozenset(run)))
        for match in self.take(_DAY_LIST_RE):
            days = frozenset(m.group(0)[:3] for m in re.finditer(_DAY, match.group(0)))
            spans.append((match.start(), days))
        for pattern, days in _DAY_GROUPS:
            spans.extend((match.start(), days) for match in self.take(pattern))
        for match in _DAY_SINGLE_RE.finditer(self.work):
            word = match.group(0).rstrip(".")
            if word in _WORDLIKE_DAYS and not _DAY_CUE_RE.search(self.norm[: match.start()]):
                continue  # "sun glare": ignoring it keeps the cap on every day, the safe side
            self.mask(match)
            spans.append((match.start(), frozenset({word[:3]})))
        included: set[str] = set()
        excluded: set[str] = set()
        for start, days in spans:
            (excluded if _EXCEPT_RE.search(self.norm[:start]) else included).update(days)
        in_force = frozenset(included or _ALL_DAYS) - excluded
        if not in_force:
            self.fail("the weekday rules leave no day on which the cap applies")
        return in_force

    # conditions

    def add_condition(self, start: int, end: int, phrase: str) -> None:
        phrase = phrase.strip(" .:-,")
        while (trimmed := _TRAILING_FILLER_RE.sub("", phrase).strip(" .:-,")) != phrase:
            phrase = trimmed
        if phrase:
            self.conditions.append((start, end, phrase))

    def condition(self) -> str:
        for pattern in _CONDITION_RES:
            for match in pattern.finditer(self.norm):
                self.add_condition(*match.span(), match.group(0))
        for match in _CLAUSE_RE.finditer(self.work):
            self.add_condition(*match.span(), match.group(0))
        kept: list[tuple[int, int, str]] = []
        for start, end, phrase in sorted(self.conditions, key=lambda c: (c[0], -c[1])):
            if not any(start < k_end and k_start < end for k_start, k_end, _ in kept):
                kept.append((start, end, phrase))
        return "; ".join(phrase for _, _, phrase in kept)

    def kind(self) -> ZoneKind:
        if _SCHOOL_RE.search(self.norm):
            return ZoneKind.SCHOOL_ZONE
        if _WORKS_RE.search(self.norm):
            return ZoneKind.ROAD_WORKS
        if _OTHER_ZONE_RE.search(self.norm):
            return ZoneKind.OTHER_ZONE
        if any(m[1] not in _NOT_ZONE_NAMES for m in _NAMED_ZONE_RE.finditer(self.work)):
            return ZoneKind.OTHER_ZONE
        return ZoneKind.SPEED_LIMIT


def parse_note(text: str) -> TextConstraint:
    """Read one map note; raise ``MapTextError`` naming what is missing or unreadable."""
    if not isinstance(text, str):
        raise MapTextError(f"cannot read map note {text!r}: not a string")
    note = _Note(text)
    if not note.norm:
        note.fail("the note is empty")
    speeds = note.speeds()
    all_day = bool(note.take(_ALL_DAY_RE))
    for match in note.take(_DATE_RE):
        note.add_condition(*match.span(), match.group(0))
    windows = note.windows()
    weekdays = note.weekdays()

    if not speeds:
        if bare := _LEFTOVER_NUMBER_RE.search(note.work):
            note.fail(f"speed value {bare.group(0)} has no unit (km/h, mph)")
        note.fail("no speed value with a unit (km/h, mph)")
    return _constraint(note, speeds, note.kind(), () if all_day else windows, weekdays, text)


def _constraint(
    note: _Note,
    speeds: list[_Speed],
    kind: ZoneKind,
    windows: tuple[TimeWindow, ...],
    weekdays: frozenset[str],
    text: str,
    reading: str = "",
) -> TextConstraint:
    """The note's constraint at its slowest cap, once nothing in it is left unread or in
    conflict (both readers end here)."""
    slowest = min(speeds, key=lambda s: s.mps)
    # A sign may give the cap in both units ("50 km/h (31 mph)"); different caps are ambiguous.
    if max(s.mps for s in speeds) > slowest.mps * 1.05:
        note.fail(f"several different speed values ({', '.join(repr(s.raw) for s in speeds)})")
    if stray := _LEFTOVER_TIME_RE.search(note.work):
        note.fail(
            f"cannot read time {stray.group(0)!r} "
            "(expected a range like '07:00-09:00', 'until 18:00' or 'from 22:00')"
        )
    if stray := _LEFTOVER_NUMBER_RE.search(note.work):
        note.fail(f"unrecognised number {stray.group(0)!r}")
    return TextConstraint(
        kind=kind,
        cap_value=slowest.value,
        cap_unit=slowest.unit,
        cap_mps=slowest.mps,
        windows=windows,
        weekdays=weekdays,
        condition=note.condition(),
        text=text,
        reading=reading,
    )


# --- careful reading: number words, unit-less caps, times that could be read two ways ---------


@dataclass(frozen=True, slots=True)
class NoteIntent:
    """What a note is about, told apart from its wording (numbers and times removed)."""

    kind: ZoneKind | None  # None: the note sets no speed constraint
    label: str  # how it was told, for messages: "no_constraint (similarity 0.62)"


@dataclass(frozen=True, slots=True)
class ZoneHours:
    """When zones of a kind are normally in force: picks one reading of a time like "7-9"."""

    window: TimeWindow
    name: str  # "school hours"


_ONES = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = (
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
# Round tens in German, French and Spanish: the values posted limits take.
_FOREIGN_NUMBERS = {
    "zwanzig": 20, "dreißig": 30, "dreissig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60,
    "siebzig": 70, "achtzig": 80, "hundert": 100, "vingt": 20, "trente": 30, "quarante": 40,
    "cinquante": 50, "soixante": 60, "septante": 70, "octante": 80, "nonante": 90,
    "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60,
    "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100,
}  # fmt: skip
# Single digits stay words ("one way"): no posted limit is written that way.
_NUMBER_WORD_RE = re.compile(
    rf"\b(?P<tens>{'|'.join(_TENS)})(?:\s*-?\s*(?P<ones>{'|'.join(_ONES)}))?\b"
    rf"|\b(?P<teen>{'|'.join(_TEENS)})\b|\b(?P<foreign>{'|'.join(_FOREIGN_NUMBERS)})\b"
)
_FOREIGN_DAYS = {
    "montag": "mon", "dienstag": "tue", "mittwoch": "wed", "donnerstag": "thu",
    "freitag": "fri", "samstag": "sat", "sonntag": "sun", "lundi": "mon", "mardi": "tue",
    "mercredi": "wed", "jeudi": "thu", "vendredi": "fri", "samedi": "sat", "dimanche": "sun",
    "lunes": "mon", "martes": "tue", "miércoles": "wed", "miercoles": "wed", "jueves": "thu",
    "viernes": "fri", "sábado": "sat", "sabado": "sat", "domingo": "sun",
    # three-letter French and Spanish forms ("lun-ven", "lun-vie")
    "lun": "mon", "mer": "wed", "mié": "wed", "jeu": "thu", "jue": "thu", "ven": "fri",
    "vie": "fri", "sam": "sat", "sáb": "sat", "dim": "sun", "dom": "sun",
}  # fmt: skip
_GERMAN_DAY_PAIR = {"mo": "mon", "di": "tue", "mi": "wed", "do": "thu", "fr": "fri", "sa": "sat"}
_GERMAN_DAY_PAIR["so"] = "sun"
_FOREIGN_DAY_RANGE_RE = re.compile(
    rf"\b(?P<a>{'|'.join(_FOREIGN_DAYS)})\.?\s*(?:-|au|a|al|bis|à)\s*"
    rf"(?P<b>{'|'.join(_FOREIGN_DAYS)})\b\.?"
    rf"|\b(?P<c>{'|'.join(_GERMAN_DAY_PAIR)})\.?\s*-\s*(?P<d>{'|'.join(_GERMAN_DAY_PAIR)})\b\.?"
)
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bsch\.?\s*(?:zone|zn)\b"), "school zone"),
    (re.compile(r"\b(?:wkdys?|wkdays?|wk\s*days?)\b"), "weekdays"),
    (re.compile(r"\bwkends?\b"), "weekends"),
    (
        re.compile(
            r"\b(?:werktags|an\s+werktagen|jours\s+ouvrables|en\s+semaine"
            r"|d[ií]as\s+laborables|laborables)\b"
        ),
        "weekdays",
    ),
    (re.compile(r"\s*\buhr\b"), "h"),  # "7-17 uhr": 24-hour times
    # "7h à 19h", "7 bis 17", "8 a 14": a time range
    (re.compile(r"(?<=\d)(h?)\s+(?:à|a|al|bis|hasta)\s+(?=\d)"), r"\1-"),
    # "0800-0900": 24-hour times without a colon, only as a range (a lone 4-digit number may be
    # a year or a distance)
    (
        re.compile(r"(?<![\w.:/])([01]\d)([0-5]\d)\s*-\s*([0-2]\d)([0-5]\d)(?![\w:/])"),
        r"\1:\2-\3:\4",
    ),
)


def _number_word(match: re.Match[str]) -> str:
    if match["foreign"]:
        return str(_FOREIGN_NUMBERS[match["foreign"]])
    if match["teen"]:
        return str(10 + _TEENS.index(match["teen"]))
    ones = _ONES.index(match["ones"]) + 1 if match["ones"] else 0
    return str(20 + 10 * _TENS.index(match["tens"]) + ones)


def _foreign_day_range(match: re.Match[str]) -> str:
    if match["a"]:
        return f"{_FOREIGN_DAYS[match['a']]}-{_FOREIGN_DAYS[match['b']]}"
    return f"{_GERMAN_DAY_PAIR[match['c']]}-{_GERMAN_DAY_PAIR[match['d']]}"


def _prepare(norm: str) -> str:
    """Number words to digits, abbreviations and foreign day and time words to the forms the
    patterns read; the result is normalised like the note."""
    text = _NUMBER_WORD_RE.sub(_number_word, norm)
    text = _FOREIGN_DAY_RANGE_RE.sub(_foreign_day_range, text)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return re.sub(r"\s+", " ", text).strip()


_NOT_WORDS_RE = re.compile(rf"{_SPEED_RE.pattern}|\d+(?:[:.]\d+)?\s*(?:[ap]\.?m\b\.?|h\b)?|[^\w\s]")


def intent_text(text: str) -> str:
    """The words of a note without its numbers, units and punctuation: what it is about."""
    words = _NOT_WORDS_RE.sub(" ", _prepare(_normalise(text)))
    return re.sub(r"\s+", " ", words).strip()


_HALF_DAY_MIN = 12 * 60


def _is_24h(clock: _Clock) -> bool:
    """A time that only the 24-hour clock writes: 0 or 13-24, a leading zero, "7h"."""
    if clock.word or clock.meridiem:
        return False
    return (
        clock.hour == 0
        or clock.hour > 12
        or bool(re.match(r"0\d", clock.raw))
        or bool(re.search(r"\d\s*h", clock.raw))
    )


def _twelve_hour(window: TimeWindow) -> str:
    """ "2:45-4 pm", "10 pm-2 am": a window as people write it with am/pm."""

    def part(minute: int) -> tuple[str, str]:
        hour, mins = divmod(minute % MINUTES_PER_DAY, 60)
        clock = f"{hour % 12 or 12}" + (f":{mins:02d}" if mins else "")
        return clock, "am" if hour < 12 else "pm"

    (start, start_half), (end, end_half) = part(window.start_min), part(window.end_min)
    if start_half == end_half and not window.wraps:
        return f"{start}-{end} {end_half}"
    return f"{start} {start_half}-{end} {end_half}"


class _CarefulNote(_Note):
    """A note whose bare 12-hour times are resolved by the zone's hours or refused."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.readings: list[str] = []

    def ambiguous(self, phrase: str, options: list[TimeWindow], why: str) -> NoReturn:
        listed = " or ".join(str(w) for w in options)
        either = " or ".join(f"{w} or {_twelve_hour(w)}" for w in options)
        self.fail(f"time {phrase!r} reads as {listed}{why}; write {either}")

    def pick(self, phrase: str, options: list[TimeWindow], hours: ZoneHours | None) -> TimeWindow:
        options = sorted(set(options), key=lambda w: (w.start_min, w.end_min))
        if len(options) == 1:
            return options[0]
        if hours is None:
            self.ambiguous(phrase, options, " and nothing in the note picks one")
        span = hours.window
        inside = [
            w
            for w in options
            if not w.wraps and span.start_min <= w.start_min and w.end_min <= span.end_min
        ]
        if len(inside) != 1:
            self.ambiguous(phrase, options, f" and {hours.name} ({span}) do not pick one")
        self.readings.append(f"{phrase!r} read as {inside[0]}: {hours.name} are {span}")
        return inside[0]

    def careful_windows(self, hours: ZoneHours | None) -> tuple[TimeWindow, ...]:
        ranges = [
            (m.group(0).strip(), *((m["a1"], m["b1"]) if m["a1"] else (m["a2"], m["b2"])))
            for m in self.take(_RANGE_RE)
        ]
        bounds = [(m.group(0).strip(), m) for m in self.take(_BOUND_RE)]
        clocks = [self.clock(t) for _, a, b in ranges for t in (a, b)]
        clocks += [self.clock(m["t"]) for _, m in bounds]
        # One 24-hour time ("7-17h", "8:00-20:00") says the note keeps the 24-hour clock.
        clock_24h = any(_is_24h(c) for c in clocks)
        found: list[TimeWindow] = []
        for phrase, a, b in ranges:
            start, end = self.clock(a), self.clock(b)
            if clock_24h or start.meridiem or end.meridiem or start.word or end.word:
                found.append(self.window(start, end))
                continue
            options = []
            for start_h in (start.hour % 12, start.hour % 12 + 12):
                for end_h in (end.hour % 12, end.hour % 12 + 12):
                    first = start_h * 60 + start.minute
                    last = end_h * 60 + end.minute or MINUTES_PER_DAY
                    # Readings of over 12 h mix the halves of the day ("7-9" as 07:00-21:00).
                    if 0 < (last - first) % MINUTES_PER_DAY <= _HALF_DAY_MIN:
                        options.append(TimeWindow(first, last))
            if not options:
                self.fail(f"time window {phrase!r} is empty")
            found.append(self.pick(phrase, options, hours))
        for phrase, match in bounds:
            clock = self.clock(match["t"])
            hours_of_day = (
                [clock.hour]
                if clock_24h or clock.meridiem or clock.word
                else [clock.hour % 12, clock.hour % 12 + 12]
            )
            options = []
            for hour in hours_of_day:
                bare = _Clock(clock.raw, hour, clock.minute, None, clock.word)
                meridiem = clock.meridiem
                if match["until"]:
                    options.append(TimeWindow(0, self.minutes(bare, meridiem, end=True)))
                else:
                    start_min = self.minutes(bare, meridiem, end=False)
                    options.append(TimeWindow(start_min, MINUTES_PER_DAY))
            found.append(self.pick(phrase, options, hours))
        return tuple(sorted(set(found), key=lambda w: (w.start_min, w.end_min)))

    def keyword_kind(self) -> ZoneKind | None:
        """The zone named by a keyword ("school", "road works"), None where none is."""
        kind = self.kind()
        return None if kind is ZoneKind.SPEED_LIMIT else kind

    def bare_speed(self, default_unit: str | None, unit_source: str) -> _Speed:
        """The one number left without a unit, as a cap in ``default_unit``."""
        bare = list(_LEFTOVER_NUMBER_RE.finditer(self.work))
        if not bare:
            self.fail("no speed value (a number with km/h or mph)")
        if len(bare) > 1:
            listed = ", ".join(repr(m.group(0)) for m in bare)
            self.fail(f"several numbers without a unit ({listed})")
        match = bare[0]
        value = float(match.group(0))
        if default_unit is None:
            self.fail(f"speed value {value:g} has no unit (km/h, mph) and the map gives none")
        if not (0 < value <= MAX_SPEED_VALUE and value % 5 == 0):
            self.fail(f"number {value:g} has no unit and is not a posted speed limit")
        self.mask(match)
        self.readings.append(f"no unit given: {default_unit}, {unit_source}")
        return _Speed(value, default_unit, speed_to_mps(value, default_unit), match.group(0))


def read_note(
    text: str,
    intent: NoteIntent | None,
    *,
    hours: dict[ZoneKind, ZoneHours] | None = None,
    default_unit: str | None = None,
    unit_source: str = "the map's unit",
) -> TextConstraint:
    """Read one note carefully, given what it is about (``intent``; None: not known).

    Unlike :func:`parse_note` it reads number words, abbreviations and some German, French
    and Spanish; takes ``default_unit`` for a number without a unit; and reads a bare
    12-hour time ("7-9") only where the zone's ``hours`` leave one reading. What it filled
    in or chose is said in the constraint's ``reading``. A note about nothing the rules
    enforce raises ``NoConstraintError``; any other doubt raises ``MapTextError``.
    """
    if not isinstance(text, str):
        raise MapTextError(f"cannot read map note {text!r}: not a string")
    if default_unit is not None and default_unit not in CAP_UNITS:
        raise ValueError(f"default_unit must be one of {CAP_UNITS}, got {default_unit!r}")
    note = _CarefulNote(text)
    if not note.norm:
        note.fail("the note is empty")
    note.norm = note.work = _prepare(note.norm)
    speeds = note.speeds()
    # Keywords name the zone of a cap; whether a note without a speed is about a speed at
    # all is the intent's call ("car park entrance" names no zone).
    no_constraint = intent is not None and intent.kind is None
    kind = note.keyword_kind() or (intent.kind if intent else None) or ZoneKind.SPEED_LIMIT
    all_day = bool(note.take(_ALL_DAY_RE))
    for match in note.take(_DATE_RE):
        note.add_condition(*match.span(), match.group(0))
    windows = note.careful_windows((hours or {}).get(kind))
    weekdays = note.weekdays()

    if not speeds:
        if no_constraint and intent is not None:
            if not _LEFTOVER_NUMBER_RE.search(note.work):
                raise NoConstraintError(
                    f"map note {text!r} sets no speed constraint (it reads as {intent.label})"
                )
            note.fail(f"it reads as {intent.label} but holds a number without a unit")
        speeds = [note.bare_speed(default_unit, unit_source)]
    return _constraint(
        note, speeds, kind, () if all_day else windows, weekdays, text, "; ".join(note.readings)
    )
