"""The embedded world on CARLA's own town maps (../shared/maps beside the checkout)."""

from __future__ import annotations

from roadmind.messages import ObjectClass, VehicleControl
from sim.embedded.world import EmbeddedWorld
from sim.scenario import Scenario


def test_town01_renders_with_its_landmarks(small_rig, carla_town) -> None:
    scenario = Scenario.model_validate(
        {
            "name": "town01",
            "map": str(carla_town("Town01")),
            "seed": 1,
            "ego": {"start": {"road": 15, "lane": -1, "s_m": 150.0}},
            "actors": [{"kind": "vehicle", "start": {"road": 15, "lane": -1, "s_m": 170.0}}],
        }
    )
    with EmbeddedWorld(small_rig) as world:
        frame = world.reset(scenario)
        frame = world.step(VehicleControl())
        static = world.static
    assert static is not None
    assert len(static.signs) >= 20 and len(static.lights) >= 30  # Town01: 22 speed signs, 36 lights
    # CARLA's Speed_30/60/90 signs (written in mph) are km/h signs, as in CARLA
    assert all(sign.value in (30.0, 60.0, 90.0) and sign.unit == "km/h" for sign in static.signs)
    junctions = {light.junction_id for light in static.lights}
    assert len(junctions) >= 8 and all(light.stop_lines for light in static.lights)
    boxes = frame.ground_truth.boxes_2d["front"]
    assert any(b.object_class is ObjectClass.VEHICLE and b.object_id == 1 for b in boxes)
