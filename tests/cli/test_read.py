"""``roadmind read`` on a sign crop, on a camera frame of the embedded world, and on
files that are not images."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cli.main import main
from sim.embedded.render import textures


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def test_reads_a_crop_and_writes_an_annotated_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    face = np.asarray(textures.draw_speed_limit(256, 60, "km/h").resize((48, 48)))
    crop = np.full((56, 56, 3), 120, np.uint8)
    crop[4:52, 4:52] = face
    path = tmp_path / "sign.png"
    cv2.imwrite(str(path), crop[:, :, ::-1])
    assert main(["read", str(path), "--out", str(tmp_path / "out")]) == 0
    (line,) = _lines(capsys)
    assert line["mode"] == "crop"
    (reading,) = line["readings"]
    assert (reading["type"], reading["value"], reading["unit"]) == ("speed_limit", 60.0, "km/h")
    assert reading["runner_up"] and 0.0 <= reading["confidence"] <= 1.0
    assert (tmp_path / "out" / "sign_read.png").is_file()


def test_reads_the_signs_of_a_camera_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from loop.rollout import rollout
    from sim.scenario import load_scenario

    with rollout(load_scenario("stop_sign"), 1) as run:
        frame = next(iter(run)).frame
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), frame.cameras[0].bgra[:, :, :3])
    assert main(["read", str(path)]) == 0
    (line,) = _lines(capsys)
    assert line["mode"] == "image"
    assert all("detector_class" in r for r in line["readings"])


def test_a_file_that_is_not_an_image_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.png"
    path.write_text("not a picture")
    assert main(["read", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "notes.png" in err[0] and "not a readable image" in err[0]
