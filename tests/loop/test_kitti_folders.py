"""KITTI-format folders: embedded frames exported and read back (labels where the world
put its actors, scans and images exact), mismatched files named, and the real KITTI
frames in shared/realdata/kitti run through the stack when they are there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from loop.kitti import export_kitti
from roadmind.errors import UserError
from roadmind.messages import ObjectClass
from sim.replay.kitti import frame_ids, read_frame
from sim.scenario import load_scenario


def _real_kitti() -> Path:
    for folder in Path(__file__).resolve().parents:
        if (folder / "shared" / "realdata" / "kitti" / "velodyne").is_dir():
            return folder / "shared" / "realdata" / "kitti"
    pytest.skip("no shared/realdata/kitti")


def test_export_then_read_back(tmp_path: Path, small_rig) -> None:
    scenario = load_scenario("default")
    assert export_kitti(scenario, tmp_path, 2, stride=4, rig=small_rig, show_progress=False) == 2
    ids, labelled = frame_ids(tmp_path)
    assert ids == ["000000", "000001"] and labelled
    frame = read_frame(tmp_path, ids[1], 1)
    # the camera's pose comes back from the calibration, relative to the LiDAR
    lidar_z = small_rig.lidars[0].pose.z_m
    pose = frame.cameras[0].sensor_to_ego
    mount = small_rig.cameras[0].pose
    assert pose.x_m == pytest.approx(mount.x_m, abs=1e-6)
    assert pose.z_m - 1.73 == pytest.approx(mount.z_m - lidar_z, abs=1e-6)
    assert np.degrees(pose.pitch_rad) == pytest.approx(mount.pitch_deg, abs=1e-4)
    assert frame.cameras[0].bgra.shape == (
        small_rig.cameras[0].height_px,
        small_rig.cameras[0].width_px,
        4,
    )
    assert frame.cameras[0].fov_deg == pytest.approx(small_rig.cameras[0].fov_deg, abs=1e-6)
    truth = frame.ground_truth
    assert truth is not None and truth.actors
    assert {a.object_class for a in truth.actors} <= {ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN}
    # the same again through the CLI export, numbered on
    out = tmp_path / "scores"
    assert main(["replay", str(tmp_path), "--out", str(out)]) == 0
    report = json.loads((out / "kitti_scores.json").read_text())
    assert report["frames"] == 2


def test_label_positions_are_the_worlds(tmp_path: Path, small_rig) -> None:
    """Each label, read back, lies where the world had the actor (ego = under the LiDAR)."""
    from loop.kitti import write_kitti_frame
    from loop.rollout import rollout, scenario_steps
    from loop.worlds import WorldOptions

    for sub in ("velodyne", "image_2", "calib", "label_2"):
        (tmp_path / sub).mkdir()
    scenario = load_scenario("default")
    with rollout(scenario, scenario_steps(scenario), options=WorldOptions(small_rig)) as run:
        for s in run:
            if s.frame.lidars and s.frame.cameras and s.index >= 20:
                write_kitti_frame(
                    tmp_path, "000000", s.frame, s.frame.cameras[0], s.frame.lidars[0]
                )
                kept = s.frame
                break
    back = read_frame(tmp_path, "000000", 0)
    assert back.lidars[0].points_xyzi.tobytes() == kept.lidars[0].points_xyzi.tobytes()
    assert np.array_equal(back.cameras[0].bgra, kept.cameras[0].bgra)
    world = {a.actor_id: a for a in kept.ground_truth.actors}
    seen = [b.object_id for b in kept.ground_truth.boxes_2d["front"] if b.object_id in world]
    assert back.ground_truth is not None and len(back.ground_truth.actors) == len(seen) > 0
    lidar = kept.lidars[0].sensor_to_ego
    for actor, object_id in zip(back.ground_truth.actors, seen, strict=True):
        ego_xyz = kept.ego.pose.inverse_transform_points(world[object_id].pose.translation[None])[0]
        want_xy = ego_xyz[:2] - np.array([lidar.x_m, lidar.y_m])
        assert np.allclose(actor.pose.translation[:2], want_xy, atol=0.02)


def test_mismatched_files_are_named(tmp_path: Path, small_rig) -> None:
    export_kitti(
        load_scenario("default"), tmp_path, 2, stride=4, rig=small_rig, show_progress=False
    )
    (tmp_path / "calib" / "000001.txt").unlink()
    (tmp_path / "image_2" / "000000.png").unlink()
    with pytest.raises(UserError, match=r"missing image_2/000000.png, calib/000001.txt"):
        frame_ids(tmp_path)


def test_real_kitti_frames_run_through_the_stack(tmp_path: Path) -> None:
    folder = _real_kitti()
    ids, labelled = frame_ids(folder)
    frame = read_frame(folder, ids[0], 0)
    assert frame.lidars[0].points_xyzi.shape[0] > 10_000 and labelled
    # the labels sit on the LiDAR's returns: some points inside each labelled box
    points = frame.lidars[0].points_xyzi[:, :3] + np.array([0, 0, 1.73], np.float32)
    for actor in frame.ground_truth.actors:
        local = actor.pose.inverse_transform_points(points.astype(np.float64))
        inside = np.all(np.abs(local) <= actor.extent_m + 0.1, axis=1)
        assert inside.sum() >= 5
    out = tmp_path / "kitti"
    assert main(["replay", str(folder), "--out", str(out)]) == 0
    assert json.loads((out / "kitti_scores.json").read_text())["frames"] == len(ids)
    shutil.rmtree(out)
