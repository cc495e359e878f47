"""Speed rules: the limit from signs and the map (the lower wins), and zones from map
text and zone signs (school zone, road works) inside their time windows only.

Perceived signs are remembered at their route position (in the ``SpeedRule``), so a sign
hidden for a few frames still counts, and a passed sign stays in force until the next one.
A sign read from pixels is remembered when read surely enough (``min_reading_confidence``)
or when it agrees with its map landmark; where a sure reading and the landmark disagree,
both are candidates and the lower limit holds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from maps.route_map import RouteSign
from reasoning.map_context import MapContext
from reasoning.map_text import (
    MapTextError,
    NoteParser,
    TextConstraint,
    ZoneKind,
)
from reasoning.rule_types import (
    Constraint,
    EgoView,
    RuleParams,
    RuleResult,
    Situation,
    braking_speed_mps,
    kmh,
    landmark_evidence,
    reading_evidence,
)
from roadmind.clock import WEEKDAYS, Clock
from roadmind.messages import Action, BevSign, Reason, SignType
from roadmind.units import MAX_SPEED_VALUE, speed_to_mps

HORIZON_M = 150.0  # look this far ahead for lower limits
EARLY_M = 3.0  # be down to a lower limit this far before its sign
SAME_SIGN_M = 8.0  # an unlabelled sign seen again within this distance is the same sign
# a zone sign placed from afar may land this far from where it is placed up close
PROVISIONAL_M = 40.0
ALL_DAYS = frozenset(WEEKDAYS)


@dataclass
class SeenSign:
    sign: RouteSign  # s_m: route position of the sign
    zone: TextConstraint | None = None  # zone signs: the parsed constraint
    reading: str = ""  # evidence of the reading it came from; empty: map or ground truth
    provisional: bool = False  # a zone sign whose plate is not legible yet (cautious cap)

    def evidence(self) -> str:
        return self.reading or f"sign:{self.sign.label()} at route s {self.sign.s_m:.0f} m"


@dataclass
class SpeedMemory:
    signs: list[SeenSign] = field(default_factory=list)
    # hours and days read on plates, by what they say: the reads (frames) that said it
    plate_reads: dict[tuple, set[int]] = field(default_factory=dict)

    def agreed(self, kind: SignType, zone: TextConstraint, read_frame: int) -> TextConstraint:
        """A plate read from pixels whose hours or days limit when it holds: trusted once
        two reads agree on them (OCR misreads a moving plate: "MON-FF", "7.95U"); until
        then its cap holds at all hours, the safe side."""
        if not zone.windows and zone.weekdays == ALL_DAYS:
            return zone
        key = (kind, zone.kind, round(zone.cap_mps, 3), zone.windows, zone.weekdays)
        reads = self.plate_reads.setdefault(key, set())
        reads.add(read_frame)
        if len(reads) >= 2:
            return zone
        said = zone.describe()
        return dataclasses.replace(
            zone,
            windows=(),
            weekdays=ALL_DAYS,
            reading=f"its hours read once ({said}): held at all hours until a second read agrees",
        )

    def remember(self, seen: SeenSign) -> None:
        kind = seen.sign.sign_type
        nearby = [
            old
            for old in self.signs
            if old.sign.sign_type is kind and abs(old.sign.s_m - seen.sign.s_m) < PROVISIONAL_M
        ]
        if seen.provisional and any(not old.provisional for old in nearby):
            return  # its plate was read already: a far look again adds no guess
        if not seen.provisional:  # a plate read: the guesses about it are done with
            self.signs = [old for old in self.signs if not (old.provisional and old in nearby)]
        for i, old in enumerate(self.signs):
            same_id = seen.sign.landmark_id is not None and (
                old.sign.landmark_id == seen.sign.landmark_id
            )
            near = (
                old.sign.sign_type is seen.sign.sign_type
                and abs(old.sign.s_m - seen.sign.s_m) < SAME_SIGN_M
            )
            if same_id or near:
                self.signs[i] = seen
                return
        self.signs.append(seen)


class SpeedRule:
    """The speed limit and the zones in force; remembers the speed and zone signs seen."""

    def __init__(self, parser: NoteParser) -> None:
        self.parser = parser
        self.memory = SpeedMemory()

    def apply(self, now: Situation) -> RuleResult:
        ego, v, ctx, p = now.ego, now.v_mps, now.context, now.params
        notes = observe_signs(now.scene.signs, ego, self.memory, self.parser, ctx, p)
        limit_c, limit = speed_limit_rule(ego, v, ctx, self.memory, p)
        zones, zone_notes, zone_cap = zone_rules(ego, v, now.clock, ctx, self.memory, p)
        in_force = [x for x in (limit, zone_cap) if x is not None]
        return RuleResult(
            (limit_c, *zones), (*notes, *zone_notes), min(in_force) if in_force else None
        )


def observe_signs(
    signs: tuple[BevSign, ...],
    ego: EgoView,
    memory: SpeedMemory,
    parser: NoteParser,
    ctx: MapContext,
    params: RuleParams,
) -> list[Reason]:
    """Remember speed and zone signs; reasons for the signs that had to be ignored (unknown,
    unreadable, or read too unsurely to obey)."""
    notes = []
    for sign in signs:
        s = ego.route_s_m + sign.distance_m
        kind = sign.sign_type
        if not isinstance(kind, SignType):
            notes.append(
                Reason("signs", f"ignored a sign of unknown type {kind!r}", (f"sign:{kind}",))
            )
            continue
        if kind is SignType.SPEED_LIMIT:
            try:
                speed_to_mps(sign.value, sign.unit)
            except ValueError:
                notes.append(
                    Reason(
                        "signs",
                        f"ignored a speed-limit sign reading {sign.value:g} {sign.unit!r}",
                        (f"sign:speed_limit at {sign.distance_m:.0f} m",),
                    )
                )
                continue
            if sign.value <= 0 or sign.value > MAX_SPEED_VALUE:
                notes.append(
                    Reason(
                        "signs",
                        f"ignored a speed-limit sign reading {sign.value:g} {sign.unit}: "
                        "not a real limit",
                        (f"sign:speed_limit at {sign.distance_m:.0f} m",),
                    )
                )
                continue
            route_sign = RouteSign(kind, s, sign.landmark_id, sign.value, sign.unit)
            if _obeyed(sign, route_sign, ctx, params.min_reading_confidence, notes):
                memory.remember(SeenSign(route_sign, reading=_reading(sign)))
        elif kind in (SignType.SCHOOL_ZONE, SignType.TEXT):
            zone, provisional = _zone_of(sign, parser, params.unread_school_cap_kmh)
            if zone is None:
                if kind is SignType.SCHOOL_ZONE or sign.text:
                    notes.append(
                        Reason(
                            "signs",
                            f"could not read the {kind.value} sign {sign.text!r}",
                            (f"sign:{kind.value} at {sign.distance_m:.0f} m",),
                        )
                    )
                continue
            route_sign = RouteSign(kind, s, sign.landmark_id, sign.value, sign.unit, sign.text)
            if sign.read_frame is not None:
                zone = memory.agreed(kind, zone, sign.read_frame)
            if _obeyed(sign, route_sign, ctx, params.min_reading_confidence, notes):
                memory.remember(SeenSign(route_sign, zone, _reading(sign), provisional))
    return notes


def _reading(sign: BevSign) -> str:
    return reading_evidence(sign) if sign.read_frame is not None else ""


def _obeyed(
    sign: BevSign, seen: RouteSign, ctx: MapContext, min_confidence: float, notes: list[Reason]
) -> bool:
    """Whether a sign's meaning may be remembered. Ground truth and map meanings always;
    a reading when sure enough, or when it only confirms its map landmark (then it adds
    nothing the map does not say). An unsure reading is noted with its landmark."""
    if sign.read_frame is None or sign.confidence >= min_confidence:
        return True
    landmark = ctx.landmark(sign.landmark_id)
    if landmark is not None and _same_meaning(seen, landmark):
        return True
    evidence: tuple[str, ...] = (reading_evidence(sign),)
    if landmark is not None:
        evidence += (landmark_evidence(landmark),)
    notes.append(
        Reason(
            "signs",
            f"a {sign.sign_type} sign read at confidence {sign.confidence:.2f} "
            f"(below {min_confidence:g}): noted, not obeyed",
            evidence,
        )
    )
    return False


def _same_meaning(a: RouteSign, b: RouteSign) -> bool:
    if a.sign_type is not b.sign_type:
        return False
    if a.sign_type is SignType.SPEED_LIMIT:
        return abs(speed_to_mps(a.value, a.unit) - speed_to_mps(b.value, b.unit or "km/h")) < 0.05
    return a.value == b.value and a.unit == b.unit


def _zone_of(
    sign: BevSign, parser: NoteParser, unread_cap_kmh: float
) -> tuple[TextConstraint | None, bool]:
    """The zone a sign states, and whether it is a cautious guess (plate not legible)."""
    try:
        zone = parser.parse(" ".join(sign.text.split()))
        if sign.sign_type is not SignType.SCHOOL_ZONE or zone.kind is ZoneKind.SCHOOL_ZONE:
            return zone, False
        # a school-zone plate that parses as another kind was misread: not its hours
    except MapTextError:
        pass
    if sign.sign_type is SignType.SCHOOL_ZONE and sign.read_frame is not None and not sign.value:
        # seen as a school-zone sign, its plate not legible yet (too far): slow as a driver
        # would until the plate is read; the reading then replaces this one
        return TextConstraint(
            ZoneKind.SCHOOL_ZONE,
            unread_cap_kmh,
            "km/h",
            speed_to_mps(unread_cap_kmh, "km/h"),
            text=sign.text,
            reading=f"plate not legible yet: {unread_cap_kmh:g} km/h until it is read",
        ), True
    if sign.sign_type is SignType.SCHOOL_ZONE and sign.value > 0 and sign.unit:
        try:  # a bare zone sign with a value: in force at all times (the cautious reading)
            return TextConstraint(
                ZoneKind.SCHOOL_ZONE,
                sign.value,
                sign.unit,
                speed_to_mps(sign.value, sign.unit),
                text=sign.text,
            ), False
        except ValueError:
            return None, False
    return None, False


# --------------------------------------------------------------------------- the limit


@dataclass(frozen=True, slots=True)
class Limit:
    limit_mps: float
    text: str
    evidence: tuple[str, ...]


def limit_at(s_m: float, ctx: MapContext, memory: SpeedMemory) -> Limit | None:
    """The limit in force at route position ``s_m`` from map records, map signs and
    perceived signs; where they disagree the lower holds."""
    record = ctx.speed_record_at(s_m)
    map_sign = ctx.last_sign_before(SignType.SPEED_LIMIT, s_m)
    seen = [
        m for m in memory.signs if m.sign.sign_type is SignType.SPEED_LIMIT and m.sign.s_m <= s_m
    ]
    perceived = max(seen, key=lambda m: m.sign.s_m) if seen else None
    candidates: list[tuple[float, str, str]] = []
    if record is not None:
        candidates.append(
            (
                record.limit_mps,
                f"map {record.value:g} {record.unit}",
                f"map:{record.source.removeprefix('map ')} {record.value:g} {record.unit}",
            )
        )
    if map_sign is not None:  # a map can contradict itself; the lower holds
        candidates.append(
            (
                speed_to_mps(map_sign.value, map_sign.unit),
                f"map sign {map_sign.value:g} {map_sign.unit}",
                landmark_evidence(map_sign)
                if map_sign.landmark_id is not None
                else f"map:{map_sign.label()}",
            )
        )
    if perceived is not None:  # a reading that disagrees with the map: the lower holds
        candidates.append(
            (
                speed_to_mps(perceived.sign.value, perceived.sign.unit),
                f"sign {perceived.sign.value:g} {perceived.sign.unit}",
                perceived.evidence(),
            )
        )
    if not candidates:
        return None
    low = min(candidates, key=lambda c: c[0])
    names = [c[1] for c in candidates]
    listed = " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]
    if max(c[0] for c in candidates) - low[0] > 0.05:
        text = f"{listed} disagree: the lower ({low[1]}) holds"
    elif len(candidates) > 1:
        text = f"{listed} agree"
    else:
        text = low[1]
    return Limit(low[0], text, tuple(c[2] for c in candidates))


def speed_limit_rule(
    ego: EgoView, v_mps: float, ctx: MapContext, memory: SpeedMemory, params: RuleParams
) -> tuple[Constraint, float | None]:
    """The limit rule's constraint and the limit in force at the front bumper (or None)."""
    front = ego.route_s_m + params.ego_half_length_m
    here = limit_at(front, ctx, memory)
    cap = params.cruise_speed_mps
    evidence: tuple[str, ...] = ()
    if here is None:
        text = f"no speed limit from signs or map records here; cruising at {kmh(cap)}"
    else:
        cap = min(cap, here.limit_mps)
        text = f"limit {kmh(here.limit_mps)}: {here.text}"
        evidence = here.evidence
    # Lower limits ahead: be at the new limit when the front reaches the sign.
    points = {seg.s_from_m for seg in ctx.speed_limits}
    points |= {g.s_m for g in ctx.signs if g.sign_type is SignType.SPEED_LIMIT}
    points |= {m.sign.s_m for m in memory.signs if m.sign.sign_type is SignType.SPEED_LIMIT}
    for p in sorted(x for x in points if front < x <= front + HORIZON_M):
        ahead = limit_at(p + 1e-3, ctx, memory)
        if ahead is None or ahead.limit_mps >= cap:
            continue
        allowed = braking_speed_mps(
            p - front - EARLY_M, params.comfort_decel_mps2 * 0.8, ahead.limit_mps
        )
        if allowed < cap:
            cap = allowed
            text += f"; {kmh(ahead.limit_mps)} from {p - front:.0f} m ahead ({ahead.text})"
            evidence += ahead.evidence
    action = Action.SLOW if v_mps > cap + 0.5 else Action.CRUISE
    limit = here.limit_mps if here is not None else None
    return Constraint(action, Reason("speed_limit", text, evidence), cap), limit


# --------------------------------------------------------------------------- zones


def note_covers(ctx: MapContext, kind: ZoneKind, s_m: float) -> bool:
    """A map note of this kind spans ``s_m`` (a zone sign there: the note says where the
    zone ends, so the sign adds no zone of its own)."""
    return any(
        n.constraint is not None
        and n.constraint.kind is kind
        and n.s_from_m - SAME_SIGN_M <= s_m <= n.s_to_m
        for n in ctx.notes
    )


def zone_rules(
    ego: EgoView,
    v_mps: float,
    clock: Clock,
    ctx: MapContext,
    memory: SpeedMemory,
    params: RuleParams,
) -> tuple[list[Constraint], list[Reason], float | None]:
    """Constraints of zones in force, reasons for zones not in force or unreadable notes,
    and the lowest zone cap in force at the front bumper."""
    front = ego.route_s_m + params.ego_half_length_m
    zones: list[tuple[float, float, TextConstraint, str]] = []
    notes: list[Reason] = []
    for note in ctx.notes:
        if note.s_to_m < front or note.s_from_m > front + HORIZON_M:
            continue
        if note.constraint is None:
            notes.append(Reason("map_text", note.error, (f"note:{note.text}",)))
            continue
        zones.append((note.s_from_m, note.s_to_m, note.constraint, f"note:{note.text}"))
    for seen in memory.signs:
        zone = seen.zone
        if zone is None:
            continue
        start = seen.sign.s_m
        if (
            note_covers(ctx, zone.kind, start)
            or start + params.sign_zone_m < front
            or start > front + HORIZON_M
        ):
            continue
        evidence = seen.reading or f"sign:{seen.sign.label()}"
        zones.append((start, start + params.sign_zone_m, zone, evidence))
    out: list[Constraint] = []
    in_force: float | None = None
    for s_from, s_to, zone, evidence in zones:
        if not zone.active(clock.weekday, clock.minute_of_day):
            notes.append(Reason("zone", f"{zone.describe()}: not in force at {clock}", (evidence,)))
            continue
        inside = s_from <= front <= s_to
        cap = (
            zone.cap_mps
            if inside
            else braking_speed_mps(
                s_from - front - EARLY_M, params.comfort_decel_mps2 * 0.8, zone.cap_mps
            )
        )
        if inside:
            in_force = zone.cap_mps if in_force is None else min(in_force, zone.cap_mps)
            text = f"{zone.describe()}: in force at {clock}"
        else:
            text = f"{zone.describe()}: starts in {s_from - front:.0f} m, in force at {clock}"
        action = Action.SLOW if v_mps > cap + 0.5 else Action.CRUISE
        out.append(Constraint(action, Reason("zone", text, (evidence,)), cap))
    return out, notes, in_force
