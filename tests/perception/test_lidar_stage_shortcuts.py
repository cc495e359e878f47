"""The LiDAR stages' shortcuts for speed give what the plain computation gives, bit for bit:
the crop in chunks, occupied cells by lookup, the angle sweep in chunks and without the
L-shape search for clusters too big to keep."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perception.lidar import boxes, scan
from perception.lidar.boxes import fit_boxes
from perception.lidar.clusters import _occupied_cells
from roadmind.frames import Pose


def _scan(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    points = rng.uniform(-70.0, 70.0, (n, 4)).astype(np.float32)
    points[:, 2] = rng.uniform(-2.5, 3.0, n)
    return points


@pytest.mark.parametrize(
    "pose", [Pose(z_m=1.73), Pose(x_m=1.2, z_m=2.0, roll_rad=0.01, pitch_rad=0.03, yaw_rad=0.4)]
)
def test_crop_in_chunks_is_the_plain_crop(pose, monkeypatch):
    points = _scan(70_000)
    xyz, r2 = scan.crop(points, pose, 1.5, 64.0)
    # the plain computation: every point mapped term by term, then masked as rows
    rot, shift = pose.rotation, pose.translation
    p = points[:, :3].astype(np.float64)
    ego = np.stack(
        [
            p[:, 0] * rot[i, 0] + p[:, 1] * rot[i, 1] + p[:, 2] * rot[i, 2] + shift[i]
            for i in range(3)
        ],
        1,
    )
    d = ego[:, :2] - shift[:2]
    plain_r2 = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]
    keep = (plain_r2 >= 1.5**2) & (plain_r2 <= 64.0**2)
    assert np.array_equal(xyz, ego[keep]) and np.array_equal(r2, plain_r2[keep])
    monkeypatch.setattr(scan, "CROP_CHUNK", 1000)
    small = scan.crop(points, pose, 1.5, 64.0)
    assert np.array_equal(small[0], xyz) and np.array_equal(small[1], r2)


def test_crop_of_an_empty_scan():
    xyz, r2 = scan.crop(np.zeros((0, 4), np.float32), Pose(), 1.5, 64.0)
    assert xyz.shape == (0, 3) and r2.shape == (0,)


def test_occupied_cells_by_lookup_are_unique_cells():
    flat = np.random.default_rng(1).integers(0, 5000, 20_000)
    cells, inverse = _occupied_cells(flat, 5000)
    want_cells, want_inverse = np.unique(flat, return_inverse=True)
    assert np.array_equal(cells, want_cells) and np.array_equal(inverse, want_inverse)


def _clusters(seed: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Car-sized boxes' outlines, poles and one long wall, with labels."""
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for k in range(60):
        center = rng.uniform(-40.0, 40.0, 2)
        if k == 0:  # a wall 30 m long
            local = np.stack([rng.uniform(-15.0, 15.0, 3000), rng.normal(0.0, 0.05, 3000)], 1)
        elif k % 5 == 0:  # a post
            local = rng.normal(0.0, 0.05, (20, 2))
        else:  # two sides of a car
            n = int(rng.integers(30, 400))
            along = rng.uniform(-2.2, 2.2, n)
            local = np.where(
                rng.random(n)[:, None] < 0.6,
                np.stack([along, np.full(n, -0.9)], 1),
                np.stack([np.full(n, -2.2), along * 0.4], 1),
            )
            local += rng.normal(0.0, 0.02, local.shape)
        yaw = rng.uniform(-math.pi, math.pi)
        rot = np.array([[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]])
        xy = center + local @ rot.T
        parts.append(np.column_stack([xy, rng.uniform(0.0, 1.6, len(xy))]))
        labels.append(np.full(len(xy), k, np.int32))
    xyz = np.concatenate(parts)
    shuffle = rng.permutation(len(xyz))
    return xyz[shuffle], np.zeros(len(xyz)), np.concatenate(labels)[shuffle]


def test_sweep_in_chunks_is_one_sweep(monkeypatch):
    xyz, ground_z, labels = _clusters()
    whole = fit_boxes(xyz, ground_z, labels, 0.15)
    monkeypatch.setattr(boxes, "SWEEP_CHUNK", 64)
    chunked = fit_boxes(xyz, ground_z, labels, 0.15)
    assert whole is not None and chunked is not None
    for field in whole.__slots__:
        assert np.array_equal(getattr(whole, field), getattr(chunked, field)), field


def test_clusters_too_big_to_keep_skip_only_their_own_search():
    xyz, ground_z, labels = _clusters()
    free = fit_boxes(xyz, ground_z, labels, 0.15)
    limited = fit_boxes(xyz, ground_z, labels, 0.15, max_length_m=15.0, max_area_m2=40.0)
    assert free is not None and limited is not None
    big = (free.length_m > 15.0) | (free.length_m * free.width_m > 40.0)
    assert big.sum() == 1  # the wall
    for field in ("center_xy", "length_m", "width_m", "yaw_rad"):
        assert np.array_equal(getattr(free, field)[~big], getattr(limited, field)[~big])
    # the wall still fails the limits with the rectangle it gets
    assert limited.length_m[big] > 15.0
