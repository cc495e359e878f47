"""Local time of day and weekday, for map text that holds in time windows only."""

from __future__ import annotations

import re
from dataclasses import dataclass

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Clock:
    """weekday: one of WEEKDAYS; minute_of_day in [0, 1440)."""

    weekday: str
    minute_of_day: float

    def __post_init__(self) -> None:
        if self.weekday not in WEEKDAYS:
            raise ValueError(f"Clock.weekday must be one of {WEEKDAYS}, got {self.weekday!r}")
        if not 0.0 <= self.minute_of_day < MINUTES_PER_DAY:
            raise ValueError(f"Clock.minute_of_day must be in [0, 1440), got {self.minute_of_day}")

    @staticmethod
    def parse(hhmm: str, weekday: str) -> Clock:
        """``Clock.parse("07:45", "tue")``; ValueError names the text and the format."""
        match = _HHMM.match(hhmm.strip())
        if match is None:
            raise ValueError(f"time {hhmm!r} is not HH:MM (00:00 to 23:59)")
        return Clock(weekday, int(match[1]) * 60 + int(match[2]))

    def after(self, seconds: float) -> Clock:
        """The clock ``seconds`` later, rolling over midnight into the next weekday."""
        total = self.minute_of_day + seconds / 60.0
        days, minute = divmod(total, MINUTES_PER_DAY)
        day = (WEEKDAYS.index(self.weekday) + int(days)) % 7
        return Clock(WEEKDAYS[day], minute)

    def __str__(self) -> str:
        minute = int(self.minute_of_day)
        return f"{self.weekday} {minute // 60:02d}:{minute % 60:02d}"
