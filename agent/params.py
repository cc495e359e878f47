"""The agent's settings, read from configs/agent.yaml: the rules' parameters, the
controllers' gains and the car limits they plan with.

Each section is the strict model its owner defines (``RuleParams`` in reasoning,
``LongitudinalParams`` and ``PursuitParams`` in agent/control.py, ``CarLimits`` in
roadmind), so a value is defined once; the file states every default, and a test keeps
the two equal. Per-scenario values (cruise speed, the car's length) override the file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import model_validator

from agent.control import LongitudinalParams, PursuitParams
from reasoning.rule_types import RuleParams
from roadmind.config import StrictModel, load_model
from roadmind.resources import configs_dir
from roadmind.vehicle import CarLimits

DEFAULT_AGENT_CONFIG = configs_dir() / "agent.yaml"


# The stop profile the rules plan is the one the controller drives: these are set once,
# under ``rules``, and copied into ``longitudinal``.
SHARED_WITH_RULES = ("comfort_decel_mps2", "stop_margin_m")


class AgentConfig(StrictModel):
    rules: RuleParams = RuleParams()
    longitudinal: LongitudinalParams = LongitudinalParams()
    pursuit: PursuitParams = PursuitParams()
    car: CarLimits = CarLimits()

    @model_validator(mode="after")
    def _one_stop_profile(self) -> AgentConfig:
        for name in SHARED_WITH_RULES:
            if name in self.longitudinal.model_fields_set:
                raise ValueError(
                    f"longitudinal.{name}: set it under rules ({name}); the controller "
                    "drives the stop profile the rules plan"
                )
        shared = {name: getattr(self.rules, name) for name in SHARED_WITH_RULES}
        return self.model_copy(update={"longitudinal": self.longitudinal.model_copy(update=shared)})


def load_agent_config(path: Path | None = None) -> AgentConfig:
    """configs/agent.yaml, or ``path``; errors name the file and the field."""
    return load_model(AgentConfig, path or DEFAULT_AGENT_CONFIG)
