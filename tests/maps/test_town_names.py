"""Bare town names (map: Town04) resolve through the maps folders: --maps-dir and
$ROADMIND_MAPS_DIR; an unknown name says where it looked and how to give the map."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli.main import main, use_maps_dir
from maps.road_map import resolve_map_path
from roadmind.errors import UserError
from roadmind.resources import MAPS_DIR_ENV


def _folder(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "towns"
    folder.mkdir()
    for name in names:
        (folder / f"{name}.xodr").write_text("<OpenDRIVE/>")
    return folder


def test_bare_name_found_in_env_folder(tmp_path: Path, monkeypatch) -> None:
    folder = _folder(tmp_path, "Town04", "Town10HD")
    monkeypatch.setenv(MAPS_DIR_ENV, os.pathsep.join([str(tmp_path / "none"), str(folder)]))
    assert resolve_map_path("Town04") == folder / "Town04.xodr"
    assert resolve_map_path("town10hd") == folder / "Town10HD.xodr"  # case as tools vary
    assert resolve_map_path("four_way_stop").parent.name == "maps"  # project maps first


def test_unknown_name_says_where_it_looked(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(MAPS_DIR_ENV, raising=False)
    with pytest.raises(UserError) as unset:
        resolve_map_path("Town04")
    assert "$ROADMIND_MAPS_DIR is not set" in str(unset.value)
    assert "--maps-dir" in str(unset.value) and "Town04.xodr" in str(unset.value)
    folder = _folder(tmp_path)
    with pytest.raises(UserError) as missing:
        resolve_map_path("Town04", maps_dirs=[folder])
    assert str(folder) in str(missing.value) and "four_way_stop" in str(missing.value)


def test_maps_dir_flag_goes_first(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(MAPS_DIR_ENV, "/elsewhere")
    use_maps_dir(str(tmp_path))
    assert os.environ[MAPS_DIR_ENV] == os.pathsep.join([str(tmp_path), "/elsewhere"])


def test_cli_error_for_unknown_town(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv(MAPS_DIR_ENV, raising=False)
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: t\nmap: Town77\nego:\n  start: {road: 1, lane: -1, s_m: 5}\n")
    folder = _folder(tmp_path)
    argv = ["render", "--scenario", str(scenario), "--out", str(tmp_path / "o")]
    assert main([*argv, "--maps-dir", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("roadmind: error: map 'Town77' not found") and str(folder) in err


def test_town_by_name_in_the_embedded_world(carla_town, monkeypatch) -> None:
    from sim.embedded.world import build_static_world
    from sim.scenario import Scenario

    monkeypatch.setenv(MAPS_DIR_ENV, str(carla_town("Town02").parent))
    scenario = Scenario.model_validate(
        {"name": "t", "map": "Town02", "ego": {"start": {"road": 1, "lane": -1, "s_m": 5.0}}}
    )
    assert build_static_world(scenario).road_map.name == "Town02"
