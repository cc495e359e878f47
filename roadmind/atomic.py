"""Files that appear whole or not at all: write a temporary file beside the target,
then rename it over the target (``os.replace`` is atomic on one file system).

A reader, or a process killed mid-write, sees the old file or the new one, never half
of one. Temporary names start with a dot and end in ``.tmp`` (``is_temporary``), so a
folder's owner can sweep what a killed writer left.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_SUFFIX = ".tmp"


def temporary_name(path: Path) -> Path:
    """The temporary file beside ``path`` this process writes before the rename. It keeps
    the target's suffix (``.x.png.1234.tmp`` -> writers that pick a format by suffix do
    not, so pass the format explicitly)."""
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


def is_temporary(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(TMP_SUFFIX)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on leaving the block it replaces ``path``. On an
    exception (Ctrl-C included) the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
