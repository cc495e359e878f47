"""What every project YAML loader refuses, with the file named: a key given twice, an
empty file, text that is not UTF-8, a file it cannot read, NaN and infinity."""

from __future__ import annotations

import importlib
import math
import pkgutil
from pathlib import Path

import pytest
from pydantic import BaseModel

from roadmind.config import NanAllowed, StrictModel, load_model, load_yaml_text, read_yaml
from roadmind.errors import ConfigError


class Doc(StrictModel):
    a: float = 0.0
    b: dict[str, int] = {}
    maybe: NanAllowed = 0.0


def _write(tmp_path: Path, data: str | bytes, name: str = "doc.yaml") -> Path:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "first"),
    [
        ("a: 1\nb: {}\na: 2\n", 3, 1),  # top level
        ("b:\n  x: 1\n  y: 2\n  x: 3\n", 4, 2),  # nested
        ("b: {x: 1, x: 2}\n", 1, 1),  # flow style
    ],
)
def test_a_key_given_twice_is_refused_naming_key_file_and_lines(
    tmp_path: Path, text: str, line: int, first: int
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        read_yaml(path)
    key = "'a'" if text.startswith("a") else "'x'"
    assert str(err.value) == (
        f"{path}: line {line}: key {key} given twice (first on line {first}); give each key once"
    )


def test_merge_keys_may_still_be_overridden() -> None:
    data = load_yaml_text("base: &b {x: 1, y: 2}\nuse: {<<: *b, x: 3}\n", "s")
    assert data["use"] == {"x": 3, "y": 2}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_an_empty_file_is_refused_not_taken_as_defaults(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"doc\.yaml: the file is empty"):
        load_model(Doc, path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bytes(range(256)) * 4, r"a binary file \(or UTF-16 without a byte order mark\)"),
        (b"a: 1\n\xff\xfe\n", r"not UTF-8 text \(byte 5 is not valid\); save it as UTF-8"),
        (b"a: 1\n\x07\n", r"not valid YAML: unacceptable character #x0007"),
    ],
)
def test_a_binary_file_is_refused(tmp_path: Path, data: bytes, message: str) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError, match=rf"doc\.yaml: {message}"):
        read_yaml(path)


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r": is a folder, not a file"):
        read_yaml(tmp_path)


def test_an_unreadable_file_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests may run as root, which reads a chmod 000 file: the refusal is simulated.
    path = _write(tmp_path, "a: 1\n")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ConfigError, match=r"doc\.yaml: cannot read the file: Permission denied"):
        read_yaml(path)


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "'nan'", "'inf'", "1e999"])
def test_nan_and_infinity_are_refused_naming_file_and_field(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, f"a: {value}\n")
    with pytest.raises(ConfigError, match=rf"^{path}: a: Input should be a finite number$"):
        load_model(Doc, path)


def test_a_nan_allowed_field_takes_nan_but_not_infinity(tmp_path: Path) -> None:
    assert math.isnan(load_model(Doc, _write(tmp_path, "maybe: .nan\n")).maybe)
    with pytest.raises(ConfigError, match=r"maybe: infinity is not allowed here"):
        load_model(Doc, _write(tmp_path, "maybe: .inf\n"))


# Fields that take NaN on purpose: a canned scene's perceived values, which may be unknown.
NAN_ALLOWED = {
    "reasoning.canned.ObjectSpec.at",
    "reasoning.canned.ObjectSpec.speed_kmh",
    "reasoning.canned.ObjectSpec.heading_deg",
    "reasoning.canned.EgoSpec.speed_kmh",
}
PACKAGES = ("roadmind", "sim", "reasoning", "agent", "fusion", "perception", "training")


def _config_models() -> list[type[BaseModel]]:
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            importlib.import_module(info.name)
    found, todo = [], list(StrictModel.__subclasses__())
    while todo:
        model = todo.pop()
        found.append(model)
        todo += model.__subclasses__()
    return [m for m in found if m.__module__.split(".")[0] in PACKAGES]


def test_every_config_model_refuses_nan_unless_listed() -> None:
    """Every number field of every config model (scenario, rig, scene, agent, fusion,
    LiDAR, reader, training) refuses NaN: the rule is StrictModel's, and a field that
    overrides it must be one of the perceived values listed above."""
    models = _config_models()
    assert len(models) > 40
    opened = set()
    for model in models:
        assert model.model_config.get("allow_inf_nan") is False, model
        for name, field in model.model_fields.items():
            schema = repr(field.metadata) + repr(field.annotation)
            if "allow_inf_nan=True" in schema:
                opened.add(f"{model.__module__}.{model.__qualname__}.{name}")
    assert opened == NAN_ALLOWED
