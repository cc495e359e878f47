"""``bench sim --streetscape``: the profile replaces the scenario's and the JSON says so."""

from __future__ import annotations

from benchmarks.sim import bench_sim
from sim.rig import RigConfig


def test_bench_sim_runs_with_and_without_a_streetscape() -> None:
    rig = RigConfig(cameras=[], lidars=[])  # the world's steps, not the sensors', here
    off = bench_sim("default", rig, steps=2, warmup=0)
    urban = bench_sim("default", rig, steps=2, warmup=0, streetscape="urban")
    assert (off["streetscape"], urban["streetscape"]) == ("off", "urban")
    assert urban["static_triangles"] > off["static_triangles"] > 0
    assert urban["steps_per_s"] > 0
