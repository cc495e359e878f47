"""``roadmind render`` returns for every rig (issue 19): without a LiDAR it writes the
camera alone; a LiDAR too slow to wait for is refused in one line, not waited on."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main

CAMERA = "cameras:\n  - {name: front, width_px: 64, height_px: 36}\n"


def _render(tmp_path: Path, rig: str, steps: int) -> int:
    path = tmp_path / "rig.yaml"
    path.write_text(rig)
    out = tmp_path / "out"
    argv = ["render", "--scenario", "stop_sign", "--rig", str(path), "--out", str(out)]
    return main([*argv, "--steps", str(steps)])


@pytest.mark.parametrize("steps", [0, 3])
def test_render_without_lidar_returns_the_camera(tmp_path: Path, capsys, steps: int) -> None:
    assert _render(tmp_path, CAMERA + "lidars: []\n", steps) == 0
    assert "camera_front.png" in capsys.readouterr().out
    assert not list((tmp_path / "out").glob("lidar_*"))


def test_render_without_any_sensor_returns(tmp_path: Path, capsys) -> None:
    assert _render(tmp_path, "cameras: []\nlidars: []\n", 2) == 0
    assert "ground_truth.json" in capsys.readouterr().out


def test_render_refuses_a_lidar_too_slow_to_wait_for(tmp_path: Path, capsys) -> None:
    lidar = "lidars:\n  - {name: top, channels: 4, columns: 64, rate_hz: 0.001}\n"
    assert _render(tmp_path, CAMERA + lidar, 1) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'top' 0.001 Hz) scan every 1000 s" in err
    assert "limit 10 s" in err


def test_render_waits_for_a_slow_lidar_within_the_limit(tmp_path: Path, capsys) -> None:
    lidar = "lidars:\n  - {name: top, channels: 4, columns: 64, rate_hz: 2}\n"
    assert _render(tmp_path, CAMERA + lidar, 1) == 0
    assert "t=0.50 s" in capsys.readouterr().out and (tmp_path / "out/lidar_top_bev.png").exists()
