"""A non-editable install works: the wheel carries every package, every file of
configs/ and the shipped weights (not their ONNX export), and installed in a fresh venv
`roadmind drive` runs from any folder, exporting the detector into the user cache.

Offline: the wheel is built with the running environment's setuptools (no build
isolation, no index), and the fresh venv reuses this environment's dependencies
through a .pth line instead of installing torch and the rest again.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = ("configs", "models")
MODEL_FILES = (  # what models/ ships
    "*/*.pt",
    "*/*.safetensors",
    "*/reader.json",
    "*/recipe.yaml",
    "*/training.json",
    "*/base/*.pt",
    "*/base/recipe.yaml",
    "*/base/training.json",
)


def _top_packages() -> list[str]:
    return sorted(
        p.name for p in REPO.iterdir() if (p / "__init__.py").is_file() and p.name != "tests"
    )


def _checkout_packages() -> set[str]:
    """Every package of the checkout, as dotted names."""
    found = set()
    for top in _top_packages():
        for init in (REPO / top).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(REPO).parts))
    return found


def _files(folder: Path) -> set[str]:
    return {
        p.relative_to(REPO).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def _model_files() -> set[str]:
    return {p.relative_to(REPO).as_posix() for g in MODEL_FILES for p in (REPO / "models").glob(g)}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the checkout (the checkout gets no build/ folder)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.onnx", "work")
    for name in [*_top_packages(), *DATA]:
        shutil.copytree(REPO / name, src / name, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--no-cache-dir", "--quiet", "-w", str(root / "dist"), str(src)],
        check=True,
    )  # fmt: skip
    (built,) = (root / "dist").glob("roadmind-*.whl")
    return built


def test_the_wheel_carries_every_package_configs_file_and_the_weights(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(Path(n).parent).replace("/", ".") for n in names if n.endswith("/__init__.py")}
    assert _checkout_packages() - packages == set(), "packages missing from pyproject.toml"

    # configs/ and models/ land inside the roadmind package, where resources.py looks
    configs = _files(REPO / "configs")
    assert any(f.endswith(".xodr") for f in configs) and any(f.endswith(".yaml") for f in configs)
    shipped = {f"roadmind/{f}" for f in configs | _model_files()}
    assert shipped - names == set()
    assert "roadmind/models/detector/roadmind_yolo11n.pt" in names  # DEFAULT_WEIGHTS
    assert not [n for n in names if n.endswith(".onnx")], "ONNX exports are made on use"

    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "roadmind = cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (not editable); its dependencies are this
    environment's, on its path through a .pth line (a path line only: the editable
    install's own .pth in there is not run, so the checkout stays out of reach)."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    deps = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["platlib"]])
    (Path(purelib) / "_roadmind_test_deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--no-cache-dir", "--quiet", str(wheel)],
        check=True,
    )  # fmt: skip
    return env_dir


def _run(installed: Path, args: list[str], cwd: Path, cache: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["ROADMIND_CACHE_DIR"] = str(cache)
    done = subprocess.run(
        [installed / "bin" / args[0], *args[1:]], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_installed_roadmind_finds_its_files_inside_the_venv(
    installed: Path, tmp_path: Path
) -> None:
    out = _run(
        installed,
        ["python", "-c", "import cli.main, roadmind.resources as r; "
         "print(cli.main.__file__); print(r.configs_dir()); print(r.models_dir())"],
        tmp_path, tmp_path / "cache",
    )  # fmt: skip
    for line in out.split():
        assert Path(line).resolve().is_relative_to(installed.resolve()), out


def test_installed_roadmind_drives_from_any_folder(installed: Path, tmp_path: Path) -> None:
    _run(
        installed,
        ["roadmind", "drive", "--scenario", "stop_sign", "--no-video", "--duration-s", "2",
         "--out", "run"],
        tmp_path, tmp_path / "cache",
    )  # fmt: skip
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["route_completion_pct"] > 0


def test_installed_detector_exports_into_the_user_cache(installed: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _run(
        installed,
        ["roadmind", "drive", "--scenario", "stop_sign", "--perception", "stack",
         "--no-video", "--duration-s", "1", "--out", "run"],
        tmp_path, cache,
    )  # fmt: skip
    assert [p.name for p in cache.glob("*.onnx")], "the ONNX export is in the cache"
    assert not list(installed.rglob("*.onnx")), "site-packages is never written"
    assert not [p for p in cache.iterdir() if p.name.startswith(".export-")]
