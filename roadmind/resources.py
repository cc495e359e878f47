"""Where the project's shipped files live: configs (scenarios, rigs, maps, perception
and agent settings, training recipes) and models (trained weights), and where files
made from them (the detector's ONNX export) are kept.

Every module finds them here, never by walking up from its own file. In a checkout
(plain or ``pip install -e``) they are the top-level ``configs/`` and ``models/``
folders; an installed wheel carries them inside this package as ``roadmind/configs``
and ``roadmind/models`` (pyproject.toml maps them there).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    installed = _PACKAGE / name  # a wheel: mapped into the package
    return installed if installed.is_dir() else _PACKAGE.parent / name  # a checkout


def configs_dir() -> Path:
    """The ``configs/`` folder."""
    return _data_dir("configs")


def models_dir() -> Path:
    """The ``models/`` folder (shipped weights and their recipes)."""
    return _data_dir("models")


MAPS_DIR_ENV = "ROADMIND_MAPS_DIR"  # folders of .xodr maps found by bare name (Town04)


def user_maps_dirs() -> list[Path]:
    """The folders ``$ROADMIND_MAPS_DIR`` names (``os.pathsep``-separated), in order;
    ``roadmind --maps-dir DIR`` puts DIR first."""
    return [Path(p) for p in os.environ.get(MAPS_DIR_ENV, "").split(os.pathsep) if p]


def cache_dir() -> Path:
    """The user's cache for files roadmind makes: ``$ROADMIND_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/roadmind``, else ``~/.cache/roadmind``."""
    if env := os.environ.get("ROADMIND_CACHE_DIR"):
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "roadmind"


def derived_path(source: Path, suffix: str) -> Path:
    """Where a file made from ``source`` (an ONNX export of weights) is kept: beside it
    (``source`` with ``suffix``) when that folder is writable and not inside an installed
    package; otherwise in the user cache, named by the source's content, so an installed
    wheel's read-only or shared site-packages is never written and different weights of
    the same name never share an export."""
    source = Path(source)
    folder = source.resolve().parent
    if os.access(folder, os.W_OK) and not folder.is_relative_to(_PACKAGE):
        return source.with_suffix(suffix)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    return cache_dir() / f"{source.stem}-{digest}{suffix}"
