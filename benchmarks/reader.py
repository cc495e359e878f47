"""``roadmind bench reader``: the sign reader's speed.

- crops: the dual encoder on batches of crops (ms per crop), and one OCR call of each
  kind (a speed-limit value, a plate's lines);
- in the loop: the perception stack driving a scenario with signs, with the reader and
  without it in turns, the same steps; milliseconds per step inside the stack, the
  difference, and the time of the reads themselves per step (what the reader costs,
  free of the machine's drift between drives).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from benchmarks.timing import cpu_count, cpu_name, timing_ms
from loop.rollout import rollout
from loop.stack import PerceptionStack, known_landmarks, shared_reader
from reasoning.reader_ocr import read_plate, value_likelihoods
from reasoning.sign_reader import SignReader
from roadmind.messages import BevScene, SensorFrame
from sim.scenario import load_scenario
from sim.world import World
from training.reader_data import synth_batch


def _time(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm-up: first calls load models and allocate
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def bench_crops(reader: SignReader, batch: int, repeats: int) -> dict[str, object]:
    classes = list(reader.classes)
    crops, _ = synth_batch(classes, np.arange(batch), 7, reader.encoder.image_px)
    batched = _time(lambda: reader.probabilities(list(crops)), repeats)
    speed = next(c for c in classes if c.ocr == "value")
    values = sorted({round(c.value) for c in classes if c.label == speed.label})
    plate = next(c for c in classes if c.ocr == "text")
    value_crop, _ = synth_batch([speed], np.arange(1), 8, 64)
    plate_crop, _ = synth_batch([plate], np.arange(1), 9, 96)
    return {
        "batch": batch,
        "encoder_ms_per_crop": round(float(np.mean(batched)) / batch, 3),
        "encoder_batch": timing_ms(batched),
        "ocr_value": timing_ms(_time(lambda: value_likelihoods(value_crop[0], values), repeats)),
        "ocr_plate": timing_ms(_time(lambda: read_plate(plate_crop[0]), max(3, repeats // 4))),
    }


class _Timed:
    """The stack with a stopwatch around each call."""

    def __init__(self, stack: PerceptionStack) -> None:
        self.stack = stack
        self.ms: list[float] = []

    def __call__(self, frame: SensorFrame) -> BevScene:
        t0 = time.perf_counter()
        scene = self.stack(frame)
        self.ms.append((time.perf_counter() - t0) * 1000.0)
        return scene


def _stack_ms(scenario_name: str, steps: int, read_signs: bool) -> tuple[float, list[float]]:
    """Mean ms per step inside the stack, and the ms of each sign read."""
    timed: list[_Timed] = []

    def build(world: World) -> _Timed:
        drive_map = world.drive_map()
        marks = known_landmarks([s for s in drive_map.signs if s.on_map], drive_map.lights)
        timed.append(_Timed(PerceptionStack(world.rig, marks, read_signs=read_signs)))
        return timed[-1]

    with rollout(load_scenario(scenario_name), steps, perception=build) as run:
        for _ in run:
            pass
    return float(np.mean(timed[0].ms)), timed[0].stack.times.reader_ms


def bench_reader(
    scenario: str, steps: int, batch: int, repeats: int, rounds: int = 2
) -> dict[str, object]:
    """Crops, then the stack with and without the reader in turns (``rounds`` each,
    after a warm-up drive), so that a slow or busy stretch of the machine hits both."""
    reader = shared_reader()
    crops = bench_crops(reader, batch, repeats)
    _stack_ms(scenario, min(steps, 40), True)  # warm-up: models loaded, caches filled
    with_ms, without_ms, reads = [], [], []
    for _ in range(rounds):
        ms, read = _stack_ms(scenario, steps, True)
        with_ms.append(ms)
        reads.append(read)
        without_ms.append(_stack_ms(scenario, steps, False)[0])
    read_ms = [m for r in reads for m in r]
    return {
        "cpu": cpu_name(),
        "cpus": cpu_count(),
        "model": reader.encoder.name,
        "crops": crops,
        "loop": {
            "scenario": scenario,
            "steps": steps,
            "rounds": rounds,
            "sign_reads_per_drive": len(read_ms) / rounds,
            "read_ms": timing_ms(read_ms) if read_ms else None,
            "reader_ms_per_step": round(sum(read_ms) / (rounds * steps), 2),
            "stack_ms_per_step_with_reader": round(float(np.mean(with_ms)), 2),
            "stack_ms_per_step_without": round(float(np.mean(without_ms)), 2),
            "difference_ms_per_step": round(float(np.mean(with_ms) - np.mean(without_ms)), 2),
        },
    }
