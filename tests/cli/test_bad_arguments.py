"""Bad flags, files and output paths end in one line and exit code 2, never a
traceback; ``roadmind scene`` reports a bad file and goes on with the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli.main import main

SCENES = Path(__file__).resolve().parents[1] / "reasoning" / "scenes"


def _user_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith("roadmind: error: ") and err.count("\n") == 1
    return err


def _argument_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """argparse's refusal: usage, then one error line, exit code 2."""
    with pytest.raises(SystemExit) as stop:
        main(list(argv))
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--duration-s", "0"], "argument --duration-s: '0' must be above 0"),
        (["--duration-s", "-1"], "argument --duration-s: '-1' must be above 0"),
        (["--duration-s", "nan"], "argument --duration-s: 'nan' is not a finite number"),
        (["--seed", "-1"], "argument --seed: '-1' must be 0 or more"),
        (["--port", "99999"], "argument --port: port 99999 is outside 1-65535"),
        (["--port", "0"], "argument --port: port 0 is outside 1-65535"),
        (["--tm-port", "70000"], "argument --tm-port: port 70000 is outside 1-65535"),
    ],
)
def test_drive_flags_out_of_range(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert _argument_error(capsys, "drive", *argv).endswith(message)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--extent-m", "nan"], "argument --extent-m: 'nan' is not a finite number"),
        (["--extent-m", "0"], "argument --extent-m: '0' must be above 0"),
        (["--sensor-z-m", "inf"], "argument --sensor-z-m: 'inf' is not a finite number"),
    ],
)
def test_lidar_flags_out_of_range(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    out = str(tmp_path / "bev.png")
    assert _argument_error(capsys, "lidar", "scan.bin", "--out", out, *argv).endswith(message)


def test_render_out_pointing_at_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    err = _user_error(capsys, "render", "--out", str(taken))
    assert f"--out {taken}: is a file, not a folder" in err
    assert taken.read_text() == "mine"


def test_drive_out_pointing_at_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    err = _user_error(capsys, "drive", "--out", str(taken), "--no-video")
    assert f"--out {taken}: is a file, not a folder" in err


def test_drive_out_under_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    err = _user_error(capsys, "drive", "--out", str(taken / "run"), "--no-video")
    assert f"{taken} is a file, so no folder can be made there" in err


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("name: x\n".encode("utf-16-le"), "a binary file (or UTF-16 without a byte order mark)"),
        (bytes(range(256)), "a binary file (or UTF-16 without a byte order mark)"),
    ],
)
def test_binary_or_utf16_scenario(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: bytes, message: str
) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_bytes(data)
    err = _user_error(capsys, "render", "--scenario", str(scenario), "--out", str(tmp_path / "o"))
    assert f"{scenario}: {message}" in err


def test_a_binary_lidar_config_is_named_not_the_scan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "lidar.yaml"
    config.write_bytes(bytes(range(256)))
    scan = tmp_path / "scan.npy"
    scan.write_bytes(b"")  # never read: the config is checked first
    out = str(tmp_path / "bev.png")
    err = _user_error(capsys, "lidar", str(scan), "--out", out, "--config", str(config))
    assert err.startswith(f"roadmind: error: {config}: a binary file")


def test_an_output_the_system_refuses_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tests may run as root (which writes anywhere): the refusal is simulated where
    the command makes its output folder."""
    scan = tmp_path / "scan.npy"
    rng = np.random.default_rng(0)
    np.save(scan, rng.uniform([-20, -20, -2, 0], [20, 20, 1, 1], (500, 4)).astype(np.float32))

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    out = tmp_path / "locked" / "bev.png"
    code = main(["lidar", str(scan), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err == f"roadmind: error: {out.parent}: Permission denied\n"


def test_scene_reports_a_bad_file_and_goes_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("description: x\ndescription: y\n")
    good = [SCENES / "speed_map_limit_30.yaml", SCENES / "light_green_proceed.yaml"]
    code = main(["scene", str(good[0]), str(bad), str(good[1])])
    out, err = capsys.readouterr()
    assert code == 2
    assert err == (
        f"roadmind: error: {bad}: line 2: key 'description' given twice (first on line 1); "
        "give each key once\n"
    )
    assert out.count("  ok\n") == 2 and out.endswith("2/3 scenes ok, 1 not loaded\n")
