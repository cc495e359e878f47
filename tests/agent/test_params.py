from __future__ import annotations

from pathlib import Path

import pytest

from agent.agent import Agent
from agent.params import AgentConfig, load_agent_config
from reasoning.canned import MapSpec, map_context
from roadmind.clock import Clock
from roadmind.errors import ConfigError


def test_config_file_matches_the_defaults() -> None:
    # the file is where users change values; drives must not change behind their back
    assert load_agent_config() == AgentConfig()


def test_unknown_and_bad_values_name_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("rules:\n  time_gap: 2.0\ncar:\n  wheelbase_m: -1\n")
    with pytest.raises(ConfigError) as err:
        load_agent_config(path)
    lines = str(err.value).splitlines()
    assert any(x.startswith(f"{path}: rules.time_gap: unknown key") for x in lines)
    assert any(
        x.startswith(f"{path}: car.wheelbase_m: Input should be greater than 0") for x in lines
    )


def test_values_from_the_file_reach_the_agent(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        "rules: {time_gap_s: 2.5}\nlongitudinal: {hold_brake: 0.9}\n"
        "pursuit: {min_lookahead_m: 6.0}\ncar: {wheelbase_m: 3.1}\n"
    )
    config = load_agent_config(path)
    context = map_context(MapSpec(length_m=200.0))
    agent = Agent(
        context,
        Clock.parse("12:00", "mon"),
        config.rules,
        config.car,
        config.longitudinal,
        config.pursuit,
    )
    assert agent.engine.params.time_gap_s == 2.5
    assert agent.longitudinal.params.hold_brake == 0.9
    assert agent.pursuit.min_lookahead_m == 6.0
    assert agent.limits.wheelbase_m == 3.1
    assert config.rules.min_gap_m == AgentConfig().rules.min_gap_m  # the rest stays default


def test_the_stop_profile_is_set_once_under_rules(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("rules: {comfort_decel_mps2: 2.0, stop_margin_m: 0.8}\n")
    config = load_agent_config(path)
    assert config.longitudinal.comfort_decel_mps2 == 2.0
    assert config.longitudinal.stop_margin_m == 0.8
    path.write_text("longitudinal: {stop_margin_m: 0.8}\n")
    with pytest.raises(ConfigError, match=r"longitudinal.stop_margin_m: set it under rules"):
        load_agent_config(path)
