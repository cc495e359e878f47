"""KITTI object labels (``label_2``) as boxes in the velodyne frame, roadmind's axes.

KITTI labels hold each object's bottom centre, size (h, w, l) and yaw ``rotation_y`` in
rectified camera coordinates (x right, y down, z forward); ``calib`` holds ``R0_rect``
and ``Tr_velo_to_cam``. A point goes velodyne -> camera as ``R0 @ Tr @ p``, so a label
comes back by the inverse. The velodyne frame has y to the left; the boxes returned here
are flipped into roadmind's axes (x forward, y right, z up), as ``read_points`` flips
the scan, so both line up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from roadmind.errors import UserError


@dataclass(frozen=True, slots=True)
class KittiBox:
    """One labelled object in the velodyne frame (roadmind axes: y right).

    center_m: (3,) box centre; extent_m: (3,) half length, width, height;
    yaw_rad: heading about z (roadmind's sense).
    """

    kind: str  # KITTI type: Car, Van, Truck, Pedestrian, Cyclist, Misc, ...
    center_m: np.ndarray
    extent_m: np.ndarray
    yaw_rad: float
    occluded: int
    truncated: float

    @property
    def range_m(self) -> float:
        return float(math.hypot(self.center_m[0], self.center_m[1]))


def read_calib(path: Path) -> dict[str, np.ndarray]:
    """``calib/*.txt`` -> {name: flat float64 array}."""
    out: dict[str, np.ndarray] = {}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the calibration ({exc.strerror})") from None
    for line in lines:
        name, sep, values = line.partition(":")
        if sep and values.strip():
            try:
                out[name.strip()] = np.array(values.split(), np.float64)
            except ValueError:
                raise UserError(f"{path}: {name.strip()}: not a list of numbers") from None
    for key, size in (("R0_rect", 9), ("Tr_velo_to_cam", 12)):
        if out.get(key, np.zeros(0)).size != size:
            raise UserError(f"{path}: {key} with {size} numbers is missing")
    return out


def cam_to_velo(calib: dict[str, np.ndarray]) -> np.ndarray:
    """(4, 4) rectified camera -> velodyne (KITTI axes, y left)."""
    r0 = np.eye(4)
    r0[:3, :3] = calib["R0_rect"].reshape(3, 3)
    tr = np.eye(4)
    tr[:3, :] = calib["Tr_velo_to_cam"].reshape(3, 4)
    return np.asarray(np.linalg.inv(r0 @ tr))


def read_labels(label_path: Path, calib_path: Path) -> list[KittiBox]:
    """Every labelled object but ``DontCare``, in the velodyne frame with y to the right."""
    to_velo = cam_to_velo(read_calib(calib_path))
    boxes = []
    try:
        lines = Path(label_path).read_text().splitlines()
    except OSError as exc:
        raise UserError(f"{label_path}: cannot read the labels ({exc.strerror})") from None
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields or fields[0] == "DontCare":
            continue
        if len(fields) < 15:
            raise UserError(f"{label_path}:{number}: expected 15 fields, got {len(fields)}")
        h, w, length, x, y, z, ry = (float(v) for v in fields[8:15])
        centre_cam = np.array([x, y - h / 2.0, z, 1.0])  # y points down: the centre is above
        centre = (to_velo @ centre_cam)[:3]
        # heading: camera yaw ry about its y (down) axis -> velodyne yaw -ry - pi/2 (y left)
        yaw_velo = -ry - math.pi / 2.0
        centre[1] = -centre[1]  # into roadmind's axes, y right
        yaw = math.remainder(-yaw_velo, 2.0 * math.pi)
        boxes.append(
            KittiBox(
                kind=fields[0],
                center_m=centre,
                extent_m=np.array([length, w, h]) / 2.0,
                yaw_rad=yaw,
                occluded=int(float(fields[2])),
                truncated=float(fields[1]),
            )
        )
    return boxes


def read_image_boxes(label_path: Path) -> list[tuple[str, np.ndarray]]:
    """Every label's 2D box in image 2: (KITTI type, (4,) float64 xyxy px), ``DontCare``
    regions included (a scorer decides what they count for)."""
    try:
        lines = Path(label_path).read_text().splitlines()
    except OSError as exc:
        raise UserError(f"{label_path}: cannot read the labels ({exc.strerror})") from None
    boxes = []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 15:
            raise UserError(f"{label_path}:{number}: expected 15 fields, got {len(fields)}")
        try:
            xyxy = np.array([float(v) for v in fields[4:8]], np.float64)
        except ValueError:
            raise UserError(f"{label_path}:{number}: the 2D box is not four numbers") from None
        boxes.append((fields[0], xyxy))
    return boxes
