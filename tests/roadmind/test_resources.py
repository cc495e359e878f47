"""Shipped files are found in a checkout and in an installed wheel; files made from them
go beside them, or into the user cache where that folder must not be written."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadmind import resources


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """resources.py as if it lived in tmp_path/site/roadmind."""
    pkg = tmp_path / "site" / "roadmind"
    pkg.mkdir(parents=True)
    monkeypatch.setattr(resources, "_PACKAGE", pkg)
    monkeypatch.setenv("ROADMIND_CACHE_DIR", str(tmp_path / "cache"))
    return pkg


def test_a_checkout_finds_the_top_level_folders(package: Path) -> None:
    assert resources.configs_dir() == package.parent / "configs"
    assert resources.models_dir() == package.parent / "models"


def test_a_wheel_finds_the_folders_inside_the_package(package: Path) -> None:
    (package / "configs").mkdir()
    (package / "models").mkdir()
    (package.parent / "configs").mkdir()  # a stray top-level configs/ is not ours
    assert resources.configs_dir() == package / "configs"
    assert resources.models_dir() == package / "models"


def test_the_checkout_sees_its_own_scenarios() -> None:
    from sim.scenario import load_scenario

    assert load_scenario("stop_sign").name == "stop_sign"


def test_derived_files_go_beside_a_writable_source_outside_the_package(
    package: Path, tmp_path: Path
) -> None:
    weights = tmp_path / "mine" / "w.pt"
    weights.parent.mkdir()
    weights.write_bytes(b"weights")
    assert resources.derived_path(weights, ".onnx") == tmp_path / "mine" / "w.onnx"


def test_derived_files_of_installed_weights_go_to_the_cache_named_by_content(
    package: Path, tmp_path: Path
) -> None:
    a = package / "models" / "detector" / "w.pt"
    a.parent.mkdir(parents=True)
    a.write_bytes(b"weights a")
    first = resources.derived_path(a, ".onnx")
    assert first.parent == tmp_path / "cache" and first.name.startswith("w-")
    assert first.suffix == ".onnx"
    assert resources.derived_path(a, ".onnx") == first  # made once, found again
    a.write_bytes(b"weights b")
    assert resources.derived_path(a, ".onnx") != first  # other weights, other export


def test_derived_files_of_a_read_only_folder_go_to_the_cache(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = tmp_path / "shared" / "w.pt"
    weights.parent.mkdir()
    weights.write_bytes(b"weights")
    monkeypatch.setattr(resources.os, "access", lambda path, mode: False)  # root writes all
    assert resources.derived_path(weights, ".onnx").parent == tmp_path / "cache"


def test_the_cache_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROADMIND_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resources.cache_dir() == tmp_path / "xdg" / "roadmind"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resources.cache_dir() == tmp_path / "home" / ".cache" / "roadmind"
    monkeypatch.setenv("ROADMIND_CACHE_DIR", str(tmp_path / "mine"))
    assert resources.cache_dir() == tmp_path / "mine"
