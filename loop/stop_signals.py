"""Ctrl-C, SIGTERM (a scheduler, ``kill``) and SIGHUP (a closed terminal) all stop a
drive the same way: the first one raises ``KeyboardInterrupt`` where the loop is, so
the drive keeps what it recorded; every later one, and any that comes while the run
folder is being finished, is noted on stderr and ignored, so the final writes are
never cut short. SIGKILL cannot be caught: what a drive writes as it goes is made to
survive it (see loop/drive.py).

The handlers go through three states: ``raise`` (the first stop signal raises
``KeyboardInterrupt`` at once: before the drive, it aborts the world's setup as Ctrl-C
always did; in the loop, it ends the loop), ``hold`` (the drive sets up its folder: a
signal is kept and raised when the loop starts, ``arm``) and ``finish`` (ignored).
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType, TracebackType
from typing import Any, Literal

STOP_SIGNALS = tuple(
    s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None
)


class StopSignals:
    """Install the stop handlers for a ``with`` block; the old ones come back after it,
    except with ``linger`` once a stop signal came: then the process is ending because of
    it, and later ones are ignored to the end (a command line's exit). ``signum``: the
    first stop signal that came (None: none did). Outside the main thread Python cannot
    install handlers, and the block runs with the process's own."""

    def __init__(self, linger: bool = False) -> None:
        self.signum: int | None = None
        self.linger = linger
        self._state: Literal["raise", "hold", "finish"] = "raise"
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._saved.items():
            stopping = self.linger and self.signum is not None
            signal.signal(sig, signal.SIG_IGN if stopping else handler)
        self._saved.clear()

    @property
    def name(self) -> str | None:
        return None if self.signum is None else signal.Signals(self.signum).name

    def hold(self) -> None:
        """Setting up: a stop signal waits for ``arm``."""
        if self._state == "raise":
            self._state = "hold"

    def arm(self) -> None:
        """The loop starts: a stop signal raises ``KeyboardInterrupt`` from now on (at once,
        when one came while held)."""
        if self.signum is not None:
            self._state = "finish"
            raise KeyboardInterrupt
        self._state = "raise"

    def finishing(self) -> None:
        """From now on signals are only noted: the run folder is being written."""
        self._state = "finish"

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
            if self._state == "raise":
                self._state = "finish"  # only the first one stops anything
                raise KeyboardInterrupt
            return  # held until arm(), or the drive is ending anyway
        # os.write, not print: a handler may run inside a print of the main code
        os.write(
            2,
            f"\nroadmind: {signal.Signals(signum).name} ignored while the run folder is "
            "written (SIGKILL abandons it)\n".encode(),
        )
