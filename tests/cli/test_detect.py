"""``roadmind detect``: JSON lines on stdout only, annotated images and detections.jsonl,
bad inputs named one line each while the batch goes on; and a survival run on the
KITTI images in ../shared/realdata (skipped when absent; quality is not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cli.main import main

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
if not REALDATA.is_dir():
    REALDATA = Path("/work/shared/realdata")
KITTI = REALDATA / "kitti"


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]  # every stdout line is JSON


def _check_line(line: dict) -> None:
    assert set(line) >= {"image", "width_px", "height_px", "ms", "boxes"}
    assert line["ms"] >= 0
    for box in line["boxes"]:
        assert box["class"] in {"vehicle", "pedestrian", "traffic_light", "traffic_sign"}
        assert 0.0 <= box["score"] <= 1.0
        x0, y0, x1, y1 = box["xyxy_px"]
        assert 0 <= x0 < x1 <= line["width_px"] and 0 <= y0 < y1 <= line["height_px"]


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one embedded-world camera frame (a car and a stop sign ahead)."""
    from loop.rollout import rollout
    from sim.scenario import load_scenario

    with rollout(load_scenario("stop_sign"), 1) as run:
        frame = next(iter(run)).frame
    folder = tmp_path_factory.mktemp("street")
    cv2.imwrite(str(folder / "frame.png"), frame.cameras[0].bgra[:, :, :3])
    return folder


def test_boxes_json_and_annotated_images(
    street: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["detect", str(street), "--out", str(out)]) == 0  # a folder: its images
    (line,) = _lines(capsys.readouterr().out)
    _check_line(line)
    assert line["image"] == str(street / "frame.png") and line["boxes"]
    assert (line["width_px"], line["height_px"]) == cv2.imread(line["image"]).shape[1::-1]
    annotated = cv2.imread(line["annotated"])
    assert line["annotated"] == str(out / "frame_detect.png")
    assert annotated.shape == cv2.imread(line["image"]).shape
    assert not np.array_equal(annotated, cv2.imread(line["image"]))  # boxes drawn
    assert _lines((out / "detections.jsonl").read_text()) == [line]


def test_flags_reach_the_detector(street: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = str(street / "frame.png")
    assert main(["detect", image, "--conf", "0.9", "--imgsz", "320", "--runtime", "torch"]) == 0
    (line,) = _lines(capsys.readouterr().out)
    _check_line(line)
    assert all(b["score"] >= 0.9 for b in line["boxes"])


def test_bad_inputs_are_named_and_the_batch_goes_on(
    street: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.png").write_text("not a picture")
    cv2.imwrite(str(tmp_path / "tiny.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "empty").mkdir()
    names = [
        str(tmp_path / "notes.png"),
        str(tmp_path / "gone.jpg"),
        str(street / "frame.png"),
        str(tmp_path / "tiny.png"),
        str(tmp_path / "empty"),
    ]
    assert main(["detect", *names]) == 2
    captured = capsys.readouterr()
    (line,) = _lines(captured.out)
    assert line["image"] == str(street / "frame.png")
    errors = [e for e in captured.err.splitlines() if e.startswith("roadmind: error:")]
    assert len(errors) == 4
    for error, name, why in zip(
        errors,
        ["notes.png", "gone.jpg", "tiny.png", "empty"],
        ["not a readable image", "no such file", "too small", "no images"],
        strict=True,
    ):
        assert name in error and why in error


@pytest.mark.parametrize(
    ("flag", "value"), [("--conf", "1.5"), ("--conf", "0"), ("--imgsz", "0"), ("--iou", "nan")]
)
def test_bad_flags_are_refused(flag: str, value: str, street: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["detect", str(street), flag, value])
    assert exc.value.code == 2


@pytest.mark.skipif(not (KITTI / "image_2").is_dir(), reason="no ../shared/realdata/kitti")
def test_survives_the_kitti_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = sorted((KITTI / "image_2").glob("*.png"))
    out = tmp_path / "kitti"
    assert main(["detect", *map(str, images), "--out", str(out)]) == 0
    lines = _lines(capsys.readouterr().out)
    assert [line["image"] for line in lines] == list(map(str, images))
    for line in lines:
        _check_line(line)
        assert cv2.imread(line["annotated"]).shape[:2] == (line["height_px"], line["width_px"])
    assert _lines((out / "detections.jsonl").read_text()) == lines
    # the scorer runs on them too (its figures are reported, not asserted)
    assert main(["eval", "camera", "--kitti", str(KITTI)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == len(images)
    assert report["vehicle"]["found"] + report["vehicle"]["missed"] == 3  # Truck, Car, Car
    assert report["pedestrian"]["found"] + report["pedestrian"]["missed"] == 1
