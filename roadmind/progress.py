"""Progress of long work on stderr: a tqdm bar on a terminal, plain lines elsewhere.

Under CI, ``nohup`` or a redirect, a bar's carriage-return updates fill the log with
thousands of fragments; there ``progress()`` prints one complete line every
``LINE_EVERY_S`` seconds and one at the end, as well-behaved command-line tools do.
Both kinds take ``update(n)``, ``set_postfix_str(text)`` and ``close()``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO

LINE_EVERY_S = 10.0  # [s] between progress lines when stderr is not a terminal


class Progress(Protocol):
    def update(self, n: int = 1) -> Any: ...

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> Any: ...

    def close(self) -> Any: ...


def progress(
    total: int, desc: str, unit: str, initial: int = 0, stream: TextIO | None = None
) -> Progress:
    """A tqdm bar when ``stream`` (default stderr) is a terminal, else ``LineProgress``."""
    stream = stream if stream is not None else sys.stderr
    if _is_terminal(stream):
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, initial=initial, file=stream)
    return LineProgress(total, desc, unit, initial, stream)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class LineProgress:
    """``desc: n/total unit (p %), rate unit/s, elapsed s[, postfix]`` every
    ``every_s`` seconds of updates and once at ``close``."""

    def __init__(
        self,
        total: int,
        desc: str,
        unit: str,
        initial: int = 0,
        stream: TextIO | None = None,
        every_s: float = LINE_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.stream = stream if stream is not None else sys.stderr
        self.every_s, self.clock = every_s, clock
        self.postfix = ""
        self._initial = initial
        self._start = self._last = clock()
        self._printed_n: int | None = None
        self._closed = False

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if now - self._last >= self.every_s:
            self._line(now)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = s

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._printed_n != self.n or self.postfix:
                self._line(self.clock())

    def _line(self, now: float) -> None:
        self._last, self._printed_n = now, self.n
        elapsed = now - self._start
        rate = (self.n - self._initial) / elapsed if elapsed > 0 else 0.0
        share = f" ({100.0 * self.n / self.total:.0f} %)" if self.total else ""
        extra = f", {self.postfix}" if self.postfix else ""
        print(
            f"{self.desc}: {self.n}/{self.total} {self.unit}{share}, "
            f"{rate:.1f} {self.unit}/s, {elapsed:.0f} s{extra}",
            file=self.stream,
            flush=True,
        )
