"""Point cloud files -> (N, 4) float32 x, y, z, intensity; errors name the file.

KITTI ``.bin`` (little-endian float32 x, y, z, intensity per point), ``.pcd`` (Open3D's
tensor reader; intensity 0 where the file has none) and ``.npy`` (a saved (N, 3) or
(N, 4) array).

A file must hold what it says before anything is read: a PCD header is checked
(fields, sizes, WIDTH x HEIGHT = POINTS) and its data section against the file
(binary: exact byte count; compressed: the block sizes; ASCII: one line of every
field per point), an ``.npy`` header's shape against the file's size, a ``.bin`` for
a whole number of points and for another format's signature (an ``.npy`` or PCD
renamed ``.bin`` is refused, not read as floats). An empty scan, or one over
``MAX_POINTS``, is refused. So no reader ever sees a header that overstates its data
(Open3D would fill the gap with whatever memory held, different on every run).

Axes: KITTI's velodyne frame and ROS (where most ``.pcd`` files come from) have y to
the left; roadmind and CARLA have y to the right. ``read_points`` flips y for ``.bin``
and ``.pcd`` unless told the file already has y to the right; ``.npy`` is taken as
roadmind's own axes. The ``read_*`` functions return the file's numbers as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import open3d as o3d

from roadmind.errors import UserError

KITTI_POINT_BYTES = 16  # four float32
SUFFIXES = (".bin", ".pcd", ".npy")
MAX_POINTS = 20_000_000  # one scan; a 128-beam sweep is about 2.6 million points
PCD_HEADER_MAX_BYTES = 65536
NPY_MAGIC = b"\x93NUMPY"
PCD_TYPES = {"F": (4, 8), "I": (1, 2, 4, 8), "U": (1, 2, 4, 8)}


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
    try:
        return path.stat().st_size
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file ({exc.strerror})") from None


def _read_head(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(min(size, PCD_HEADER_MAX_BYTES))
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file ({exc.strerror})") from None


def _check_count(path: Path, points: int) -> None:
    if points == 0:
        raise UserError(f"{path}: the scan holds no points")
    if points > MAX_POINTS:
        raise UserError(
            f"{path}: {points} points is more than one scan can hold (limit {MAX_POINTS})"
        )


def read_kitti_bin(path: Path) -> np.ndarray:
    size = _require_file(path)
    head = _read_head(path, size)[:16]
    if head.startswith(NPY_MAGIC):
        raise UserError(
            f"{path}: this is a NumPy .npy file, not a KITTI scan; refused (rename it to "
            ".npy to read it as an (N, 3|4) array in roadmind's axes)"
        )
    if head.lstrip().startswith((b"# .PCD", b"VERSION", b"FIELDS")):
        raise UserError(
            f"{path}: this is a PCD file, not a KITTI scan; refused (rename it to .pcd)"
        )
    if size % KITTI_POINT_BYTES:
        raise UserError(
            f"{path}: {size} bytes is not a multiple of {KITTI_POINT_BYTES} "
            "(KITTI .bin holds float32 x, y, z, intensity per point); the file is truncated "
            "or not a KITTI scan"
        )
    _check_count(path, size // KITTI_POINT_BYTES)
    return np.fromfile(path, dtype="<f4").reshape(-1, 4).astype(np.float32, copy=False)


@dataclass(frozen=True, slots=True)
class PcdHeader:
    fields: tuple[str, ...]
    sizes: tuple[int, ...]
    types: tuple[str, ...]
    counts: tuple[int, ...]
    points: int
    data: str  # ascii, binary or binary_compressed
    data_offset: int  # bytes before the data section

    @property
    def point_bytes(self) -> int:
        return sum(s * c for s, c in zip(self.sizes, self.counts, strict=True))


def parse_pcd_header(path: Path, head: bytes) -> PcdHeader:
    """The header of a PCD file (its first bytes), checked for consistency."""
    entries: dict[str, list[str]] = {}
    offset = 0
    for raw in head.split(b"\n"):
        line_end = offset + len(raw) + 1
        text = raw.decode("ascii", errors="replace").strip()
        offset = line_end
        if not text or text.startswith("#"):
            continue
        key, *values = text.split()
        entries[key.upper()] = values
        if key.upper() == "DATA":
            break
    else:
        raise UserError(f"{path}: not a PCD file (no DATA line in its header)")
    if offset > len(head) + 1:
        raise UserError(f"{path}: not a PCD file (no DATA line in its header)")

    def ints(key: str) -> list[int]:
        try:
            return [int(v) for v in entries.get(key, [])]
        except ValueError:
            raise UserError(f"{path}: PCD header {key} must be whole numbers") from None

    fields = tuple(entries.get("FIELDS", []))
    if not fields:
        raise UserError(f"{path}: PCD header has no FIELDS line")
    sizes, counts = ints("SIZE"), ints("COUNT") or [1] * len(fields)
    types = [t.upper() for t in entries.get("TYPE", [])]
    if not len(fields) == len(sizes) == len(types) == len(counts):
        raise UserError(
            f"{path}: PCD header lists {len(fields)} FIELDS but {len(sizes)} SIZE, "
            f"{len(types)} TYPE and {len(counts)} COUNT entries"
        )
    for name, size, kind, count in zip(fields, sizes, types, counts, strict=True):
        if size not in PCD_TYPES.get(kind, ()) or count < 1:
            raise UserError(
                f"{path}: PCD field {name!r} has TYPE {kind} SIZE {size} COUNT {count}; "
                "expected TYPE F (SIZE 4, 8), I or U (SIZE 1, 2, 4, 8) and COUNT >= 1"
            )
    missing = [f for f in ("x", "y", "z") if f not in fields]
    if missing:
        raise UserError(
            f"{path}: PCD has no {', '.join(missing)} field (FIELDS {' '.join(fields)})"
        )
    width, height, points = (ints(k) for k in ("WIDTH", "HEIGHT", "POINTS"))
    if len(points) != 1 or points[0] < 0:
        raise UserError(f"{path}: PCD header needs one POINTS count >= 0")
    if len(width) == 1 and len(height) == 1 and width[0] * height[0] != points[0]:
        raise UserError(
            f"{path}: PCD header WIDTH {width[0]} x HEIGHT {height[0]} is not POINTS {points[0]}"
        )
    data = entries["DATA"][0].lower() if entries["DATA"] else ""
    if data not in ("ascii", "binary", "binary_compressed"):
        raise UserError(f"{path}: PCD DATA {data!r} is not ascii, binary or binary_compressed")
    return PcdHeader(fields, tuple(sizes), tuple(types), tuple(counts), points[0], data, offset)


def _check_pcd_data(path: Path, header: PcdHeader, size: int) -> None:
    """Refuse a data section that does not hold the header's points (before reading)."""
    n, body = header.points, size - header.data_offset
    if header.data == "binary":
        want = n * header.point_bytes
        if body != want:
            raise UserError(
                f"{path}: PCD header declares {n} points ({want} bytes of binary data) but "
                f"the file holds {max(body, 0)} bytes after the header"
            )
        return
    with path.open("rb") as fh:
        fh.seek(header.data_offset)
        if header.data == "binary_compressed":
            block = fh.read(8)
            sizes = np.frombuffer(block, "<u4") if len(block) == 8 else np.zeros(0, "<u4")
            want = n * header.point_bytes
            if sizes.size != 2 or sizes[1] != want or sizes[0] > body - 8:
                raise UserError(
                    f"{path}: PCD header declares {n} points ({want} bytes) but the compressed "
                    "block is missing, cut short or of another size"
                )
            return
        if body < 2 * n * len(header.fields):  # each value needs a digit and a separator
            raise UserError(
                f"{path}: PCD header declares {n} points but the file holds only "
                f"{max(body, 0)} bytes of ASCII data"
            )
        lines = [line for line in fh.read().split(b"\n") if line.strip()]
    values = sum(header.counts)
    if len(lines) != n:
        raise UserError(
            f"{path}: PCD header declares {n} points but the ASCII data has {len(lines)} lines"
        )
    rows = [line.split() for line in lines]
    for i, row in enumerate(rows):
        if len(row) != values:
            raise UserError(f"{path}: PCD ASCII point {i} has {len(row)} values, expected {values}")
    try:  # Open3D reads a word as 0: every value must be a number
        np.array(rows).astype(np.float64)
    except ValueError:
        raise UserError(f"{path}: PCD ASCII data holds a value that is not a number") from None


def read_pcd(path: Path) -> np.ndarray:
    """Positions and, if the file has one, the intensity field (else 0)."""
    size = _require_file(path)
    header = parse_pcd_header(path, _read_head(path, size))
    _check_count(path, header.points)
    _check_pcd_data(path, header, size)
    cloud = o3d.t.io.read_point_cloud(str(path))
    if "positions" not in cloud.point or cloud.point.positions.shape[0] != header.points:
        raise UserError(f"{path}: Open3D could not read the {header.points} points it declares")
    xyz = cloud.point.positions.numpy().astype(np.float32).reshape(-1, 3)
    out = np.zeros((xyz.shape[0], 4), np.float32)
    out[:, :3] = xyz
    if "intensity" in cloud.point:
        out[:, 3] = cloud.point.intensity.numpy().astype(np.float32).reshape(-1)
    return out


def write_pcd(path: Path, points_xyzi: np.ndarray) -> None:
    """ASCII PCD with x, y, z and intensity fields."""
    cloud = o3d.t.geometry.PointCloud()
    cloud.point.positions = o3d.core.Tensor(np.ascontiguousarray(points_xyzi[:, :3], np.float32))
    cloud.point.intensity = o3d.core.Tensor(np.ascontiguousarray(points_xyzi[:, 3:4], np.float32))
    if not o3d.t.io.write_point_cloud(str(path), cloud, write_ascii=True):
        raise UserError(f"{path}: could not write the PCD file")


def read_npy(path: Path) -> np.ndarray:
    size = _require_file(path)
    try:
        with path.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(fh)
            offset = fh.tell()
    except (ValueError, OSError, SyntaxError) as exc:
        raise UserError(f"{path}: not a readable .npy array ({exc})") from None
    if len(shape) != 2 or shape[1] not in (3, 4) or dtype.kind not in "fiu":
        raise UserError(
            f"{path}: expected a numeric (N, 3) or (N, 4) array (x, y, z[, intensity]), "
            f"got {dtype} {shape}"
        )
    _check_count(path, shape[0])
    want = math.prod(shape) * dtype.itemsize
    if size - offset < want:
        raise UserError(
            f"{path}: the .npy header declares {shape} {dtype} ({want} bytes) but the file "
            f"holds {size - offset} bytes of data"
        )
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise UserError(f"{path}: not a readable .npy array ({exc})") from None
    out = np.zeros((array.shape[0], 4), np.float32)
    out[:, : array.shape[1]] = array
    return out
