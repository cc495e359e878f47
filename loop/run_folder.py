"""A run folder belongs to one run.

A drive claims its folder before it writes anything: it takes an exclusive lock on
``.roadmind.lock`` inside it (``fcntl.flock``; the OS drops the lock when the process
ends, however it ends, so a killed run never leaves the folder locked). A second drive
on the same folder while the first runs is refused with the holder's pid. A folder
that holds the outputs of an earlier run is refused too, unless the drive was told to
overwrite: then those outputs (and temporary files a killed writer left) are removed
first, so old and new files never sit side by side. Other files are left alone.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from types import TracebackType

from roadmind.atomic import is_temporary
from roadmind.errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no flock; the outputs check below still holds
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".roadmind.lock"
# everything a drive writes into its folder
RUN_OUTPUTS = (
    "config.yaml",
    "decisions.jsonl",
    "metrics.json",
    "timeline.png",
    "video.mp4",
    "log.mcap",
)


class RunFolder:
    """The claim on one run folder; use ``claim_run_folder``. Held until ``release``
    (or the end of the ``with`` block, or the process)."""

    def __init__(self, path: Path, fd: int | None, created: bool) -> None:
        self.path = path
        self._fd = fd
        self._created = created  # the claim made the folder

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def release(self) -> None:
        # the lock file stays: removing it would let two later drives lock two different files
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def abandon(self) -> None:
        """Release a claim nothing was written under (the drive failed before it started);
        a folder the claim made goes again."""
        if self._created and self._fd is not None:
            (self.path / LOCK_NAME).unlink(missing_ok=True)
            self.release()
            with contextlib.suppress(OSError):  # something else is in it now
                self.path.rmdir()
        self.release()


def claim_run_folder(path: Path, overwrite: bool = False) -> RunFolder:
    """Create ``path`` if needed and lock it for this process. Raises ``UserError`` when
    another drive holds it, or when it holds an earlier run's outputs and not
    ``overwrite`` (with ``overwrite`` they are removed)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: --out must be a folder, this is a file")
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UserError(f"{path}: cannot write the run folder ({exc.strerror})") from exc
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
            os.close(fd)
            who = f"pid {holder[0]}" if holder else "another process"
            raise UserError(
                f"{path}: in use by another drive ({who}); wait for it to end or pick another --out"
            ) from None
    folder = RunFolder(path, fd, created)
    try:
        os.ftruncate(fd, 0)  # who holds it, for the refusal above
        os.pwrite(fd, f"{os.getpid()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode(), 0)
        old = [name for name in RUN_OUTPUTS if (path / name).exists()]
        if old and not overwrite:
            raise UserError(
                f"{path}: holds an earlier run ({', '.join(old)}); pass --overwrite to "
                "replace it or pick another --out"
            )
        for name in old:
            (path / name).unlink()
        for leftover in path.iterdir():
            if is_temporary(leftover):
                leftover.unlink(missing_ok=True)
    except BaseException:
        folder.abandon()
        raise
    return folder


def fresh_run_dir(path: Path) -> Path:
    """``path``, or ``path_2``, ``path_3``... when it exists (two default folders named in
    the same second)."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}_{n}")
    return candidate
