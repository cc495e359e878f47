"""The judge does not share the car's rules: a car whose rules or note reader are wrong
is caught speeding, where a judge reading the law with the car's own code would agree
with it and report nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import reasoning.rule_speed
from loop.drive import DriveOptions, drive
from reasoning.map_context import MapContext
from reasoning.map_text import NoteParser, TextConstraint
from reasoning.rule_speed import SpeedMemory
from reasoning.rule_types import EgoView, RuleParams
from roadmind.messages import BevSign, Reason, SignType
from sim.rig import RigConfig
from sim.scenario import Place, Scenario, SignConfig, load_scenario

NO_SENSORS = RigConfig(cameras=[], lidars=[])  # the oracle needs none; keeps drives fast


def _metrics(scenario: Scenario, out: Path) -> dict:
    options = DriveOptions(video=False, progress=False, rig=NO_SENSORS)
    return drive(scenario, out, options).metrics


def test_a_car_reading_every_school_zone_as_inactive_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = load_scenario("school_zone")  # wednesday 08:xx: the zone is in force
    right = _metrics(scenario, tmp_path / "right")
    assert right["school_zone_violations"]["time_s"] == 0.0
    assert right["speeding"]["time_s"] == 0.0
    # The note reader's bug: no time window ever holds. The old judge read the zones
    # through this very method and would have agreed with the car.
    monkeypatch.setattr(TextConstraint, "active", lambda self, weekday, minute: False)
    wrong = _metrics(scenario, tmp_path / "wrong")
    assert wrong["school_zone_violations"]["episodes"] >= 1
    assert wrong["school_zone_violations"]["distance_m"] > 50.0  # most of the 90 m zone
    assert wrong["speeding"]["time_s"] > 0.0
    assert wrong["infractions"] == []  # speeding is measured, not a leaderboard infraction


def test_a_car_ignoring_speed_signs_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = load_scenario("speed_limits")  # map records only: 50, 30, 70 km/h
    sign = SignConfig(
        type="speed_limit", at=Place(road=1, lane=-1, s_m=60.0), value=20.0, unit="km/h"
    )
    scenario = base.model_copy(update={"signs": [sign], "duration_s": 30.0})
    right = _metrics(scenario, tmp_path / "right")
    assert right["speeding"]["time_s"] == 0.0

    real = reasoning.rule_speed.observe_signs

    def blind_to_limits(
        signs: tuple[BevSign, ...],
        ego: EgoView,
        memory: SpeedMemory,
        parser: NoteParser,
        ctx: MapContext,
        params: RuleParams,
    ) -> list[Reason]:
        kept = tuple(s for s in signs if s.sign_type is not SignType.SPEED_LIMIT)
        return real(kept, ego, memory, parser, ctx, params)

    monkeypatch.setattr(reasoning.rule_speed, "observe_signs", blind_to_limits)
    wrong = _metrics(scenario, tmp_path / "wrong")
    assert wrong["speeding"]["episodes"] >= 1
    assert wrong["speeding"]["max_over_kmh"] >= 20.0  # 50 km/h where 20 km/h holds
