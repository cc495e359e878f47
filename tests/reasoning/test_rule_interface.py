"""Rules share one interface: a new rule is an object listed beside the others, and the
engine arbitrates what it says like any other rule's constraints."""

from __future__ import annotations

from reasoning.canned import MapSpec, map_context
from reasoning.map_text import RuleBasedNoteParser
from reasoning.rule_types import Constraint, EgoView, RuleResult, Situation
from reasoning.rules import RuleEngine, default_rules
from roadmind.clock import Clock
from roadmind.frames import Pose
from roadmind.messages import Action, BevScene, Reason

MAP = MapSpec.model_validate(
    {"length_m": 400, "speed_limits": [{"from_m": 0, "to_m": 400, "value": 50}]}
)
NOON = Clock.parse("12:00", "sat")


class WorkZoneRule:
    """A rule a test adds: 5 m/s from route s 100 on; counts the steps it saw."""

    def __init__(self) -> None:
        self.steps = 0

    def apply(self, now: Situation) -> RuleResult:
        self.steps += 1
        if now.front_s_m < 100.0:
            return RuleResult(notes=(Reason("works", "no works yet"),))
        why = Reason("works", "road works")
        return RuleResult((Constraint(Action.SLOW, why, 5.0),), limit_mps=5.0)


def test_an_added_rule_is_arbitrated_with_the_others() -> None:
    works = WorkZoneRule()
    rules = [*default_rules(RuleBasedNoteParser()), works]
    engine = RuleEngine(map_context(MAP), rules=rules)
    before = engine.decide(BevScene(0, 0.0), EgoView(Pose(), 10.0, 0.0), NOON)
    assert before.decision.action is Action.CRUISE
    assert before.decision.reasons[-1].text == "no works yet"  # notes after constraints
    inside = engine.decide(BevScene(1, 0.05), EgoView(Pose(), 10.0, 120.0), NOON)
    assert inside.decision.action is Action.SLOW
    assert inside.decision.target_speed_mps == 5.0
    assert inside.limit_mps == 5.0  # the lowest limit any rule knows
    assert [r.rule for r in inside.decision.reasons] == ["works", "speed_limit"]
    assert works.steps == 2  # the engine keeps one rule object for the drive


def test_every_default_rule_answers_with_a_rule_result() -> None:
    ctx = map_context(MAP)
    engine = RuleEngine(ctx)
    now = Situation(
        BevScene(0, 0.0), EgoView(Pose(), 10.0, 0.0), 10.0, (), NOON, ctx, engine.params
    )
    for rule in engine.rules:
        assert isinstance(rule.apply(now), RuleResult)
