"""The agent's settings, read from configs/agent.yaml: the rules' parameters, the
controllers' gains and the car limits they plan with.

Each section is the strict model its owner defines (``RuleParams`` in reasoning,
``LongitudinalParams`` and ``PursuitParams`` in agent/control.py, ``CarLimits`` in
roadmind), so a value is defined once; the file states every default, and a test keeps
the two equal. Per-scenario values (cruise speed, the car's length) override the file.
"""

from __future__ import annotations

from pathlib import Path

from agent.control import LongitudinalParams, PursuitParams
from reasoning.rule_types import RuleParams
from roadmind.config import StrictModel, load_model
from roadmind.resources import configs_dir
from roadmind.vehicle import CarLimits

DEFAULT_AGENT_CONFIG = configs_dir() / "agent.yaml"


class AgentConfig(StrictModel):
    rules: RuleParams = RuleParams()
    longitudinal: LongitudinalParams = LongitudinalParams()
    pursuit: PursuitParams = PursuitParams()
    car: CarLimits = CarLimits()


def load_agent_config(path: Path | None = None) -> AgentConfig:
    """configs/agent.yaml, or ``path``; errors name the file and the field."""
    return load_model(AgentConfig, path or DEFAULT_AGENT_CONFIG)
