"""Replaying a drive's log with the same models gives the drive's decisions, frame for
frame: a short drive with the perception stack, then `roadmind replay` on its log."""

from __future__ import annotations

import json
from pathlib import Path

from cli.main import main

DURATION_S = "2"  # 40 steps: 20 LiDAR scans and fusion cycles, camera at 20 Hz


def test_stack_replay_gives_the_drives_decisions(tmp_path: Path) -> None:
    drive, replay = tmp_path / "drive", tmp_path / "replay"
    argv = ["drive", "--scenario", "default", "--perception", "stack", "--no-video"]
    assert main([*argv, "--duration-s", DURATION_S, "--out", str(drive)]) == 0
    assert main(["replay", str(drive / "log.mcap"), "--out", str(replay), "--no-video"]) == 0
    driven = (drive / "decisions.jsonl").read_text().splitlines()
    replayed = (replay / "decisions.jsonl").read_text().splitlines()
    assert len(driven) == 40 and replayed == driven
    metrics = json.loads((replay / "metrics.json").read_text())
    assert metrics["replay"]["frames"] == 40 and metrics["replay"]["broke"] is None
    assert metrics["perception_scores"]["scored_frames"] == 20
    assert "vehicle" in metrics["perception_scores"]["detection"]
    # a span of the log: its frames only, from the stack's fresh start
    span = tmp_path / "span"
    argv = ["replay", str(drive), "--from", "1.0", "--to", "1.5", "--out", str(span)]
    assert main([*argv, "--no-video", "--perception", "oracle"]) == 0
    times = [
        json.loads(line)["time_s"] for line in (span / "decisions.jsonl").read_text().splitlines()
    ]
    assert times[0] == 1.0 and times[-1] == 1.5 and len(times) == 11
