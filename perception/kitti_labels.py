"""KITTI's object files, read once for the whole project: ``calib/*.txt`` and the
``label_2/*.txt`` labels, as boxes in the velodyne frame with roadmind's axes.

KITTI labels hold each object's bottom centre, size (h, w, l) and yaw ``rotation_y`` in
the rectified *reference* camera's coordinates (camera 0: x right, y down, z forward);
``calib`` holds ``R0_rect`` and ``Tr_velo_to_cam`` (velodyne -> reference camera) and
``P2``, the projection of camera 2, which sits beside the reference camera (its
baseline is P2's last column). A point goes velodyne -> reference camera as
``R0 @ Tr @ p``, so a label comes back by the inverse. The velodyne frame has y to the
left; the boxes returned here are flipped into roadmind's axes (x forward, y right,
z up), as ``read_points`` flips the scan, so both line up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from roadmind.config import read_text_file
from roadmind.errors import UserError
from roadmind.messages import ObjectClass

# The labels roadmind scores, by class. Tram, Person_sitting, Cyclist, Misc and DontCare
# have no roadmind class: they are neither truth nor, for the image scorer, false boxes.
KITTI_CLASSES = {
    "Car": ObjectClass.VEHICLE,
    "Van": ObjectClass.VEHICLE,
    "Truck": ObjectClass.VEHICLE,
    "Pedestrian": ObjectClass.PEDESTRIAN,
}
FLIP_Y = np.diag([1.0, -1.0, 1.0])  # KITTI's y left <-> roadmind's y right


@dataclass(frozen=True)
class KittiCalib:
    """p2: (3, 4) camera 2's projection; velo_to_ref: (4, 4) velodyne -> rectified
    reference camera (the labels' frame), ``R0_rect @ Tr_velo_to_cam``."""

    p2: np.ndarray
    velo_to_ref: np.ndarray

    @property
    def fx(self) -> float:
        return float(self.p2[0, 0])

    @property
    def velo_to_cam2(self) -> np.ndarray:
        """(4, 4) velodyne -> camera 2's optical frame (rectified): the reference camera
        moved by camera 2's baseline."""
        base = np.eye(4)
        base[:3, 3] = np.linalg.solve(self.p2[:, :3], self.p2[:, 3])
        return np.asarray(base @ self.velo_to_ref)


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
    def object_class(self) -> ObjectClass | None:
        """roadmind's class of the label, None for a type it does not score."""
        return KITTI_CLASSES.get(self.kind)

    @property
    def range_m(self) -> float:
        return float(math.hypot(self.center_m[0], self.center_m[1]))


def read_calib(path: Path) -> KittiCalib:
    """``calib/*.txt``: P2, R0_rect and Tr_velo_to_cam are needed; a missing or
    malformed one is a UserError naming the file and the matrix."""
    rows: dict[str, np.ndarray] = {}
    for line in read_text_file(Path(path), "KITTI calibration").splitlines():
        name, sep, values = line.partition(":")
        if sep and values.strip():
            try:
                rows[name.strip()] = np.array(values.split(), np.float64)
            except ValueError:
                raise UserError(f"{path}: {name.strip()}: not a list of numbers") from None
    for key, size in (("P2", 12), ("R0_rect", 9), ("Tr_velo_to_cam", 12)):
        if rows.get(key, np.zeros(0)).size != size:
            raise UserError(f"{path}: needs {key} with {size} numbers")
        if not np.all(np.isfinite(rows[key])):
            raise UserError(f"{path}: {key} holds a non-finite number")
    r0 = np.eye(4)
    r0[:3, :3] = rows["R0_rect"].reshape(3, 3)
    tr = np.eye(4)
    tr[:3, :] = rows["Tr_velo_to_cam"].reshape(3, 4)
    return KittiCalib(rows["P2"].reshape(3, 4), r0 @ tr)


def read_labels(label_path: Path, calib: KittiCalib | Path) -> list[KittiBox]:
    """Every labelled object but ``DontCare``, in the velodyne frame with y to the right.
    ``calib``: the frame's calibration, or its file."""
    if not isinstance(calib, KittiCalib):
        calib = read_calib(calib)
    to_velo = np.linalg.inv(calib.velo_to_ref)
    boxes = []
    for number, fields in _label_lines(Path(label_path)):
        if fields[0] == "DontCare":
            continue
        try:
            h, w, length, x, y, z, ry = (float(v) for v in fields[8:15])
        except ValueError:
            raise UserError(f"{label_path}:{number}: fields 9-15 are not numbers") from None
        centre_cam = np.array([x, y - h / 2.0, z, 1.0])  # y points down: the centre is above
        centre = FLIP_Y @ (to_velo @ centre_cam)[:3]
        # the heading, a direction in the camera's x-z plane, carried through the
        # calibration's rotation (not assumed to be velodyne's axes swapped)
        heading_cam = np.array([math.cos(ry), 0.0, -math.sin(ry), 0.0])
        heading = FLIP_Y @ (to_velo @ heading_cam)[:3]
        boxes.append(
            KittiBox(
                kind=fields[0],
                center_m=centre,
                extent_m=np.array([length, w, h]) / 2.0,
                yaw_rad=math.atan2(heading[1], heading[0]),
                occluded=int(float(fields[2])),
                truncated=float(fields[1]),
            )
        )
    return boxes


def read_image_boxes(label_path: Path) -> list[tuple[str, np.ndarray]]:
    """Every label's 2D box in image 2: (KITTI type, (4,) float64 xyxy px), ``DontCare``
    regions included (a scorer decides what they count for)."""
    boxes = []
    for number, fields in _label_lines(Path(label_path)):
        try:
            xyxy = np.array([float(v) for v in fields[4:8]], np.float64)
        except ValueError:
            raise UserError(f"{label_path}:{number}: the 2D box is not four numbers") from None
        boxes.append((fields[0], xyxy))
    return boxes


def _label_lines(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) of each non-empty line; fewer than 15 fields is an error."""
    out = []
    for number, line in enumerate(read_text_file(path, "KITTI label file").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 15:
            raise UserError(f"{path}:{number}: a KITTI label has 15 fields, this has {len(fields)}")
        out.append((number, fields))
    return out
