"""Where the project's shipped files live: configs (scenarios, rigs, maps, perception
and agent settings, training recipes) and models (trained weights).

Every module finds them here, never by walking up from its own file, so a checkout and
an installed wheel find the same files.
"""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def configs_dir() -> Path:
    """The ``configs/`` folder."""
    return _ROOT / "configs"


def models_dir() -> Path:
    """The ``models/`` folder (shipped weights and their recipes)."""
    return _ROOT / "models"
