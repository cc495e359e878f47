"""Generated OpenDRIVE maps and point-cloud files through their loaders (issue 19):
the project's ``UserError`` naming the file, or a valid map or (N, 4) float32 scan read
the same way every time; never another exception, a hang or a crash inside
``carla.Map``."""

from __future__ import annotations

import io
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maps.road_map import MAPS_DIR, RoadMap, load_road_map
from perception.point_cloud_io import read_points
from roadmind.errors import UserError

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
STRAIGHT = (MAPS_DIR / "straight_speed.xodr").read_text()
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-1", "-600", "1e12", "1e7", "nan", "inf", "", "x", "1e-300"]),
    st.integers(-(10**9), 10**9).map(str),
)


def _numeric_attributes(text: str) -> list[tuple[int, str]]:
    root = ET.fromstring(text)
    found = []
    for i, element in enumerate(root.iter()):
        for name, value in element.attrib.items():
            try:
                float(value)
            except ValueError:
                continue
            found.append((i, name))
    return found


ATTRIBUTES = _numeric_attributes(STRAIGHT)


@st.composite
def mutated_map(draw: st.DrawFn) -> str:
    """straight_speed.xodr with one to three numeric attributes replaced."""
    root = ET.fromstring(STRAIGHT)
    elements = list(root.iter())
    for index, name in draw(st.lists(st.sampled_from(ATTRIBUTES), min_size=1, max_size=3)):
        elements[index].set(name, draw(numbers))
    return ET.tostring(root, encoding="unicode")


def _load_map(text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.xodr"
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        try:
            road_map = load_road_map(path)
        except UserError as exc:
            assert str(path) in str(exc), f"error does not name the file: {exc}"
            return
        assert isinstance(road_map, RoadMap) and road_map.carla_map.get_topology()


@SETTINGS
@given(text=mutated_map())
def test_maps_with_changed_numbers(text: str) -> None:
    _load_map(text)


@settings(max_examples=30, deadline=None, database=None)
@given(content=st.binary(max_size=256) | st.text(max_size=256).map(lambda t: f"<OpenDRIVE>{t}"))
def test_random_map_files(content: bytes | str) -> None:
    _load_map(content)


# ---------------------------------------------------------------- point clouds
@st.composite
def pcd_files(draw: st.DrawFn) -> bytes:
    """A PCD header (sometimes inconsistent) over a data section of any length."""
    fields = draw(st.sampled_from([["x", "y", "z"], ["x", "y", "z", "intensity"], ["a", "y"]]))
    kind = draw(st.sampled_from(["F", "U", "I", "Q"]))
    size = draw(st.sampled_from([1, 2, 4, 8, 3]))
    points = draw(st.sampled_from([0, 1, 3, 10, 100_000_000]) | st.integers(-5, 50))
    width = points if draw(st.booleans()) else draw(st.integers(-2, 60))
    data = draw(st.sampled_from(["ascii", "binary", "binary_compressed", "zip"]))
    header = (
        f"# .PCD v0.7\nVERSION 0.7\nFIELDS {' '.join(fields)}\n"
        f"SIZE {' '.join([str(size)] * len(fields))}\nTYPE {' '.join([kind] * len(fields))}\n"
        f"COUNT {' '.join(['1'] * len(fields))}\nWIDTH {width}\nHEIGHT 1\n"
        f"VIEWPOINT 0 0 0 1 0 0 0\nPOINTS {points}\nDATA {data}\n"
    )
    if data == "ascii" and draw(st.booleans()):
        rows = draw(st.integers(0, 12))
        values = st.floats(width=32, allow_nan=False) | st.sampled_from(["nan", "x", ""])
        body = "\n".join(
            " ".join(
                str(draw(values)) for _ in range(draw(st.integers(len(fields) - 1, len(fields))))
            )
            for _ in range(rows)
        ).encode()
    else:
        body = draw(st.binary(max_size=400))
    return header.encode() + body


@st.composite
def npy_files(draw: st.DrawFn) -> bytes:
    rows = draw(st.integers(0, 20))
    cols = draw(st.sampled_from([1, 3, 4, 5]))
    dtype = draw(st.sampled_from(["<f4", "<f8", "<i2", "|u1", "<c8", "|b1"]))
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((rows, cols), dtype))
    content = buffer.getvalue()
    return content[: draw(st.integers(0, len(content)))] if draw(st.booleans()) else content


scans = st.one_of(
    st.tuples(st.just(".pcd"), pcd_files()),
    st.tuples(st.just(".npy"), npy_files()),
    st.tuples(st.sampled_from([".bin", ".pcd", ".npy"]), st.binary(max_size=300)),
    st.tuples(st.just(".bin"), npy_files()),  # an .npy renamed .bin
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(scan=scans)
def test_scan_files(scan: tuple[str, bytes]) -> None:
    suffix, content = scan
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(content)
        try:
            first = read_points(path)
        except UserError as exc:
            assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
            return
        second = read_points(path)
    assert first.dtype == np.float32 and first.ndim == 2 and first.shape[1] == 4
    assert first.shape[0] > 0
    assert first.tobytes() == second.tobytes()  # deterministic, NaN bits included


def test_a_hundred_million_point_header_is_refused_by_size(tmp_path: Path) -> None:
    path = tmp_path / "big.pcd"
    header = "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 100000000\nHEIGHT 1\n"
    path.write_text(header + "POINTS 100000000\nDATA binary\n")
    try:
        read_points(path)
    except UserError as exc:
        assert "100000000 points is more than one scan can hold" in str(exc)
    else:
        raise AssertionError("accepted")
