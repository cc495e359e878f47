"""KITTI object-detection folders (``velodyne/*.bin``, ``image_2/*.png``, ``calib/*.txt``,
optional ``label_2/*.txt``) read as roadmind frames, and written from them.

Axes: the ego frame sits on the ground under the Velodyne (``VELO_HEIGHT_M`` below it),
roadmind's axes (x forward, y right, z up), so a scan's y is negated on reading. The
camera image is cropped to be centred on its principal point (roadmind's pinhole has it
in the middle), which keeps every pixel's ray exact; its pose comes from ``R0_rect``,
``Tr_velo_to_cam`` and P2's baseline. Labels become ``ActorTruth`` in the ego frame
(their bottom-centre ``location`` raised by half the height). Frames are independent
(KITTI's object set is not a sequence): each gets its own frame id and time 0.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from perception.kitti_labels import FLIP_Y, KittiCalib, read_calib
from perception.kitti_labels import read_labels as read_kitti_labels
from perception.point_cloud_io import read_kitti_bin
from roadmind.errors import UserError
from roadmind.frames import Pose
from roadmind.messages import (
    ActorTruth,
    CameraImage,
    EgoState,
    GroundTruth,
    LidarScan,
    SensorFrame,
)

VELO_HEIGHT_M = 1.73  # the Velodyne above the road on KITTI's car [m]
CAMERA = "image_2"
LIDAR = "velodyne"
FOLDERS = {"velodyne": ".bin", "image_2": ".png", "calib": ".txt"}
LABELS = "label_2"
# roadmind camera axes (x forward, y right, z up) -> optical (x right, y down, z forward)
CAM_TO_OPTICAL = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


def camera_pose(calib: KittiCalib) -> Pose:
    """Camera 2 in the ego frame (roadmind axes)."""
    cam_to_velo = np.linalg.inv(calib.velo_to_cam2)
    rot = FLIP_Y @ cam_to_velo[:3, :3] @ CAM_TO_OPTICAL
    pos = FLIP_Y @ cam_to_velo[:3, 3] + np.array([0.0, 0.0, VELO_HEIGHT_M])
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = rot, pos
    return Pose.from_matrix(m)


def write_calib(path: Path, p2: np.ndarray, velo_to_cam: np.ndarray) -> None:
    """KITTI's calib text: P0-P3 (all P2), R0_rect identity, Tr_velo_to_cam, Tr_imu_to_velo."""

    def row(values: np.ndarray) -> str:
        return " ".join(f"{v:.12e}" for v in values.ravel())

    lines = [f"P{i}: {row(p2)}" for i in range(4)]
    lines += [f"R0_rect: {row(np.eye(3))}", f"Tr_velo_to_cam: {row(velo_to_cam[:3, :])}"]
    lines += [f"Tr_imu_to_velo: {row(np.eye(4)[:3, :])}"]
    path.write_text("\n".join(lines) + "\n")


def frame_ids(folder: Path) -> tuple[list[str], bool]:
    """The frame ids present in every required subfolder, and whether labels come with
    them; a file missing from one folder is a UserError naming it."""
    for sub in FOLDERS:
        if not (folder / sub).is_dir():
            raise UserError(f"{folder}: not a KITTI folder: no {sub}/ (needs {', '.join(FOLDERS)})")
    ids = {sub: {p.stem for p in (folder / sub).glob(f"*{ext}")} for sub, ext in FOLDERS.items()}
    labelled = (folder / LABELS).is_dir()
    if labelled:
        ids[LABELS] = {p.stem for p in (folder / LABELS).glob("*.txt")}
    every = set().union(*ids.values())
    missing = [
        f"{sub}/{i}{FOLDERS.get(sub, '.txt')}" for sub in ids for i in sorted(every - ids[sub])
    ]
    if missing:
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise UserError(
            f"{folder}: mismatched KITTI files, missing {', '.join(missing[:10])}{more}"
        )
    if not every:
        raise UserError(f"{folder}: no KITTI frames (velodyne/*.bin)")
    return sorted(every), labelled


def read_frame(folder: Path, frame_id: str, index: int) -> SensorFrame:
    calib = read_calib(folder / "calib" / f"{frame_id}.txt")
    points = read_kitti_bin(folder / "velodyne" / f"{frame_id}.bin").copy()
    points[:, 1] = -points[:, 1]
    with Image.open(folder / "image_2" / f"{frame_id}.png") as im:
        rgb = np.asarray(im.convert("RGB"))
    image, fov_deg = _centred(rgb, calib.p2)
    camera = CameraImage(CAMERA, image, fov_deg, camera_pose(calib), 0.0)
    scan = LidarScan(LIDAR, points, Pose(z_m=VELO_HEIGHT_M), 0.0)
    truth = None
    label = folder / LABELS / f"{frame_id}.txt"
    if label.is_file():
        truth = GroundTruth(actors=tuple(read_labels(label, calib)))
    ego = EgoState(Pose(), 0.0, 0.0, 0.0)
    return SensorFrame(index, 0.0, ego, (camera,), (scan,), truth)


def _centred(rgb: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, float]:
    """The image cropped symmetric about the principal point, as BGRA, and its
    horizontal field of view [deg]."""
    height, width = rgb.shape[:2]
    cx, cy = float(p2[0, 2]), float(p2[1, 2])
    half_w = int(min(cx, width - cx))
    half_h = int(min(cy, height - cy))
    x0, y0 = round(cx) - half_w, round(cy) - half_h
    crop = rgb[max(0, y0) : y0 + 2 * half_h, max(0, x0) : x0 + 2 * half_w]
    bgra = np.full((*crop.shape[:2], 4), 255, np.uint8)
    bgra[..., :3] = crop[..., ::-1]
    fov = math.degrees(2.0 * math.atan(crop.shape[1] / (2.0 * float(p2[0, 0]))))
    return bgra, fov


def read_labels(path: Path, calib: KittiCalib) -> list[ActorTruth]:
    """Vehicles and pedestrians of a label file as boxes in the ego frame (the velodyne's
    on the ground)."""
    actors = []
    for n, box in enumerate(read_kitti_labels(path, calib)):
        cls = box.object_class
        if cls is None:
            continue
        x, y, z = (float(v) for v in box.center_m)
        pose = Pose(x, y, z + VELO_HEIGHT_M, yaw_rad=box.yaw_rad)
        actors.append(ActorTruth(n, cls, pose, box.extent_m.copy(), np.zeros(3)))
    return actors
