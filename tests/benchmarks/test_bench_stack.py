"""`roadmind bench stack` reports every stage and the closed loop (its speed is measured
by running it, never asserted here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main


def test_bench_stack_reports_stages_end_to_end_and_the_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "rows.md"
    args = ["bench", "stack", "--scenario", "speed_limits", "--steps", "30"]
    assert main([*args, "--loop-steps", "4", "--rows", str(rows)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rig"] == "bench"
    assert result["sensors"] == {"cameras": ["front 640x360"], "lidars": ["top"]}
    stages = result["stages"]
    scans = stages["lidar"]["frames"]
    assert scans == 15  # 10 Hz of 20 Hz frames
    assert stages["detector"]["frames"] == scans  # one detection per fusion cycle
    assert stages["fusion"]["frames"] == stages["rules"]["frames"] == 30
    cycle, every = result["end_to_end_fusion_cycle"], result["end_to_end_every_frame"]
    assert cycle["frames"] == scans and every["frames"] == 30
    assert cycle["p50_ms"] <= cycle["p95_ms"]
    assert [loop["video"] for loop in result["closed_loop"]] == [True, False]
    assert all(
        loop["steps"] == 4 and loop["real_time_factor"] > 0 for loop in result["closed_loop"]
    )
    # the closed-loop drives write the sensor log, and its cost per frame is reported
    assert result["log_writer_ms_per_frame"] > 0
    assert set(result["targets"]) >= {"p95_at_most_100_ms", "real_time_factor_at_least_1"}
    assert rows.read_text().count("\n") == len(result["readme_rows"])
