"""Route planning on the lane graph (CARLA's topology) with networkx; random lane
walks for road users without a route."""

from __future__ import annotations

import carla
import networkx as nx
import numpy as np

from maps.lane_path import STEP_M
from roadmind.errors import UserError

LaneKey = tuple[int, int, int]  # road, section, lane


def _key(wp: carla.Waypoint) -> LaneKey:
    return (wp.road_id, wp.section_id, wp.lane_id)


def _describe(wp: carla.Waypoint) -> str:
    return f"road {wp.road_id} lane {wp.lane_id} s {wp.s:.1f}"


class RoutePlanner:
    """Nodes are lane segments; CARLA's topology pairs each segment's entry with the
    entry of a segment it flows into, so each pair is an edge weighted by the first
    segment's length."""

    def __init__(self, carla_map: carla.Map) -> None:
        self.graph = nx.DiGraph()
        self.entry: dict[LaneKey, carla.Waypoint] = {}
        for a, b in carla_map.get_topology():
            ka, kb = _key(a), _key(b)
            self.entry.setdefault(ka, a)
            self.entry.setdefault(kb, b)
            length = STEP_M * (1 + len(a.next_until_lane_end(STEP_M)))
            self.graph.add_edge(ka, kb, weight=length)

    def plan(self, start: carla.Waypoint, goal: carla.Waypoint, field: str) -> list[carla.Waypoint]:
        """Waypoints every ``STEP_M`` from start to goal along lanes; UserError if none."""
        s_key, g_key = _key(start), _key(goal)
        forward = -1 if start.lane_id > 0 else 1  # lanes with positive ids run against s
        if s_key == g_key and (goal.s - start.s) * forward >= 0:
            return _walk_until(start, goal)
        if s_key not in self.graph or g_key not in self.graph:
            where = start if s_key not in self.graph else goal
            raise UserError(f"{field}: no drivable lane at {_describe(where)}")
        # Leave the start lane first: a goal behind the start on the same lane needs a loop.
        best: list[LaneKey] | None = None
        for nxt in self.graph.successors(s_key):
            try:
                tail = nx.shortest_path(self.graph, nxt, g_key, weight="weight")
            except nx.NetworkXNoPath:
                continue
            cost = nx.path_weight(self.graph, [s_key, *tail], weight="weight")
            if best is None or cost < nx.path_weight(self.graph, best, weight="weight"):
                best = [s_key, *tail]
        if best is None:
            raise UserError(
                f"{field}: no drivable path from {_describe(start)} to {_describe(goal)} "
                "(lanes only run one way; check the lane sign and the goal's side of the road)"
            )
        keys = best
        wps = start.next_until_lane_end(STEP_M)
        route = [start, *wps]
        for key in keys[1:-1]:
            entry = self.entry[key]
            route += [entry, *entry.next_until_lane_end(STEP_M)]
        route += _walk_until(self.entry[g_key], goal)
        return route


def _walk_until(start: carla.Waypoint, goal: carla.Waypoint) -> list[carla.Waypoint]:
    wps = [start]
    remaining = abs(goal.s - start.s)
    while remaining > STEP_M:
        nxt = [w for w in wps[-1].next(STEP_M) if _key(w) == _key(start)]
        if not nxt:
            break
        wps.append(nxt[0])
        remaining -= STEP_M
    wps.append(goal)
    return wps


def random_lane_walk(
    start: carla.Waypoint, length_m: float, rng: np.random.Generator, step_m: float = STEP_M
) -> list[carla.Waypoint]:
    """Follow the lane for ``length_m``, picking a random branch at each fork."""
    wps = [start]
    travelled = 0.0
    while travelled < length_m:
        nxt = wps[-1].next(step_m)
        if not nxt:
            break
        wps.append(nxt[int(rng.integers(len(nxt)))] if len(nxt) > 1 else nxt[0])
        travelled += step_m
    return wps
