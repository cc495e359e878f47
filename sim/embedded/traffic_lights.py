"""Signal groups with cycle timing: each junction cycles through its phases, one
green at a time, then yellow, then all-red clearance."""

from __future__ import annotations

from maps.landmarks import LightSpec
from roadmind.messages import LightState
from sim.scenario import LightTimingConfig


class LightController:
    def __init__(self, lights: list[LightSpec], timing: LightTimingConfig) -> None:
        self.lights = lights
        self.timing = timing
        self.phases_per_junction: dict[int, int] = {}
        for light in lights:
            count = self.phases_per_junction.get(light.junction_id, 0)
            self.phases_per_junction[light.junction_id] = max(count, light.phase + 1)

    def state(self, light: LightSpec, time_s: float) -> LightState:
        t = self.timing
        slot = t.green_s + t.yellow_s + t.all_red_s
        phases = self.phases_per_junction[light.junction_id]
        cycle = slot * phases
        local = (time_s + t.offset_s) % cycle - light.phase * slot
        if 0.0 <= local < t.green_s:
            return LightState.GREEN
        if t.green_s <= local < t.green_s + t.yellow_s:
            return LightState.YELLOW
        return LightState.RED

    def states(self, time_s: float) -> dict[int, LightState]:
        return {light.light_id: self.state(light, time_s) for light in self.lights}
