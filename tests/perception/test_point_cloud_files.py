"""Scan files that do not hold what they say are refused in one line naming the file
(issue 19): nothing is read from a header that overstates its data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import open3d as o3d
import pytest

from cli.main import main
from perception.point_cloud_io import MAX_POINTS, read_points
from roadmind.errors import UserError

POINTS = np.random.default_rng(0).random((20, 4), dtype=np.float32)


def _header(points: int, data: str = "ascii") -> str:
    return (
        "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\n"
        f"COUNT 1 1 1 1\nWIDTH {points}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\n"
        f"POINTS {points}\nDATA {data}\n"
    )


def _saved_pcd(path: Path, **kwargs: bool) -> bytes:
    cloud = o3d.t.geometry.PointCloud()
    cloud.point.positions = o3d.core.Tensor(POINTS[:, :3])
    cloud.point.intensity = o3d.core.Tensor(POINTS[:, 3:])
    assert o3d.t.io.write_point_cloud(str(path), cloud, **kwargs)
    return path.read_bytes()


def _npy_bytes(tmp_path: Path, array: np.ndarray) -> bytes:
    np.save(tmp_path / "tmp.npy", array)
    return (tmp_path / "tmp.npy").read_bytes()


@pytest.mark.parametrize("kind", ["ascii", "binary", "binary_compressed"])
def test_pcd_encodings_read_exactly(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "scan.pcd"
    _saved_pcd(path, write_ascii=kind == "ascii", compressed=kind == "binary_compressed")
    read = read_points(path, y_left=False)
    np.testing.assert_allclose(read, POINTS, atol=1e-6)


def _bad_files(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    ascii_ok = _saved_pcd(tmp_path / "a.pcd", write_ascii=True)
    binary_ok = _saved_pcd(tmp_path / "b.pcd")
    compressed_ok = _saved_pcd(tmp_path / "c.pcd", compressed=True)
    npy = _npy_bytes(tmp_path, POINTS)
    return {
        "header_only.pcd": (_header(10).encode(), "declares 10 points but the file holds only 0"),
        "ascii_cut.pcd": (ascii_ok[:-25], "ASCII point 19 has"),
        "ascii_lines_missing.pcd": (
            ascii_ok[: ascii_ok.rindex(b"\n", 0, -300)] + b"\n",
            "declares 20 points but the ASCII data has",
        ),
        "ascii_word.pcd": (_header(1).encode() + b"1 2 three 4\n", "not a number"),
        "binary_cut.pcd": (binary_ok[:-7], "320 bytes of binary data) but the file holds 313"),
        "compressed_cut.pcd": (compressed_ok[:-9], "compressed block is missing, cut short"),
        "compressed_tiny.pcd": (
            _header(20, "binary_compressed").encode() + b"\1\2\3",
            "compressed block is missing, cut short",
        ),
        "overstated.pcd": (
            _header(100_000_000, "binary").encode() + POINTS.tobytes(),
            f"100000000 points is more than one scan can hold (limit {MAX_POINTS})",
        ),
        "overstated_small.pcd": (
            _header(1_000_000, "binary").encode() + POINTS.tobytes(),
            "declares 1000000 points (16000000 bytes of binary data) but the file holds 320",
        ),
        "zero_points.pcd": (_header(0).encode(), "the scan holds no points"),
        "no_data_line.pcd": (b"FIELDS x y z\nPOINTS 3\n", "not a PCD file"),
        "no_xyz.pcd": (
            _header(1).replace("x y z intensity", "a b c intensity").encode() + b"1 2 3 4\n",
            "PCD has no x, y, z field",
        ),
        "width_height.pcd": (
            _header(2).replace("WIDTH 2", "WIDTH 3").encode() + b"1 2 3 4\n5 6 7 8\n",
            "WIDTH 3 x HEIGHT 1 is not POINTS 2",
        ),
        "field_lists.pcd": (
            _header(1).replace("SIZE 4 4 4 4", "SIZE 4 4 4").encode() + b"1 2 3 4\n",
            "lists 4 FIELDS but 3 SIZE",
        ),
        "bad_type.pcd": (
            _header(1).replace("TYPE F F F F", "TYPE F F F Q").encode() + b"1 2 3 4\n",
            "field 'intensity' has TYPE Q SIZE 4",
        ),
        "bad_data.pcd": (_header(1, "zip").encode() + b"1 2 3 4\n", "PCD DATA 'zip' is not"),
        "empty.bin": (b"", "the scan holds no points"),
        "odd.bin": (b"\0" * 20, "20 bytes is not a multiple of 16"),
        "renamed_npy.bin": (npy, "this is a NumPy .npy file, not a KITTI scan; refused"),
        "renamed_pcd.bin": (ascii_ok, "this is a PCD file, not a KITTI scan; refused"),
        "cut.npy": (npy[:-8], "the .npy header declares (20, 4) float32 (320 bytes)"),
        "overstated.npy": (
            npy.replace(b"(20, 4)", b"(100000000, 4)", 1)[:200],
            "100000000 points is more than one scan can hold",
        ),
        "empty_array.npy": (_npy_bytes(tmp_path, np.zeros((0, 4), np.float32)), "no points"),
        "wrong_shape.npy": (_npy_bytes(tmp_path, np.zeros((5, 5))), "(N, 3) or (N, 4)"),
        "complex.npy": (_npy_bytes(tmp_path, np.zeros((5, 3), complex)), "(N, 3) or (N, 4)"),
        "garbage.npy": (b"hello world", "not a readable .npy array"),
    }


CASES = [
    "header_only.pcd", "ascii_cut.pcd", "ascii_lines_missing.pcd", "ascii_word.pcd",
    "binary_cut.pcd", "compressed_cut.pcd", "compressed_tiny.pcd", "overstated.pcd",
    "overstated_small.pcd",
    "zero_points.pcd", "no_data_line.pcd", "no_xyz.pcd", "width_height.pcd",
    "field_lists.pcd", "bad_type.pcd", "bad_data.pcd", "empty.bin", "odd.bin",
    "renamed_npy.bin", "renamed_pcd.bin", "cut.npy", "overstated.npy", "empty_array.npy",
    "wrong_shape.npy", "complex.npy", "garbage.npy",
]  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_bad_scan_file_is_refused_naming_it(tmp_path: Path, name: str) -> None:
    content, message = _bad_files(tmp_path)[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        read_points(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert message in text


def test_every_case_is_listed(tmp_path: Path) -> None:
    assert sorted(CASES) == sorted(_bad_files(tmp_path))


def test_cli_refuses_header_only_pcd_in_one_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "head.pcd"
    path.write_text(_header(10))
    assert main(["lidar", str(path), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "head.pcd: PCD header declares 10 points" in err
