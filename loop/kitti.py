"""KITTI-format folders: the camera detector, LiDAR pipeline and fusion run on each
frame, scored against its labels when there are some (``roadmind replay FOLDER``); and
embedded-world frames written in that layout (``roadmind export kitti``), so labelled
data of any size can be made and read back."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from evaluation.kitti import KittiTally
from fusion.config import load_fusion_config
from loop.rollout import rollout, scenario_steps
from loop.stack import PerceptionStack
from loop.worlds import WorldOptions
from perception.kitti_labels import FLIP_Y
from roadmind.atomic import write_text_atomic
from roadmind.errors import UserError
from roadmind.messages import ActorTruth, CameraImage, LidarScan, ObjectClass, SensorFrame
from roadmind.progress import progress as progress_bar
from sim.replay.kitti import (
    CAM_TO_OPTICAL,
    CAMERA,
    LIDAR,
    frame_ids,
    read_frame,
    write_calib,
)
from sim.rig import CameraConfig, LidarConfig, RigConfig
from sim.scenario import Scenario

KITTI_TYPE = {ObjectClass.VEHICLE: "Car", ObjectClass.PEDESTRIAN: "Pedestrian"}


def replay_kitti(folder: Path, out_dir: Path, show_progress: bool = True) -> dict[str, object]:
    """Every frame through the stack (fresh per frame: KITTI frames are not a sequence,
    so the tracker reports a track on its first hit); ``detections.jsonl`` and, with
    labels, ``kitti_scores.json`` in ``out_dir``. Returns the scores (or a count)."""
    ids, labelled = frame_ids(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = load_fusion_config()
    config = config.model_copy(
        update={"tracking": config.tracking.model_copy(update={"min_hits": 1})}
    )
    tally = KittiTally()
    stack: PerceptionStack | None = None
    lines = []
    bar = progress_bar(len(ids), f"KITTI {folder.name}", "frame") if show_progress else None
    for index, frame_id in enumerate(ids):
        frame = read_frame(folder, frame_id, index)
        cam = frame.cameras[0]
        rig = RigConfig(
            cameras=[
                CameraConfig(
                    name=CAMERA,
                    width_px=cam.bgra.shape[1],
                    height_px=cam.bgra.shape[0],
                    fov_deg=cam.fov_deg,
                )
            ],
            lidars=[LidarConfig(name=LIDAR)],
        )
        stack = PerceptionStack(
            rig,
            (),
            detector=stack.detector if stack else None,
            lidar=stack.lidar if stack else None,
            fusion=config,
            read_signs=False,
        )
        scene = stack(frame)
        lines.append(
            {
                "frame": frame_id,
                "objects": [
                    {
                        "class": o.object_class.value,
                        "xyz_m": [round(float(v), 3) for v in o.position_m],
                        "score": round(o.score, 3),
                    }
                    for o in scene.objects
                ],
            }
        )
        if frame.ground_truth is not None:
            tally.add(frame.ground_truth.actors, scene.objects, cam.fov_deg)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    write_text_atomic(out_dir / "detections.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    if not labelled:
        return {"frames": len(ids), "labels": False}
    report = {"source": str(folder), **tally.report()}
    write_text_atomic(out_dir / "kitti_scores.json", json.dumps(report, indent=1) + "\n")
    return report


# --------------------------------------------------------------------------- export


def export_kitti(
    scenario: Scenario,
    out_dir: Path,
    frames: int,
    stride: int = 5,
    rig: RigConfig | None = None,
    show_progress: bool = True,
) -> int:
    """Drive ``scenario`` with the oracle and write every ``stride``-th frame with a
    LiDAR scan and a camera image (the rig's first of each) as KITTI files, numbered on
    from what ``out_dir`` holds. Returns the frames written."""
    for sub in ("velodyne", "image_2", "calib", "label_2"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    start = len(list((out_dir / "velodyne").glob("*.bin")))
    written = scans = 0
    bar = progress_bar(frames, f"KITTI export {scenario.name}", "frame") if show_progress else None
    with rollout(scenario, scenario_steps(scenario), options=WorldOptions(rig)) as run:
        if not run.world.rig.cameras or not run.world.rig.lidars:
            raise UserError("KITTI export needs a rig with a camera and a LiDAR")
        camera = run.world.rig.cameras[0].name
        for s in run:
            scan = s.frame.lidars[0] if s.frame.lidars else None
            cams = [c for c in s.frame.cameras if c.name == camera]
            if scan is None or not cams:
                continue
            scans += 1
            if (scans - 1) % stride:
                continue
            write_kitti_frame(out_dir, f"{start + written:06d}", s.frame, cams[0], scan)
            written += 1
            if bar is not None:
                bar.update()
            if written >= frames:
                break
    if bar is not None:
        bar.close()
    return written


def write_kitti_frame(
    out: Path, name: str, frame: SensorFrame, cam: CameraImage, scan: LidarScan
) -> None:
    points = scan.points_xyzi.copy()
    points[:, 1] = -points[:, 1]  # KITTI's y points left
    points.astype("<f4").tofile(out / "velodyne" / f"{name}.bin")
    Image.fromarray(np.ascontiguousarray(cam.bgra[..., 2::-1])).save(
        out / "image_2" / f"{name}.png"
    )
    optical = np.eye(4)
    optical[:3, :3] = CAM_TO_OPTICAL
    flip = np.eye(4)
    flip[:3, :3] = FLIP_Y
    ego_to_cam = optical @ np.linalg.inv(cam.sensor_to_ego.matrix())
    velo_to_cam = ego_to_cam @ scan.sensor_to_ego.matrix() @ flip
    p2 = np.hstack([cam.intrinsics, np.zeros((3, 1))])
    write_calib(out / "calib" / f"{name}.txt", p2, velo_to_cam)
    lines = []
    truth = frame.ground_truth
    if truth is not None:
        actors = {a.actor_id: a for a in truth.actors}
        for box in truth.boxes_2d.get(cam.name, ()):
            actor = actors.get(box.object_id)
            if actor is None or actor.object_class not in KITTI_TYPE:
                continue
            lines.append(
                _label(actor, box.xyxy_px, box.truncation, box.occlusion, frame, ego_to_cam)
            )
    (out / "label_2" / f"{name}.txt").write_text("".join(line + "\n" for line in lines))


def _label(
    actor: ActorTruth,
    xyxy: np.ndarray,
    truncation: float,
    occlusion: float,
    frame: SensorFrame,
    ego_to_cam: np.ndarray,
) -> str:
    ego = frame.ego.pose
    centre_ego = ego.inverse_transform_points(actor.pose.translation[None, :])[0]
    centre = (ego_to_cam @ np.append(centre_ego, 1.0))[:3]
    half_l, half_w, half_h = (float(v) for v in actor.extent_m)
    location = centre + np.array([0.0, half_h, 0.0])  # KITTI: the bottom centre (y down)
    heading_world = np.array([math.cos(actor.pose.yaw_rad), math.sin(actor.pose.yaw_rad), 0.0])
    heading = ego_to_cam[:3, :3] @ (ego.rotation.T @ heading_world)
    ry = math.atan2(-heading[2], heading[0])
    alpha = ry - math.atan2(location[0], location[2])
    alpha = (alpha + math.pi) % (2 * math.pi) - math.pi
    occluded = 0 if occlusion < 0.25 else 1 if occlusion < 0.5 else 2 if occlusion < 0.85 else 3
    fields = [
        KITTI_TYPE[actor.object_class],
        f"{truncation:.2f}",
        str(occluded),
        f"{alpha:.4f}",
        *(f"{v:.2f}" for v in xyxy),
        f"{2 * half_h:.4f}",
        f"{2 * half_w:.4f}",
        f"{2 * half_l:.4f}",
        *(f"{v:.4f}" for v in location),
        f"{ry:.4f}",
    ]
    return " ".join(fields)
