"""pyproject.toml names the top-level packages in four places (the wheel, mypy, the
import contracts' roots and their no-cycles check); a package left out of one would go
unshipped, unchecked or unlayered without a word."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_package_list_names_every_top_level_package() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    checkout = {
        p.name for p in REPO.iterdir() if (p / "__init__.py").is_file() and p.name != "tests"
    }
    wheel = {name for name in config["tool"]["setuptools"]["packages"] if "." not in name}
    linter = config["tool"]["importlinter"]
    no_cycles = next(c for c in linter["contracts"] if c["id"] == "no-cycles")
    lists = {
        "tool.setuptools.packages": wheel,
        "tool.mypy.files": set(config["tool"]["mypy"]["files"]),
        "tool.importlinter.root_packages": set(linter["root_packages"]),
        "no-cycles ancestors": set(no_cycles["ancestors"]),
    }
    for where, names in lists.items():
        assert names == checkout, f"{where}: missing {checkout - names}, extra {names - checkout}"
