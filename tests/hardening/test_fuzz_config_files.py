"""Generated scenario, rig and scene files through their loaders (issue 19): each ends
in the project's ``UserError`` naming the file, or a valid object; never another
exception. Documents are random YAML values, project files with one leaf changed, a
key dropped or added, and random bytes."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from reasoning.canned import load_scene
from roadmind.errors import UserError
from roadmind.resources import configs_dir
from sim.rig import load_rig
from sim.scenario import load_scenario

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
TESTS = Path(__file__).resolve().parents[1]
SEEDS: dict[str, tuple[Callable[[Path], BaseModel], Path]] = {
    "scenario": (lambda p: load_scenario(str(p)), configs_dir() / "scenarios" / "stop_sign.yaml"),
    "rig": (load_rig, configs_dir() / "rigs" / "default.yaml"),
    "scene": (load_scene, TESTS / "reasoning" / "scenes" / "conflict_red_light_lead_stopped.yaml"),
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _leaves(doc: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def _get(doc: Any, path: tuple) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _set(doc: Any, path: tuple, value: Any, drop: bool = False) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if rest:
        doc[head] = _set(doc[head], rest, value, drop)
    elif drop and isinstance(doc, dict):
        del doc[head]
    else:
        doc[head] = value
    return doc


@st.composite
def mutated(draw: st.DrawFn, seed: Path) -> str:
    """The seed file with one leaf changed (or dropped), or a key added somewhere."""
    doc = yaml.safe_load(seed.read_text())
    leaves = _leaves(doc)
    path = draw(st.sampled_from(leaves))
    how = draw(st.sampled_from(["change", "drop", "add"]))
    if how == "add" and path and isinstance(_get(doc, path[:-1]), dict):
        path = (*path[:-1], draw(st.text(min_size=1, max_size=8)))
    doc = _set(doc, path, draw(values), drop=how == "drop")
    return yaml.safe_dump(doc, allow_unicode=True)


def _check(kind: str, content: bytes) -> None:
    load, _ = SEEDS[kind]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{kind}.yaml"
        path.write_bytes(content)
        try:
            result = load(path)
        except UserError as exc:
            assert str(path) in str(exc), f"error does not name the file: {exc}"
            return
        assert isinstance(result, BaseModel)


@pytest.mark.parametrize("kind", sorted(SEEDS))
@SETTINGS
@given(data=st.data())
def test_one_change_to_a_project_file(kind: str, data: st.DataObject) -> None:
    _check(kind, data.draw(mutated(SEEDS[kind][1])).encode())


@pytest.mark.parametrize("kind", sorted(SEEDS))
@SETTINGS
@given(doc=values)
def test_random_documents(kind: str, doc: Any) -> None:
    _check(kind, yaml.safe_dump(doc, allow_unicode=True).encode())


@pytest.mark.parametrize("kind", sorted(SEEDS))
@settings(max_examples=30, deadline=None, database=None)
@given(content=st.binary(max_size=512))
def test_random_bytes(kind: str, content: bytes) -> None:
    _check(kind, content)


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_oversized_file_is_refused_by_size(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.yaml"
    with path.open("wb") as fh:  # a 50 MB file (sparse)
        fh.truncate(50_000_000)
    with pytest.raises(UserError, match=r"50000000 bytes is too large for a "):
        SEEDS[kind][0](path)


@st.composite
def non_finite_leaf(draw: st.DrawFn, seed: Path) -> str:
    """The seed file with one of its numbers made NaN or infinite."""
    doc = yaml.safe_load(seed.read_text())
    numbers = [p for p in _leaves(doc) if p and isinstance(_get(doc, p), int | float)]
    numbers = [p for p in numbers if not isinstance(_get(doc, p), bool)]
    path = draw(st.sampled_from(numbers))
    doc = _set(doc, path, draw(st.sampled_from([math.nan, math.inf, -math.inf])))
    return yaml.safe_dump(doc)


# Numbers in scenario and rig files refuse NaN and infinity (a scenario's light
# timings, a rig pose's x_m). Canned scenes take NaN on purpose (perception faults),
# so they are not checked here.
@pytest.mark.parametrize("kind", ["rig", "scenario"])
@settings(max_examples=40, deadline=None, database=None)
@given(data=st.data())
def test_non_finite_numbers_are_refused(kind: str, data: st.DataObject) -> None:
    load, seed = SEEDS[kind]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{kind}.yaml"
        path.write_text(data.draw(non_finite_leaf(seed)))
        with pytest.raises(UserError, match=str(path)):
            load(path)


# A rig pose ``matrix`` of any shape or content (a mapping, ragged rows) is a one-line
# error, not a TypeError from numpy.
@settings(max_examples=40, deadline=None, database=None)
@given(matrix=values)
def test_rig_pose_matrix_of_any_shape(matrix: Any) -> None:
    doc = {"cameras": [{"name": "front", "pose": {"matrix": matrix}}]}
    _check("rig", yaml.safe_dump(doc, allow_unicode=True).encode())
