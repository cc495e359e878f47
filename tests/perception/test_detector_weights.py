"""Weights and dataset files that cannot be used stop with one line naming them
(issue 19): empty, truncated or garbage ``.pt`` and ``.onnx``, an ``.onnx`` left beside
the ``.pt`` from other weights, a ``data.yaml`` without class names."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from evaluation.camera import dataset_names
from perception.camera_detector import (
    DEFAULT_WEIGHTS,
    ONNX_SOURCE_KEY,
    CameraDetector,
    _export_matches,
    _onnx_session,
    export_onnx,
)
from roadmind.errors import UserError
from training.dataset_layout import class_names

GOOD = DEFAULT_WEIGHTS.read_bytes()
BAD_WEIGHTS = {
    "empty.pt": (b"", "the weights file is empty"),
    "garbage.pt": (b"hello, not a checkpoint\n" * 10, "not loadable YOLO weights"),
    "truncated.pt": (GOOD[: len(GOOD) // 3], "not loadable YOLO weights"),
    "empty.onnx": (b"", "the weights file is empty"),
    "garbage.onnx": (b"hello, not a model\n" * 10, "not a loadable ONNX model"),
    "truncated.pt.onnx": (b"\x08\x07\x12\x07pytorch" + b"\x00" * 40, "not a loadable ONNX model"),
}


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("name", sorted(BAD_WEIGHTS))
def test_bad_weights_are_one_line_naming_the_file(tmp_path: Path, name: str, backend) -> None:
    content, message = BAD_WEIGHTS[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        CameraDetector(path, backend)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and "\n" not in text and message in text
    assert not path.with_suffix(".onnx").exists() or name.endswith(".onnx")  # no export


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the shipped weights with a stale, broken .onnx beside it, then exported."""
    weights = tmp_path_factory.mktemp("w") / DEFAULT_WEIGHTS.name
    shutil.copy(DEFAULT_WEIGHTS, weights)
    stale = weights.with_suffix(".onnx")
    stale.write_bytes(b"left from some other run")
    os.utime(stale, (weights.stat().st_mtime + 60,) * 2)  # newer than the weights
    return weights, export_onnx(weights)


def test_a_stale_onnx_beside_the_weights_is_made_again(exported: tuple[Path, Path]) -> None:
    weights, onnx_path = exported
    assert onnx_path == weights.with_suffix(".onnx")
    meta = _onnx_session(onnx_path).get_modelmeta().custom_metadata_map
    assert meta[ONNX_SOURCE_KEY] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert export_onnx(weights) == onnx_path  # kept: it matches


def test_an_export_of_other_weights_or_older_than_them_is_not_used(
    exported: tuple[Path, Path],
) -> None:
    weights, onnx_path = exported
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert _export_matches(onnx_path, weights, digest)
    assert not _export_matches(onnx_path, weights, "0" * 64)  # made from other weights
    mtime = onnx_path.stat().st_mtime
    os.utime(weights, (mtime + 5, mtime + 5))
    try:
        assert not _export_matches(onnx_path, weights, digest)  # the weights are newer
    finally:
        os.utime(weights, (mtime - 5, mtime - 5))


def test_the_named_onnx_is_used_as_given(exported: tuple[Path, Path]) -> None:
    _, onnx_path = exported
    assert CameraDetector(onnx_path, "onnx").weights == onnx_path


DATA_YAML = {
    "no_names": ("path: .\ntrain: images/train\n", "field 'names' must map label indices"),
    "names_empty": ("names: {}\n", "field 'names' must map label indices"),
    "names_text": ("names: vehicle\n", "field 'names' must map label indices"),
    "names_string_keys": ("names: {a: vehicle}\n", "field 'names' must map label indices"),
    "not_mapping": ("- 1\n- 2\n", "field 'names' must map label indices"),
    "empty": ("", "field 'names' must map label indices"),
    "bad_yaml": ("names: [vehicle\n", "not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(DATA_YAML))
def test_data_yaml_without_names_is_one_line(tmp_path: Path, case: str) -> None:
    text, message = DATA_YAML[case]
    path = tmp_path / "data.yaml"
    path.write_text(text)
    for read in (lambda: class_names(tmp_path), lambda: dataset_names(path)):
        with pytest.raises(UserError) as err:
            read()
        assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_data_yaml_names_as_a_list_or_mapping(tmp_path: Path) -> None:
    path = tmp_path / "data.yaml"
    path.write_text("names: [vehicle, pedestrian]\n")
    assert class_names(tmp_path) == ["vehicle", "pedestrian"]
    path.write_text("names: {1: pedestrian, 0: vehicle}\n")
    assert dataset_names(path) == {0: "vehicle", 1: "pedestrian"}
