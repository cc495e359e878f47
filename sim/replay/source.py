"""What the replay world plays (kept light: the CLI and the world table import it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReplaySource:
    """A log and the span of it to play: frames with from_s <= t <= to_s [s]."""

    path: Path
    from_s: float = 0.0
    to_s: float | None = None
    realtime: bool = False

    def within(self, t: float) -> bool:
        return t >= self.from_s - 1e-9 and (self.to_s is None or t <= self.to_s + 1e-9)
