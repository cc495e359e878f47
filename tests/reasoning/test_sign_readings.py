"""Signs read from pixels: a sure reading is obeyed, an unsure one only noted (unless it
confirms its map landmark), and where reading and landmark disagree the safer holds."""

from __future__ import annotations

import dataclasses

from reasoning.canned import MapSpec, map_context
from reasoning.map_text import RuleBasedNoteParser
from reasoning.rule_speed import SpeedMemory, limit_at, observe_signs
from reasoning.rule_types import EgoView, RuleParams
from reasoning.rules import RuleEngine
from roadmind.clock import Clock
from roadmind.frames import Pose
from roadmind.messages import Action, BevScene, BevSign, SignType
from roadmind.units import kmh_to_mps

NOON = Clock.parse("12:00", "wed")
EGO = EgoView(Pose(), 10.0, 0.0)
PARAMS = RuleParams()
MIN_CONFIDENCE = PARAMS.min_reading_confidence


def _ctx(map_kmh: float, landmark_kmh: float | None = None) -> MapSpec:
    signs = []
    if landmark_kmh is not None:
        signs = [{"type": "speed_limit", "at_m": 40, "landmark_id": 17, "value": landmark_kmh}]
    return MapSpec.model_validate(
        {"speed_limits": [{"from_m": 0, "to_m": 1000, "value": map_kmh}], "signs": signs}
    )


def _read(kmh: float, confidence: float, landmark_id: int | None = None) -> BevSign:
    return BevSign(
        SignType.SPEED_LIMIT, 40.0, 4.0, kmh, "km/h", "", landmark_id, confidence, read_frame=412
    )


def _limit_after(spec: MapSpec, sign: BevSign) -> tuple[float, tuple[str, ...], list[str]]:
    ctx, memory = map_context(spec), SpeedMemory()
    notes = observe_signs((sign,), EGO, memory, RuleBasedNoteParser(), ctx, PARAMS)
    limit = limit_at(60.0, ctx, memory)
    assert limit is not None
    return limit.limit_mps, limit.evidence, [n.text for n in notes]


def test_the_params_default_threshold_is_a_probability() -> None:
    assert 0.0 < MIN_CONFIDENCE < 1.0


def test_a_lower_sure_reading_holds_over_its_landmark_and_both_are_cited() -> None:
    limit, evidence, notes = _limit_after(_ctx(50, 50), _read(30, 0.97, 17))
    assert limit == kmh_to_mps(30)
    assert "sign:speed_limit 30 km/h read at 0.97 in frame 412" in evidence
    assert "map:landmark 17 speed_limit 50 km/h" in evidence
    assert notes == []


def test_a_higher_sure_reading_does_not_lift_the_landmark_limit() -> None:
    limit, evidence, _ = _limit_after(_ctx(30, 30), _read(50, 0.97, 17))
    assert limit == kmh_to_mps(30)
    assert "sign:speed_limit 50 km/h read at 0.97 in frame 412" in evidence
    assert "map:landmark 17 speed_limit 30 km/h" in evidence


def test_an_unsure_reading_alone_changes_nothing_and_is_noted() -> None:
    limit, evidence, notes = _limit_after(_ctx(50), _read(20, 0.4))
    assert limit == kmh_to_mps(50)
    assert not any(e.startswith("sign:") for e in evidence)
    assert len(notes) == 1 and "not obeyed" in notes[0]


def test_an_unsure_reading_against_its_landmark_is_noted_with_both() -> None:
    ctx, memory = map_context(_ctx(50, 50)), SpeedMemory()
    notes = observe_signs((_read(30, 0.5, 17),), EGO, memory, RuleBasedNoteParser(), ctx, PARAMS)
    assert memory.signs == []
    assert notes[0].evidence == (
        "sign:speed_limit 30 km/h read at 0.50 in frame 412",
        "map:landmark 17 speed_limit 50 km/h",
    )


def test_an_unsure_reading_that_confirms_its_landmark_is_remembered() -> None:
    ctx, memory = map_context(_ctx(50, 50)), SpeedMemory()
    notes = observe_signs((_read(50, 0.3, 17),), EGO, memory, RuleBasedNoteParser(), ctx, PARAMS)
    assert notes == [] and len(memory.signs) == 1


def test_a_sure_reading_of_an_off_map_sign_is_obeyed() -> None:
    limit, evidence, _ = _limit_after(_ctx(70), _read(40, 0.9))
    assert limit == kmh_to_mps(40)
    assert "sign:speed_limit 40 km/h read at 0.90 in frame 412" in evidence


def test_ground_truth_signs_need_no_confidence() -> None:
    truth = BevSign(SignType.SPEED_LIMIT, 40.0, 4.0, 30.0, "km/h", confidence=0.0)
    limit, _, notes = _limit_after(_ctx(50), truth)
    assert limit == kmh_to_mps(30) and notes == []


def _junction(kind: str, read: SignType, confidence: float) -> tuple[Action, str]:
    spec = MapSpec.model_validate(
        {
            "speed_limits": [{"from_m": 0, "to_m": 400, "value": 50}],
            "signs": [{"type": kind, "at_m": 40, "landmark_id": 41}],
            "junctions": [{"from_m": 42, "to_m": 60}],
        }
    )
    engine = RuleEngine(map_context(spec))
    sign = BevSign(read, 30.0, 4.0, landmark_id=41, confidence=confidence, read_frame=7)
    ego = EgoView(Pose(x_m=10.0), 8.0, 10.0)
    decision = engine.decide(BevScene(7, 0.0, signs=(sign,)), ego, NOON).decision
    text = " | ".join(f"{r.text} {' '.join(r.evidence)}" for r in decision.reasons)
    return decision.action, text


def test_a_sure_stop_reading_of_a_mapped_yield_sign_makes_a_stop() -> None:
    action, text = _junction("yield", SignType.STOP, 0.9)
    assert action is Action.STOP
    assert "sign:stop read at 0.90 in frame 7" in text and "map:landmark 41 yield" in text


def test_a_yield_reading_of_a_mapped_stop_sign_keeps_the_stop() -> None:
    action, text = _junction("stop", SignType.YIELD, 0.9)
    assert action is Action.STOP
    assert "the stop holds" in text and "map:landmark 41 stop" in text


def test_an_unsure_stop_reading_of_a_mapped_yield_sign_is_only_noted() -> None:
    action, text = _junction("yield", SignType.STOP, 0.3)
    assert action is Action.YIELD
    assert "not obeyed" in text and "map:landmark 41 yield" in text


def _school(text: str, value: float = 0.0, unit: str = "") -> BevSign:
    return BevSign(SignType.SCHOOL_ZONE, 30.0, 4.0, value, unit, text, None, 0.9, read_frame=7)


def test_a_school_zone_sign_seen_before_its_plate_is_legible_is_obeyed_cautiously() -> None:
    ctx, memory = map_context(_ctx(50)), SpeedMemory()
    observe_signs((_school(""),), EGO, memory, RuleBasedNoteParser(), ctx, PARAMS)
    (seen,) = memory.signs
    assert seen.zone is not None and seen.zone.cap_mps == kmh_to_mps(30)
    assert "not legible" in seen.zone.reading
    # the plate read later replaces the cautious reading at the same place; its hours
    # count once a second read agrees, until then its cap holds at all hours
    plate = _school("SCHOOL ZONE 20 MPH 7-9 AM 2-4 PM MON-FRI", 20.0, "mph")
    observe_signs((plate,), EGO, memory, RuleBasedNoteParser(), ctx, PARAMS)
    (seen,) = memory.signs
    assert seen.zone is not None and seen.zone.cap_value == 20 and not seen.zone.windows
    assert "until a second read agrees" in seen.zone.reading
    again = dataclasses.replace(plate, read_frame=plate.read_frame + 9)
    observe_signs((again,), EGO, memory, RuleBasedNoteParser(), ctx, PARAMS)
    (seen,) = memory.signs
    assert seen.zone is not None and seen.zone.windows and "fri" in seen.zone.weekdays


def test_one_misread_of_a_plates_days_does_not_lift_the_zone() -> None:
    """OCR read "MON-FF" once: a zone on Mondays only would be lifted on a Tuesday."""
    ctx, memory = map_context(_ctx(50)), SpeedMemory()
    misread = _school("SCHOOL ZONE 20 MPH MON", 20.0, "mph")
    observe_signs((misread,), EGO, memory, RuleBasedNoteParser(), ctx, PARAMS)
    (seen,) = memory.signs
    assert seen.zone is not None and seen.zone.active("tue", 12 * 60)


def test_a_read_plate_replaces_cautious_guesses_placed_far_from_it() -> None:
    """From afar a zone sign is placed vaguely: the guess made then may lie 20 m from
    where the legible plate is placed; the plate still ends the guess."""
    ctx, memory = map_context(_ctx(50)), SpeedMemory()
    far = BevSign(SignType.SCHOOL_ZONE, 50.0, 4.0, 0.0, "", "", None, 0.9, read_frame=3)
    observe_signs((far,), EGO, memory, RuleBasedNoteParser(), ctx, PARAMS)
    plate = _school("SCHOOL ZONE 20 MPH 7-9 AM 2-4 PM MON-FRI", 20.0, "mph")  # at 30 m
    observe_signs((plate,), EGO, memory, RuleBasedNoteParser(), ctx, PARAMS)
    observe_signs((far,), EGO, memory, RuleBasedNoteParser(), ctx, PARAMS)
    assert [m.provisional for m in memory.signs] == [False]


def test_a_school_plate_misread_as_another_zone_is_not_taken_for_its_hours() -> None:
    ctx, memory = map_context(_ctx(50)), SpeedMemory()
    misread = _school("SCHOOL XNE 20 MPH 7-8 AM RESIDENTIAL", 20.0, "mph")
    observe_signs((misread,), EGO, memory, RuleBasedNoteParser(), ctx, PARAMS)
    (seen,) = memory.signs
    assert seen.zone is not None and seen.zone.kind.value == "school_zone"
