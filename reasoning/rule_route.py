"""End of the route: stop at its end, braking comfortably in time."""

from __future__ import annotations

from reasoning.rule_types import Constraint, RuleResult, Situation
from roadmind.messages import Action, Reason

END_EXTRA_M = 10.0  # start stopping this much (plus 2 s of travel) before braking must


class EndOfRouteRule:
    def apply(self, now: Situation) -> RuleResult:
        v, length_m = now.v_mps, now.context.path.length_m
        to_goal = length_m - now.front_s_m
        if to_goal < v * v / (2 * now.params.comfort_decel_mps2) + 2 * v + END_EXTRA_M:
            why = Reason("route", f"end of the route in {to_goal:.0f} m")
            return RuleResult((Constraint(Action.STOP, why, stop_s_m=length_m),))
        return RuleResult()
