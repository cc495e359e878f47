"""Drive a scenario and watch: the one loop every drive, evaluation, benchmark and
render goes through.

    with rollout(scenario, steps=100) as run:      # world built and reset, agent made
        for s in run:                              # s.frame, s.scene, s.step
            ...                                    # break whenever; the world closes

Each item is one physics step: the frame the world gave, the scene the agent decided on
(``perception``: the oracle by default) and what the agent did. The world advances
with that control only when the caller asks for the next item, so a caller that stops
never pays for a step it does not use. The rollout owns the world it builds and closes
it when it closes (end of ``with``, the generator closed, Ctrl-C); a world handed in
(``world=``, reused across a scenario suite to keep its static meshes) stays open.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.agent import Agent, AgentStep
from agent.params import load_agent_config
from loop.oracle import oracle_scene
from loop.stack import PerceptionStack, known_landmarks
from loop.worlds import WORLDS, WorldOptions
from maps.road_area import RoadArea
from reasoning.map_context import MapContext, NoteSpan, build_map_context
from roadmind.clock import Clock
from roadmind.errors import UserError
from roadmind.messages import BevScene, SensorFrame
from roadmind.rates import PHYSICS_HZ
from roadmind.units import kmh_to_mps
from sim.scenario import Scenario
from sim.world import World

if TYPE_CHECKING:
    from fusion.config import FusionConfig

Perceive = Callable[[SensorFrame], BevScene]
MAX_LIDAR_WAIT_S = 10.0  # render: the longest drive past --steps for a LiDAR scan [s]


def _oracle(world: World) -> Perceive:
    lines = {light.light_id: light.stop_lines for light in world.drive_map().lights}
    return functools.partial(oracle_scene, light_lines=lines)


def stack_for(world: World, fusion: FusionConfig | None = None) -> PerceptionStack:
    """The perception stack for a world just reset: its rig, the map's signs and lights
    to match against (scenario-added signs are not on the map) and its roads."""
    drive_map = world.drive_map()
    signs = [s for s in drive_map.signs if s.on_map]
    return PerceptionStack(
        world.rig,
        known_landmarks(signs, drive_map.lights),
        fusion=fusion,
        road_area=RoadArea(drive_map.carla_map),
    )


# Perception modes by name, each built for the world it will see.
PERCEPTION: dict[str, Callable[[World], Perceive]] = {"oracle": _oracle, "stack": stack_for}


def route_context(world: World) -> MapContext:
    """What the car knows from the map along its route (not the scenario's extra signs)."""
    drive_map = world.drive_map()
    notes = [NoteSpan(n.road, n.s_from_m, n.s_to_m, n.text) for n in world.scenario.notes]
    return build_map_context(drive_map.carla_map, drive_map.route, notes)


def make_agent(world: World) -> Agent:
    """The agent for a world just reset: route context, start clock, car size."""
    scenario = world.scenario
    config = load_agent_config()  # configs/agent.yaml; the scenario and world override
    params = config.rules.model_copy(
        update={
            "cruise_speed_mps": kmh_to_mps(scenario.ego.cruise_speed_kmh),
            "ego_half_length_m": float(world.drive_map().ego_extent_m[0]),
        }
    )
    clock = Clock.parse(scenario.start_clock, scenario.weekday)
    return Agent(
        route_context(world), clock, params, config.car, config.longitudinal, config.pursuit
    )


def scenario_steps(scenario: Scenario, duration_s: float | None = None) -> int:
    """Physics steps in ``duration_s`` (default: the scenario's length)."""
    return round((duration_s or scenario.duration_s) * PHYSICS_HZ)


@dataclass(frozen=True, slots=True)
class RolloutStep:
    """One physics step: ``index`` 0 is the frame the reset gave."""

    index: int
    frame: SensorFrame
    scene: BevScene  # what the agent decided on
    step: AgentStep
    decision_ms: float  # Agent.step alone
    perceive_ms: float = 0.0  # the perception (oracle or stack) on this frame


@dataclass
class Rollout:
    """The world, agent and perception of one scenario run; iterate it for the steps.
    Build it with ``rollout()``."""

    world: World
    agent: Agent
    perceive: Perceive
    steps: int | None  # frames to yield; None: until the caller stops
    owns_world: bool
    _first: SensorFrame | None = field(default=None, repr=False)
    _closed: bool = field(default=False, repr=False)

    def __enter__(self) -> Rollout:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.owns_world and not self._closed:
            self._closed = True
            self.world.close()

    def __iter__(self) -> Iterator[RolloutStep]:
        if self._first is None:
            raise RuntimeError("a rollout runs once; make a new one to drive again")
        frame, self._first = self._first, None
        index = 0
        try:
            while True:
                t0 = time.perf_counter()
                scene = self.perceive(frame)
                t1 = time.perf_counter()
                step = self.agent.step(frame.ego, scene)
                decision_ms = (time.perf_counter() - t1) * 1000.0
                yield RolloutStep(index, frame, scene, step, decision_ms, (t1 - t0) * 1000.0)
                index += 1
                if self.steps is not None and index >= self.steps:
                    return
                frame = self.world.step(step.control)
        finally:  # early break, Ctrl-C or the end: a world we built is released
            self.close()


def rollout(
    scenario: Scenario,
    steps: int | None = None,
    *,
    perception: str | Callable[[World], Perceive] = "oracle",
    world: World | None = None,
    options: WorldOptions | None = None,
    backend: str = "embedded",
) -> Rollout:
    """Build (or take) a world, reset it to ``scenario``, make the agent and its
    perception; ``steps`` frames are yielded (None: as many as the caller takes).

    perception: a key of ``PERCEPTION`` or a factory ``world -> perceive``.
    world: an open world to reuse (the caller closes it); otherwise one is built from
    ``WORLDS[backend](options)`` and closed with the rollout.
    """
    if isinstance(perception, str):
        if perception not in PERCEPTION:
            raise ValueError(
                f"perception {perception!r} is not available; choose from {', '.join(PERCEPTION)}"
            )
        perception = PERCEPTION[perception]
    owns = world is None
    if world is None:
        if backend not in WORLDS:
            raise ValueError(
                f"backend {backend!r} is not available; choose from {', '.join(WORLDS)}"
            )
        world = WORLDS[backend](options or WorldOptions())
    try:
        first = world.reset(scenario)
        run = Rollout(world, make_agent(world), perception(world), steps, owns, first)
    except BaseException:
        if owns:
            world.close()
        raise
    return run


def frames_at(
    scenario: Scenario, steps: int, options: WorldOptions | None = None
) -> tuple[SensorFrame, SensorFrame | None]:
    """The frame after ``steps`` oracle-driven steps, and the first frame from there on
    with LiDAR scans (slower LiDARs skip physics steps); None when the rig has none.
    A rig whose fastest LiDAR scans less often than every ``MAX_LIDAR_WAIT_S`` is refused
    when the scan would have to be waited for (``steps`` not on its period), and the
    wait never runs past one period."""
    with rollout(scenario, options=options) as run:
        lidars = run.world.rig.lidars
        period = max(1, round(PHYSICS_HZ / max(ld.rate_hz for ld in lidars))) if lidars else 1
        if lidars and steps % period and period > MAX_LIDAR_WAIT_S * PHYSICS_HZ:
            rates = ", ".join(f"{ld.name!r} {ld.rate_hz:g} Hz" for ld in lidars)
            raise UserError(
                f"the rig's LiDARs ({rates}) scan every {period / PHYSICS_HZ:g} s: the first "
                f"scan after step {steps} would take up to that long to reach (limit "
                f"{MAX_LIDAR_WAIT_S:g} s); raise rate_hz or render at --steps 0"
            )
        first: SensorFrame | None = None
        for s in run:
            if s.index < steps:
                continue
            if first is None:
                first = s.frame
                if not lidars:
                    return first, None
            if s.frame.lidars:
                return first, s.frame
            if s.index >= steps + period:
                raise RuntimeError(f"no LiDAR scan in the {period} steps after step {steps}")
    raise AssertionError("a rollout without a step limit ends only when the caller stops")
