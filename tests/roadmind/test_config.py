from __future__ import annotations

from pathlib import Path

import pytest

from roadmind.errors import ConfigError
from sim.scenario import load_scenario

VALID = """
name: t
map: four_way_stop
ego:
  start: {road: 1, lane: 1, s_m: 50}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_valid_scenario_loads_with_defaults(tmp_path: Path) -> None:
    scenario = load_scenario(str(_write(tmp_path, VALID)))
    assert scenario.seed == 0 and scenario.duration_s == 30.0
    assert scenario.ego.start.road == 1


def test_unknown_key_names_file_field_and_allowed_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID + "  sped_kmh: 30\n")
    with pytest.raises(ConfigError) as err:
        load_scenario(str(path))
    msg = str(err.value)
    assert str(path) in msg and "ego.sped_kmh: unknown key" in msg and "speed_kmh" in msg


def test_wrong_type_names_nested_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        VALID
        + "actors:\n  - {kind: vehicle, start: {road: 1, lane: 1, s_m: 5}, speed_kmh: fast}\n",
    )
    with pytest.raises(ConfigError, match=r"actors\.0\.vehicle\.speed_kmh"):
        load_scenario(str(path))


def test_place_needs_one_form(tmp_path: Path) -> None:
    path = _write(
        tmp_path, VALID.replace("{road: 1, lane: 1, s_m: 50}", "{road: 1, x_m: 3, y_m: 4}")
    )
    with pytest.raises(
        ConfigError, match=r"ego.start: .*either road, lane and s_m, or x_m and y_m"
    ):
        load_scenario(str(path))


def test_bad_yaml_reports_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML \(line"):
        load_scenario(str(path))


def test_missing_scenario_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"scenario file not found .*default"):
        load_scenario("no_such_scenario")
