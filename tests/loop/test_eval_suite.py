"""The evaluation suite: runs in spawned processes (and on a local Ray instance), each
into a normal run folder; a failed run is a row, not the end; the table is scored from
the folders, so rescoring them gives it again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cli.main import main
from evaluation.suite_table import score_run
from loop.suite import (
    check_out_dir,
    load_suite,
    rescore,
    run_suite,
    suite_tasks,
)
from roadmind.errors import UserError

SPEED = "speed_limits"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The shipped tiny suite (stack and oracle, two seeds) on two worker processes."""
    out = tmp_path_factory.mktemp("tiny")
    suite, source = load_suite("tiny")
    tasks = suite_tasks(suite, source, out)
    return out, run_suite(tasks, suite.name, out, workers=2, show_progress=False)


def test_tiny_suite_drives_every_run_into_its_own_folder(tiny_run: tuple[Path, dict]) -> None:
    out, table = tiny_run
    runs = table["runs"]
    assert [(r["seed"], r["perception"]) for r in runs] == [
        (1, "oracle"),
        (1, "stack"),
        (2, "oracle"),
        (2, "stack"),
    ]
    assert all(r["error"] is None for r in runs), [r["error"] for r in runs]
    for r in runs:
        folder = Path(r["folder"])
        assert folder.parent == out / "runs"
        assert {"config.yaml", "metrics.json", "decisions.jsonl"} <= {
            p.name for p in folder.iterdir()
        }
        assert r["driving_score"] == pytest.approx(r["recorded_driving_score"], abs=0.02)
        assert r["latency_step_p95_ms"] > 0
    stack = [r for r in runs if r["perception"] == "stack"]
    oracle = [r for r in runs if r["perception"] == "oracle"]
    # the stack's step does the detector, LiDAR and fusion; the oracle's reads the truth
    assert min(r["latency_step_p50_ms"] for r in stack) > max(
        r["latency_step_p50_ms"] for r in oracle
    )
    assert [(p["scenario"], p["seed"]) for p in table["pairs"]] == [(SPEED, 1), (SPEED, 2)]
    assert table["summary"]["stack"]["runs"] == 2
    assert table["seeds"] == {SPEED: [1, 2]}
    assert json.loads((out / "suite.json").read_text())["runs"] == runs
    md = (out / "suite.md").read_text()
    assert "| stack |" in md and "| oracle |" in md


def test_rescore_gives_the_table_again_from_the_folders(tiny_run: tuple[Path, dict]) -> None:
    out, table = tiny_run
    again = rescore(out)
    assert again["runs"] == table["runs"]
    assert again["summary"] == table["summary"]
    assert again["not_recomputed"]  # says what it took as recorded
    assert "not recomputed" in (out / "suite_rescored.md").read_text()


def test_cli_rescore_prints_the_markdown(
    tiny_run: tuple[Path, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = tiny_run
    assert main(["eval", "suite", "--rescore", str(out)]) == 0
    assert "# Suite `tiny`" in capsys.readouterr().out


def test_an_earlier_suite_is_refused_without_overwrite(tiny_run: tuple[Path, dict]) -> None:
    out, _ = tiny_run
    suite, source = load_suite("tiny")
    tasks = suite_tasks(suite, source, out)
    with pytest.raises(UserError, match="earlier suite"):
        check_out_dir(out, tasks, overwrite=False)
    check_out_dir(out, tasks, overwrite=True)


def _small_suite(tmp_path: Path, scenarios: list[object]) -> Path:
    (tmp_path / "none.yaml").write_text("cameras: []\nlidars: []\n")
    path = tmp_path / "small.yaml"
    suite = {
        "name": "small",
        "perception": ["oracle"],
        "rig": "none.yaml",  # relative to the suite file
        "duration_s": 2,
        "scenarios": scenarios,
    }
    path.write_text(yaml.safe_dump(suite))
    return path


def test_a_failed_run_is_a_row_with_its_error(tmp_path: Path) -> None:
    broken = yaml.safe_load(Path("configs/scenarios/speed_limits.yaml").read_text())
    broken["name"] = "goal_on_start"  # refused by the world at reset, not when loaded
    broken["ego"]["route"]["goal"] = dict(broken["ego"]["start"])
    (tmp_path / "goal_on_start.yaml").write_text(yaml.safe_dump(broken))
    suite, source = load_suite(str(_small_suite(tmp_path, [SPEED, "goal_on_start.yaml"])))
    out = tmp_path / "out"
    table = run_suite(suite_tasks(suite, source, out), "small", out, workers=1, show_progress=False)
    rows = {r["scenario"]: r for r in table["runs"]}
    assert rows[SPEED]["error"] is None
    assert "goal must lie" in rows["goal_on_start"]["error"]
    assert table["summary"]["oracle"]["failed"] == 1
    assert "goal must lie" in (out / "suite.md").read_text()


def test_suite_file_mistakes_are_one_line(tmp_path: Path) -> None:
    path = _small_suite(tmp_path, [SPEED])
    path.write_text(path.read_text() + "workerz: 3\n")
    with pytest.raises(UserError, match="workerz"):
        load_suite(str(path))
    suite, source = load_suite(str(_small_suite(tmp_path, ["no_such_scenario"])))
    with pytest.raises(UserError, match="no_such_scenario"):
        suite_tasks(suite, source, tmp_path / "out")
    with pytest.raises(UserError, match="not found"):
        load_suite("no_such_suite")


def test_speeding_is_recomputed_from_the_decisions(tmp_path: Path) -> None:
    """15 m/s against a 50 km/h limit for 1 s: the scorer's speeding, from the log alone;
    a last line cut short by a kill is left out."""
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump({"scenario": {"name": "x", "seed": 4}, "drive": {"perception": "stack"}})
    )
    metrics = {
        "route_completion_pct": 50.0,
        "infractions": [{"kind": "red_light", "time_s": 1, "route_s_m": 5, "detail": ""}],
    }
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    lines = [
        {"time_s": round(0.05 * i, 3), "speed_mps": 15.0, "limit_mps": 13.889} for i in range(1, 21)
    ]
    text = "".join(json.dumps(d) + "\n" for d in lines) + '{"time_s": 1.0'
    (tmp_path / "decisions.jsonl").write_text(text)
    row = score_run(tmp_path)
    assert row["speeding"]["time_s"] == pytest.approx(1.0)
    assert row["speeding"]["episodes"] == 1
    assert row["distance_km"] == pytest.approx(0.015)
    assert row["driving_score"] == pytest.approx(35.0)  # 50 % x 0.70
    assert row["infractions_per_km"] == pytest.approx(66.67)
    assert (row["scenario"], row["seed"], row["perception"]) == ("x", 4, "stack")


def test_the_suite_runs_on_a_local_ray_instance(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is the optional cluster extra")
    suite, source = load_suite(str(_small_suite(tmp_path, [{"scenario": SPEED, "seeds": [1, 2]}])))
    out = tmp_path / "out"
    table = run_suite(
        suite_tasks(suite, source, out), "small", out, ray_address="local", show_progress=False
    )
    assert [r["error"] for r in table["runs"]] == [None, None]
    assert table["engine"] == "ray local"
    assert all((Path(r["folder"]) / "metrics.json").is_file() for r in table["runs"])


def test_sigterm_stops_the_suite_and_keeps_the_table(tmp_path: Path) -> None:
    """The drive under way stops and is scored up to there; the rest are 'not run'."""
    import os
    import signal
    import subprocess
    import sys
    import time

    suite = _small_suite(tmp_path, [{"scenario": SPEED, "seeds": [1, 2, 3]}])
    text = suite.read_text().replace("duration_s: 2", "duration_s: 60")
    suite.write_text(text)
    out = tmp_path / "out"
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    cmd = [sys.executable, "-m", "cli", "eval", "suite", str(suite), "--workers", "1"]
    proc = subprocess.Popen(
        [*cmd, "--out", str(out), "--quiet"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = out / "runs" / f"{SPEED}-s1-oracle" / "decisions.jsonl"
    deadline = time.monotonic() + 120
    while not (first.is_file() and first.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    table = json.loads((out / "suite.json").read_text())
    assert table["interrupted"] is True
    runs = {r["seed"]: r for r in table["runs"]}
    assert runs[1]["error"] is None and runs[1]["interrupted"] is True
    assert runs[2]["error"] == runs[3]["error"] == "not run: the suite was interrupted"
    assert "interrupted" in stdout
