"""``roadmind drive`` as a real process, stopped the ways a user, a scheduler or a closed
terminal stop it: what stays in the run folder, and a second drive on a folder in use."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from cli.main import main
from sim.replay.log_reader import LogReader

REPO = Path(__file__).resolve().parents[2]
# one small camera, no LiDAR: the oracle drives, the camera feeds the video
RIG = """cameras:
  - name: front
    width_px: 320
    height_px: 180
    fov_deg: 70
    pose: {x_m: 0.8, z_m: 1.6, pitch_deg: -2.0}
lidars: []
"""
WAIT_S = 120.0  # a slow shared machine; a healthy run needs a few seconds


@pytest.fixture
def rig(tmp_path: Path) -> Path:
    path = tmp_path / "rig.yaml"
    path.write_text(RIG)
    return path


def _start(out: Path, rig: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "cli", "drive", "--scenario", "stop_sign", "--rig", str(rig)]
    cmd += ["--out", str(out), "--duration-s", "60"]  # far longer than any test waits
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _lines(out: Path) -> list[str]:
    path = out / "decisions.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def _wait_for_steps(proc: subprocess.Popen[bytes], out: Path, steps: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while len(_lines(out)) < steps:
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, f"no {steps} steps in {WAIT_S} s"
        time.sleep(0.05)


def _frames(video: Path) -> int:
    """Frames a player shows: decoded from the start until the end or a cut-off fragment."""
    n = 0
    try:
        with av.open(str(video)) as container:
            for _ in container.decode(video=0):
                n += 1
    except av.error.InvalidDataError:
        pass  # a SIGKILL mid-fragment: the frames before it still play
    return n


def _check_stopped_run(out: Path, steps: int) -> dict:
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == steps and metrics["complete"] is True
    assert len(_lines(out)) == steps
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # every second step, at 10 fps; the stop may land while the step's frame is drawn
    assert (steps + 1) // 2 - 1 <= _frames(out / "video.mp4") <= (steps + 1) // 2
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    with LogReader(out / "log.mcap") as log:  # closed properly: every frame, no break
        assert sum(1 for _ in log.frames()) == steps and log.broke is None
    return metrics


def test_sigterm_keeps_the_run_and_a_second_drive_is_refused(
    tmp_path: Path, rig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    proc = _start(out, rig)
    try:
        _wait_for_steps(proc, out, 10)
        # the second drive on the same folder, while the first runs
        code = main(["drive", "--scenario", "default", "--out", str(out), "--overwrite"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert f"{out}: in use by another drive (pid {proc.pid})" in err
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=WAIT_S)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, stderr.decode()[-2000:]
    metrics = _check_stopped_run(out, json.loads((out / "metrics.json").read_text())["steps"])
    assert metrics["interrupted"] is True and metrics["interrupted_by"] == "SIGTERM"
    assert metrics["scenario"] == "stop_sign"  # nothing of the refused drive


def test_sighup_then_a_storm_of_signals_still_finishes_the_folder(
    tmp_path: Path, rig: Path
) -> None:
    out = tmp_path / "run"
    proc = _start(out, rig)
    try:
        _wait_for_steps(proc, out, 10)
        proc.send_signal(signal.SIGHUP)
        storm = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        i = 0
        while proc.poll() is None:  # more stops all through the final writes
            proc.send_signal(storm[i % 3])
            i += 1
            time.sleep(0.01)
        _, stderr = proc.communicate(timeout=WAIT_S)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGHUP, stderr.decode()[-2000:]
    assert b"ignored while the run folder is written" in stderr
    metrics = _check_stopped_run(out, json.loads((out / "metrics.json").read_text())["steps"])
    assert metrics["interrupted_by"] == "SIGHUP"


def test_sigkill_leaves_a_playable_prefix_and_recent_metrics(
    tmp_path: Path, rig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    proc = _start(out, rig)
    try:
        _wait_for_steps(proc, out, 100)  # 50 video frames: a fragment is cut every 20
    finally:
        proc.kill()
        proc.communicate(timeout=WAIT_S)
    lines = _lines(out)
    assert all(json.loads(line)["frame_id"] >= 0 for line in lines)  # every line whole
    metrics = json.loads((out / "metrics.json").read_text())  # the last per-second one
    assert metrics["complete"] is False and metrics["steps"] % 20 == 0
    assert len(lines) - 20 <= metrics["steps"] <= len(lines)
    assert 20 <= _frames(out / "video.mp4") <= (len(lines) + 1) // 2
    # the log: every frame up to the kill (it is written just after its decisions line)
    with LogReader(out / "log.mcap") as log:
        logged = sum(1 for _ in log.frames())
        assert len(lines) - 1 <= logged <= len(lines)
        assert log.broke is not None and log.broke.offset == log.size
    # ...which replays, decision for decision (the oracle reads the logged truth)
    replayed = tmp_path / "replayed"
    argv = ["replay", str(out), "--perception", "oracle", "--out", str(replayed), "--no-video"]
    assert main(argv) == 0
    assert f"log breaks at byte {log.size} of {log.size}" in capsys.readouterr().err
    assert _lines(replayed) == lines[:logged]
    # the killed run's folder: refused as it is, cleared with --overwrite (the lock died)
    assert main(["drive", "--scenario", "stop_sign", "--out", str(out)]) == 2
    assert "holds an earlier run" in capsys.readouterr().err
    argv = ["drive", "--scenario", "stop_sign", "--out", str(out), "--overwrite"]
    assert main([*argv, "--duration-s", "0.5", "--no-video", "--rig", str(rig)]) == 0
    assert not (out / "video.mp4").exists()  # the old one went: no mixed runs
    assert len(_lines(out)) == 10
    with LogReader(out / "log.mcap") as log:  # the new drive's log, not the killed one
        assert sum(1 for _ in log.frames()) == 10 and log.broke is None
    assert main([*argv, "--duration-s", "0.5", "--no-video", "--rig", str(rig), "--no-log"]) == 0
    assert not (out / "log.mcap").exists()
