"""Degraded perception (a sensor missing or late, the scene emptied): go slowly."""

from __future__ import annotations

from reasoning.rule_types import Constraint, RuleResult, Situation
from roadmind.messages import Action, Reason


class DegradedPerceptionRule:
    def apply(self, now: Situation) -> RuleResult:
        if not now.scene.degraded:
            return RuleResult()
        why = Reason("perception", "degraded: " + "; ".join(now.scene.degraded))
        return RuleResult((Constraint(Action.SLOW, why, now.params.caution_speed_mps),))
