"""Point cloud files -> (N, 4) float32 x, y, z, intensity; errors name the file.

KITTI ``.bin`` (little-endian float32 x, y, z, intensity per point), ``.pcd`` (Open3D;
intensity 0 where the file has none) and ``.npy`` (a saved (N, 3) or (N, 4) array).

Axes: KITTI's velodyne frame and ROS (where most ``.pcd`` files come from) have y to
the left; roadmind and CARLA have y to the right. ``read_points`` flips y for ``.bin``
and ``.pcd`` unless told the file already has y to the right; ``.npy`` is taken as
roadmind's own axes. The ``read_*`` functions return the file's numbers as they are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import open3d as o3d

from roadmind.errors import UserError

KITTI_POINT_BYTES = 16  # four float32
SUFFIXES = (".bin", ".pcd", ".npy")


def read_points(path: Path, y_left: bool | None = None) -> np.ndarray:
    """Read a scan by its suffix (.bin KITTI, .pcd or .npy) into roadmind's axes (y right).
    ``y_left``: whether the file's y axis points left; None: by suffix (.bin, .pcd yes)."""
    path = Path(path)
    readers = {".bin": read_kitti_bin, ".pcd": read_pcd, ".npy": read_npy}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise UserError(
            f"{path}: unknown point cloud format {path.suffix!r}; expected {', '.join(SUFFIXES)}"
        )
    points = reader(path)
    if y_left if y_left is not None else path.suffix.lower() in (".bin", ".pcd"):
        points = points.copy()
        points[:, 1] *= -1.0
    return points


def _require_file(path: Path) -> int:
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    return path.stat().st_size


def read_kitti_bin(path: Path) -> np.ndarray:
    size = _require_file(path)
    if size % KITTI_POINT_BYTES:
        raise UserError(
            f"{path}: {size} bytes is not a multiple of {KITTI_POINT_BYTES} "
            "(KITTI .bin holds float32 x, y, z, intensity per point); the file is truncated "
            "or not a KITTI scan"
        )
    return np.fromfile(path, dtype="<f4").reshape(-1, 4).astype(np.float32, copy=False)


def read_pcd(path: Path) -> np.ndarray:
    """Positions and, if the file has one, the intensity field (else 0)."""
    _require_file(path)
    with path.open("rb") as fh:
        head = fh.read(4096)
    if b"\nDATA " not in head and not head.startswith(b"DATA "):
        raise UserError(f"{path}: not a PCD file (no DATA line in its header)")
    cloud = o3d.t.io.read_point_cloud(str(path))
    if "positions" not in cloud.point:
        declared = _declared_points(head)
        if declared:
            raise UserError(f"{path}: PCD declares {declared} points but none could be read")
        return np.zeros((0, 4), np.float32)
    xyz = cloud.point.positions.numpy().astype(np.float32).reshape(-1, 3)
    out = np.zeros((xyz.shape[0], 4), np.float32)
    out[:, :3] = xyz
    if "intensity" in cloud.point:
        out[:, 3] = cloud.point.intensity.numpy().astype(np.float32).reshape(-1)
    return out


def _declared_points(head: bytes) -> int:
    for line in head.split(b"\n"):
        if line.startswith(b"POINTS "):
            try:
                return int(line.split()[1])
            except (IndexError, ValueError):
                return 0
    return 0


def write_pcd(path: Path, points_xyzi: np.ndarray) -> None:
    """ASCII PCD with x, y, z and intensity fields."""
    cloud = o3d.t.geometry.PointCloud()
    cloud.point.positions = o3d.core.Tensor(np.ascontiguousarray(points_xyzi[:, :3], np.float32))
    cloud.point.intensity = o3d.core.Tensor(np.ascontiguousarray(points_xyzi[:, 3:4], np.float32))
    if not o3d.t.io.write_point_cloud(str(path), cloud, write_ascii=True):
        raise UserError(f"{path}: could not write the PCD file")


def read_npy(path: Path) -> np.ndarray:
    _require_file(path)
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise UserError(f"{path}: not a readable .npy array ({exc})") from None
    if array.ndim != 2 or array.shape[1] not in (3, 4) or not np.issubdtype(array.dtype, np.number):
        raise UserError(
            f"{path}: expected a numeric (N, 3) or (N, 4) array (x, y, z[, intensity]), "
            f"got {array.dtype} {array.shape}"
        )
    out = np.zeros((array.shape[0], 4), np.float32)
    out[:, : array.shape[1]] = array
    return out
