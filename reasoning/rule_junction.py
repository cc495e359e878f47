"""Junction rules: traffic lights, stop signs and yield signs.

A stop is a small state machine per line: approach -> full stop (below
``full_stop_mps`` within ``stop_zone_m`` of the line) -> wait until the junction is
clear -> proceed. After ``max_wait_s`` only traffic moving in the junction or about
to arrive holds the car (standing cars, or ones whose speed is unknown, no longer
do), so it never stops forever. A light that is dark, unknown or not seen for
``light_stale_s`` is treated as an all-way stop, as traffic law does. Where a sure
reading of a mapped stop or yield sign says the other kind, the stop holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from reasoning.map_context import MapContext
from reasoning.rule_types import (
    Constraint,
    EgoView,
    RouteObject,
    RuleParams,
    RuleResult,
    Situation,
    braking_speed_mps,
    kmh,
    landmark_evidence,
    reading_evidence,
)
from roadmind.messages import (
    Action,
    BevLight,
    BevSign,
    LightState,
    ObjectClass,
    Reason,
    SignType,
)

LIGHT_MATCH_M = 15.0  # a perceived light this close to a map stop line is that line's light
PERCEIVED_LIGHT_SETBACK_M = 1.0  # no map line: stop this far before the perceived light
SAME_POLE_M = 8.0  # a perceived sign this close to a mapped one of its kind is that sign
URGENT_ETA_S = 2.0  # after the longest wait, still give way to traffic this close in time
URGENT_CLOSING_MPS = 2.0


@dataclass(frozen=True, slots=True)
class StopPoint:
    key: str
    kind: str  # "stop", "yield", "light"
    s_m: float  # route s of the line
    label: str
    landmark_id: int | None = None
    evidence: tuple[str, ...] = ()  # default: the landmark, or the sign's label


@dataclass
class StopState:
    stopped_at_s: float | None = None  # time of the full stop
    done: bool = False
    done_why: str = ""  # the reason it went on, repeated until the line is behind


@dataclass
class LightMemory:
    state: LightState
    seen_at_s: float
    committed: bool = False  # went on at yellow: do not brake in the dilemma zone later


@dataclass
class JunctionMemory:
    stops: dict[str, StopState] = field(default_factory=dict)
    lights: dict[str, LightMemory] = field(default_factory=dict)
    perceived: dict[str, StopPoint] = field(default_factory=dict)  # signs the map lacks
    # sure readings of mapped stop and yield signs that say the other kind, by landmark
    misread: dict[int, BevSign] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Here:
    """What every junction rule looks at in this frame: the situation and the memories."""

    now: Situation
    memory: JunctionMemory


class JunctionRule:
    """Lights, stop and yield lines; remembers light states and each line's progress."""

    def __init__(self) -> None:
        self.memory = JunctionMemory()

    def apply(self, now: Situation) -> RuleResult:
        constraints, notes = junction_rules(now, self.memory)
        return RuleResult(tuple(constraints), tuple(notes))


def junction_rules(now: Situation, memory: JunctionMemory) -> tuple[list[Constraint], list[Reason]]:
    """Constraints of the lines ahead, and notes on sign readings not obeyed."""
    scene, ego, v_mps, ctx, params = now.scene, now.ego, now.v_mps, now.context, now.params
    lights, signs = scene.lights, scene.signs
    here = Here(now, memory)
    notes = _remember_unmapped_signs(signs, here)
    mapped = [_stop_over_yield(p, here) for p in _stop_points(ego, lights, ctx)]
    # Lights are looked at as far as a comfortable stop reaches, never less than the horizon.
    light_horizon = max(
        params.light_horizon_m, v_mps * v_mps / (2 * params.comfort_decel_mps2) + 3 * v_mps
    )
    out: list[Constraint] = []
    for point in [*mapped, *memory.perceived.values()]:
        d = point.s_m - here.now.front_s_m
        if d < -params.stop_zone_m:
            continue
        if point.kind == "light":
            state, why = _light_state(point, lights, here)
            if d <= light_horizon:
                out += _light(point, d, state, why, here)
        elif d <= params.light_horizon_m:
            out += _sign_stop(point, d, here)
    return out, notes


def _remember_unmapped_signs(signs: tuple[BevSign, ...], here: Here) -> list[Reason]:
    """Stop and yield signs seen but not on the route's map: the line is taken at the sign.
    Signs the map places elsewhere (another road) are not ours. A reading of a mapped
    stop or yield sign as the other kind is remembered for ``_stop_over_yield``. Readings
    below ``min_reading_confidence`` change nothing; the notes returned say so."""
    ctx, memory = here.now.context, here.memory
    min_confidence = here.now.params.min_reading_confidence
    mapped = {g.landmark_id for g in ctx.signs if g.landmark_id is not None}
    notes = []
    for sign in signs:
        if sign.sign_type not in (SignType.STOP, SignType.YIELD) or sign.distance_m <= 0:
            continue
        unsure = sign.read_frame is not None and sign.confidence < min_confidence
        landmark = ctx.landmark(sign.landmark_id)
        if (
            landmark is not None
            and landmark.landmark_id is not None
            and landmark.sign_type in (SignType.STOP, SignType.YIELD)
            and sign.read_frame is not None
            and landmark.sign_type is not sign.sign_type
        ):
            if unsure:
                notes.append(_unsure(sign, min_confidence, (landmark_evidence(landmark),)))
            else:
                memory.misread[landmark.landmark_id] = sign
            continue
        if sign.landmark_id is not None and (
            sign.landmark_id in mapped or sign.landmark_id in ctx.off_route_ids
        ):
            continue
        s = here.now.ego.route_s_m + sign.distance_m
        if any(  # the map's own sign, seen without its id (the pole stands by the line)
            g.sign_type is sign.sign_type and abs(g.s_m - s) < SAME_POLE_M for g in ctx.signs
        ):
            continue
        if unsure:
            notes.append(_unsure(sign, min_confidence))
            continue
        kind = "stop" if sign.sign_type is SignType.STOP else "yield"
        key = f"{kind}:{sign.landmark_id}" if sign.landmark_id is not None else None
        if key is None:  # unlabelled: the same sign if seen again near the same place
            near = [
                k
                for k, p in memory.perceived.items()
                if p.kind == kind and abs(p.s_m - s) < SAME_POLE_M
            ]
            key = near[0] if near else f"{kind}@{s:.0f}"
        label = f"{kind} sign (not on the map)"
        evidence = (reading_evidence(sign),) if sign.read_frame is not None else ()
        memory.perceived[key] = StopPoint(key, kind, s, label, sign.landmark_id, evidence)
    return notes


def _unsure(sign: BevSign, min_confidence: float, more: tuple[str, ...] = ()) -> Reason:
    text = (
        f"a {sign.sign_type} sign read at confidence {sign.confidence:.2f} "
        f"(below {min_confidence:g}): noted, not obeyed"
    )
    return Reason("signs", text, (reading_evidence(sign), *more))


def _stop_over_yield(point: StopPoint, here: Here) -> StopPoint:
    """A mapped stop or yield line whose sign was surely read as the other kind: the stop
    holds (the safer), and the reasons cite the reading and the landmark."""
    if point.kind == "light" or point.landmark_id is None:
        return point
    reading = here.memory.misread.get(point.landmark_id)
    landmark = here.now.context.landmark(point.landmark_id)
    if reading is None or landmark is None:
        return point
    both = (reading_evidence(reading), landmark_evidence(landmark))
    if point.kind == "stop":
        return replace(point, label=f"{point.label}, read as yield: the stop holds", evidence=both)
    label = f"stop (read where landmark {point.landmark_id} says yield: the stop holds)"
    return StopPoint(f"stop:{point.landmark_id}", "stop", point.s_m, label, point.landmark_id, both)


def _stop_points(ego: EgoView, lights: tuple[BevLight, ...], ctx: MapContext) -> list[StopPoint]:
    points = [
        StopPoint(
            f"light:{lt.landmark_id}", "light", lt.s_m, f"light {lt.landmark_id}", lt.landmark_id
        )
        for lt in ctx.lights
    ]
    for sign in ctx.signs:
        if sign.sign_type in (SignType.STOP, SignType.YIELD):
            kind = "stop" if sign.sign_type is SignType.STOP else "yield"
            ident = sign.landmark_id if sign.landmark_id is not None else f"@{sign.s_m:.0f}"
            points.append(
                StopPoint(f"{kind}:{ident}", kind, sign.s_m, sign.label(), sign.landmark_id)
            )
    # Perceived lights with no stop line on the map route (maps without signals).
    if not ctx.lights:
        for light in lights:
            if light.distance_m > 0:
                s = ego.route_s_m + light.distance_m - PERCEIVED_LIGHT_SETBACK_M
                ident = light.landmark_id if light.landmark_id is not None else "ahead"
                label = f"light at {light.distance_m:.0f} m"
                points.append(StopPoint(f"light:{ident}", "light", s, label, light.landmark_id))
    return sorted(points, key=lambda p: p.s_m)


# --------------------------------------------------------------------------- lights


def _light_state(
    point: StopPoint, lights: tuple[BevLight, ...], here: Here
) -> tuple[LightState, str]:
    """The light's state as remembered (UNKNOWN when stale), and why when not known."""
    memory, time_s, params = here.memory, here.now.scene.timestamp_s, here.now.params
    seen = _match_light(point, lights, here.now.ego)
    mem = memory.lights.get(point.key)
    if seen is not None:
        if mem is None or mem.state is not seen.state:
            # Going on at yellow stays decided through a flicker of doubt; red or
            # green starts afresh.
            keep = mem is not None and mem.committed and seen.state is not LightState.RED
            keep = keep and seen.state is not LightState.GREEN
            mem = memory.lights[point.key] = LightMemory(seen.state, time_s, committed=keep)
        mem.seen_at_s = time_s
    if mem is None:
        return LightState.UNKNOWN, "not seen"
    if time_s - mem.seen_at_s > params.light_stale_s:
        return LightState.UNKNOWN, f"not seen for {time_s - mem.seen_at_s:.1f} s"
    why = {LightState.OFF: "dark", LightState.UNKNOWN: "state unknown"}.get(mem.state, "")
    return mem.state, why


def _light(point: StopPoint, d: float, state: LightState, why: str, here: Here) -> list[Constraint]:
    params, v = here.now.params, here.now.v_mps
    mem = here.memory.lights.get(point.key)
    evidence = (f"light:{point.landmark_id or point.label} {state.value}",)
    if d < -params.stop_margin_m:  # the front is across the line: clear the junction
        return []
    if state is LightState.GREEN:
        here.memory.stops.pop(point.key, None)
        text = f"{point.label} green in {d:.0f} m: proceed"
        return [Constraint(Action.PROCEED, Reason("traffic_light", text, evidence))]
    if state is LightState.RED:
        if mem is not None:
            mem.committed = False
        text = f"{point.label} red: stop at the line in {d:.1f} m"
        return [_stop(point, d, "traffic_light", text, evidence, params)]
    if state is LightState.YELLOW:
        assert mem is not None
        needed = v * v / (2.0 * max(d - params.stop_margin_m, 0.01))
        if mem.committed or needed > params.comfort_decel_mps2:
            mem.committed = True
            text = (
                f"{point.label} yellow in {d:.1f} m at {kmh(v)}: stopping would need "
                f"{needed:.1f} m/s² (> {params.comfort_decel_mps2:g}): dilemma zone, proceed"
            )
            return [Constraint(Action.PROCEED, Reason("traffic_light", text, evidence))]
        text = f"{point.label} yellow in {d:.1f} m: can stop at {needed:.1f} m/s², stop"
        return [_stop(point, d, "traffic_light", text, evidence, params)]
    if mem is not None and mem.committed:
        text = f"{point.label} {why} after going on at yellow: proceed"
        return [Constraint(Action.PROCEED, Reason("traffic_light", text, evidence))]
    point = StopPoint(
        point.key, "light", point.s_m, f"{point.label} ({why}: all-way stop)", point.landmark_id
    )
    return _sign_stop(point, d, here, "traffic_light", evidence)


def _match_light(point: StopPoint, lights: tuple[BevLight, ...], ego: EgoView) -> BevLight | None:
    if point.landmark_id is not None:
        for light in lights:
            if light.landmark_id == point.landmark_id:
                return light
    # Unlabelled lights: the one nearest the stop line, in front of the car.
    ahead = point.s_m - ego.route_s_m
    best = None
    for light in lights:
        if light.landmark_id is not None and light.landmark_id != point.landmark_id:
            continue
        off = abs(light.distance_m - ahead)
        if light.distance_m > 0 and off < LIGHT_MATCH_M and (best is None or off < best[0]):
            best = (off, light)
    return best[1] if best else None


# --------------------------------------------------------------------------- stop and yield


def _sign_stop(
    point: StopPoint,
    d: float,
    here: Here,
    rule: str | None = None,
    evidence: tuple[str, ...] = (),
) -> list[Constraint]:
    params, v, time_s = here.now.params, here.now.v_mps, here.now.scene.timestamp_s
    state = here.memory.stops.setdefault(point.key, StopState())
    if not evidence:
        evidence = point.evidence or (
            (f"landmark:{point.landmark_id}",)
            if point.landmark_id is not None
            else (f"sign:{point.label}",)
        )
    rule = rule or ("yield" if point.kind == "yield" else "stop_sign")
    if state.done:
        if d < -params.stop_margin_m:
            return []
        text = state.done_why or f"{point.label}: done, proceed"
        return [Constraint(Action.PROCEED, Reason(rule, text, evidence))]
    conflicts = crossing_traffic(point.s_m, here)
    waited_out = _waited_out(state, time_s, conflicts, params)
    holding = [] if waited_out else conflicts
    who = ", ".join(c.label() for c in holding)
    with_who = evidence + tuple(f"object:{c.label()}" for c in holding)
    after_wait = " (waited the longest; only standing traffic left)" if conflicts else ""
    if point.kind == "yield":
        if d < -params.stop_margin_m:
            state.done = True
            return []
        if v < params.full_stop_mps and d < params.stop_zone_m and state.stopped_at_s is None:
            state.stopped_at_s = time_s
        if holding:
            text = f"{point.label}: give way to {who}"
            return [_stop(point, d, rule, text, with_who, params, Action.YIELD)]
        cap = braking_speed_mps(max(d, 0.0), params.comfort_decel_mps2, params.yield_speed_mps)
        text = (
            f"{point.label} in {d:.0f} m: no crossing traffic{after_wait}, go on at "
            f"{kmh(params.yield_speed_mps)}"
        )
        return [Constraint(Action.YIELD, Reason(rule, text, evidence), cap)]
    # stop: a full stop first, then proceed when clear
    if state.stopped_at_s is None:
        if v >= params.full_stop_mps or d >= params.stop_zone_m:
            text = f"{point.label}: full stop at the line in {d:.1f} m"
            return [_stop(point, d, rule, text, evidence, params)]
        state.stopped_at_s = time_s
    held = time_s - state.stopped_at_s
    if held >= params.stop_hold_s and not holding:
        state.done = True
        text = f"{point.label}: stopped {held:.1f} s, junction clear{after_wait}, proceed"
        state.done_why = text
        return [Constraint(Action.PROCEED, Reason(rule, text, evidence))]
    text = f"{point.label}: stopped, waiting for {who or 'the full stop'}"
    return [_stop(point, d, rule, text, with_who, params)]


def _waited_out(
    state: StopState, time_s: float, conflicts: list[Conflict], params: RuleParams
) -> bool:
    """After the longest wait, only traffic moving in the junction or about to arrive
    holds the car; standing cars and ones of unknown speed no longer do."""
    if state.stopped_at_s is None or time_s - state.stopped_at_s < params.max_wait_s:
        return False
    return not any(
        (c.inside and c.moving) or (c.eta_s < URGENT_ETA_S and c.closing_mps > URGENT_CLOSING_MPS)
        for c in conflicts
    )


def _stop(
    point: StopPoint,
    d: float,
    rule: str,
    text: str,
    evidence: tuple[str, ...],
    params: RuleParams,
    action: Action = Action.STOP,
) -> Constraint:
    cap = braking_speed_mps(d - params.stop_margin_m, params.comfort_decel_mps2)
    return Constraint(action, Reason(rule, text, evidence), cap, point.s_m)


@dataclass(frozen=True, slots=True)
class Conflict:
    ob: RouteObject
    inside: bool  # within conflict_radius_m of the junction centre
    moving: bool  # known to move; False when its speed is unknown
    closing_mps: float  # towards the junction centre
    eta_s: float  # until it reaches the conflict circle (0 inside, inf when not closing)

    def label(self) -> str:
        return self.ob.label()


def crossing_traffic(line_s_m: float, here: Here) -> list[Conflict]:
    """Road users that would meet the car in the junction after ``line_s_m``: inside
    it, or arriving within ``yield_gap_s``. Traffic in the car's own lane (leaders,
    followers) is the following rule's business."""
    params, ego = here.now.params, here.now.ego
    centre = _junction_centre(line_s_m, here.now.context)
    out = []
    for ob in here.now.objects:
        if ob.obj.object_class not in (ObjectClass.VEHICLE, ObjectClass.UNKNOWN):
            continue
        if abs(ob.lateral_m) < params.lane_half_width_m:
            continue  # in our lane: a leader or a follower
        pos = ego.pose.transform_points(ob.obj.position_m[None, :])[0][:2]
        rel = pos - centre
        dist = float(np.linalg.norm(rel))
        inside = dist < params.conflict_radius_m
        if not ob.velocity_known:
            if inside:
                out.append(Conflict(ob, True, False, 0.0, 0.0))
            continue
        vel = ego.pose.rotation[:2, :2] @ ob.obj.velocity_mps[:2]
        closing = -float(rel @ vel) / max(dist, 1e-6)
        moving = float(np.linalg.norm(vel)) > 0.5
        eta = (
            0.0
            if inside
            else ((dist - params.conflict_radius_m) / closing if closing > 0.5 else float("inf"))
        )
        if (inside and moving) or (not inside and eta < params.yield_gap_s):
            out.append(Conflict(ob, inside, moving, closing, eta))
    return out


def _junction_centre(line_s_m: float, ctx: MapContext) -> np.ndarray:
    for span in ctx.junctions:
        if span.s_from_m >= line_s_m - 5.0 and span.s_from_m <= line_s_m + 30.0:
            mid, _ = ctx.path.at((span.s_from_m + span.s_to_m) / 2.0)
            return mid[:2]
    ahead, _ = ctx.path.at(line_s_m + 8.0)
    return ahead[:2]
