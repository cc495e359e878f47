"""The evaluation suite's table, scored from recorded run folders (never by driving).

Each run folder (``loop/drive.py``) holds ``config.yaml`` (scenario, seed, perception),
``metrics.json`` (the scorer's summary, written with the world's truth at hand) and
``decisions.jsonl`` (one line per step: time, speed, route s, the law's limit, the
decision). ``score_run`` rescores one folder:

- recomputed from ``decisions.jsonl``: distance driven, speeding (time, distance,
  episodes, max and mean excess over the law's limit, as ``evaluation.driving``
  counts it; the values are rounded in the log, so a step within a millimetre per
  second of the tolerance may count differently);
- recomputed from ``metrics.json``'s recorded events: the infraction penalty and the
  driving score (with today's penalty table), infractions per km;
- taken as recorded (``NOT_RECOMPUTED``): route completion (needs the car's lateral
  offset, not logged), the infraction events themselves (collisions, red lights and
  stop signs need other road users, light states and the collision sensor: the
  ground truth, not logged), school-zone speeding (the zone's cap is not logged),
  the stack's latency (a measurement).

``suite_table`` puts rows side by side: one per run, the oracle's score beside the
stack's for each (scenario, seed), and a summary per perception with the issue's
targets (stack mean >= 95, no collision, within 5 points of the oracle).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from evaluation.driving import PENALTY, Excess, Infraction

NOT_RECOMPUTED = (
    "route completion (the car's lateral offset is not logged)",
    "infraction events: collisions, red lights, stop signs (need the ground truth: road "
    "users, light states, collision sensor; not logged)",
    "school-zone speeding (the zone's cap is not logged)",
    "latency (a measurement, taken as recorded)",
)
COLLISIONS = (
    Infraction.COLLISION_PEDESTRIAN,
    Infraction.COLLISION_VEHICLE,
    Infraction.COLLISION_STATIC,
)
TARGET_SCORE = 95.0  # stack's mean driving score, at least
TARGET_GAP = 5.0  # points below the oracle's mean, at most


@dataclass(frozen=True, slots=True)
class RunError:
    """A run that did not leave a complete run folder: what it was and why."""

    scenario: str
    seed: int
    perception: str
    folder: str
    error: str


def score_run(folder: Path) -> dict[str, Any]:
    """One row of the table from a run folder. Raises ``ValueError`` naming what is
    missing or unreadable."""
    folder = Path(folder)
    metrics = _read_json(folder / "metrics.json")
    config = _read_config(folder / "config.yaml")
    steps = _read_decisions(folder / "decisions.jsonl")
    distance_m, speeding = _speeding(steps)
    km = distance_m / 1000.0
    events = metrics.get("infractions", [])
    kinds = [Infraction(e["kind"]) for e in events]
    penalty = float(np.prod([PENALTY[k] for k in kinds])) if kinds else 1.0
    completion = float(metrics["route_completion_pct"])
    counts = {k.value: kinds.count(k) for k in Infraction}
    latency = metrics.get("latency") or {}
    sim_s, wall_s = metrics.get("sim_time_s"), metrics.get("wall_time_s")
    drive = config.get("drive", {})
    return {
        "scenario": metrics.get("scenario") or config["scenario"]["name"],
        "seed": int(metrics.get("seed", config["scenario"].get("seed", 0))),
        "perception": metrics.get("perception") or drive.get("perception"),
        "folder": str(folder),
        "error": None,
        "complete": bool(metrics.get("complete", True)),
        "interrupted": bool(metrics.get("interrupted", False)),
        "finished": bool(metrics.get("finished", False)),
        "driving_score": round(completion * penalty, 2),
        "route_completion_pct": round(completion, 2),
        "infraction_penalty": round(penalty, 4),
        "infraction_counts": counts,
        "collisions": sum(counts[k.value] for k in COLLISIONS),
        "infractions_per_km": round(len(kinds) / km, 2) if km > 0 else None,
        "distance_km": round(km, 4),
        "speeding": speeding.summary(km),
        "school_zone_time_s": (metrics.get("school_zone_violations") or {}).get("time_s"),
        "latency_step_p50_ms": latency.get("step_p50_ms"),
        "latency_step_p95_ms": latency.get("step_p95_ms"),
        "latency_perceive_p95_ms": latency.get("perceive_p95_ms"),
        "real_time_factor": round(sim_s / wall_s, 2) if sim_s and wall_s else None,
        "recorded_driving_score": metrics.get("driving_score"),
    }


def error_row(err: RunError) -> dict[str, Any]:
    return {
        "scenario": err.scenario,
        "seed": err.seed,
        "perception": err.perception,
        "folder": err.folder,
        "error": err.error,
    }


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict) or "route_completion_pct" not in data:
        raise ValueError(f"{path}: not a drive's metrics")
    return data


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict) or "scenario" not in data:
        raise ValueError(f"{path}: not a drive's config")
    return data


def _read_decisions(path: Path) -> list[tuple[float, float, float | None]]:
    """(time [s], speed [m/s], the law's limit [m/s] or None) per step; a last line cut
    short by a killed writer is left out."""
    out = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise ValueError(f"{path}: missing") from None
    for number, line in enumerate(lines, 1):
        try:
            d = json.loads(line)
            out.append((float(d["time_s"]), float(d["speed_mps"]), d.get("limit_mps")))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            if number == len(lines):
                break
            raise ValueError(f"{path}: line {number} is not a decision") from None
    return out


def _speeding(steps: Sequence[tuple[float, float, float | None]]) -> tuple[float, Excess]:
    """Distance driven [m] and speeding, stepped as ``DrivingMetrics.update`` steps them."""
    excess, distance_m, prev_t = Excess(), 0.0, 0.0
    for t, v, limit in steps:
        dt = max(0.0, t - prev_t)
        prev_t = t
        distance_m += v * dt
        excess.add(v - limit if limit is not None else 0.0, dt, v)
    return distance_m, excess


def suite_table(
    name: str, rows: Sequence[dict[str, Any]], seeds: dict[str, list[int]] | None = None
) -> dict[str, Any]:
    """The suite's JSON: every run, the oracle beside the stack, a summary per perception
    and the targets."""
    rows = sorted(rows, key=lambda r: (r["scenario"], r["seed"], r["perception"] or ""))
    scored = [r for r in rows if r["error"] is None]
    summary: dict[str, Any] = {}
    for perception in sorted({str(r["perception"]) for r in rows}):
        mine = [r for r in rows if r["perception"] == perception]
        ok = [r for r in mine if r["error"] is None]
        km = sum(r["distance_km"] for r in ok)
        infractions = sum(sum(r["infraction_counts"].values()) for r in ok)
        p95 = [r["latency_step_p95_ms"] for r in ok if r["latency_step_p95_ms"] is not None]
        summary[perception] = {
            "runs": len(mine),
            "failed": len(mine) - len(ok),
            "driving_score_mean": _mean([r["driving_score"] for r in ok]),
            "driving_score_min": min((r["driving_score"] for r in ok), default=None),
            "route_completion_pct_mean": _mean([r["route_completion_pct"] for r in ok]),
            "collisions": sum(r["collisions"] for r in ok),
            "infractions": infractions,
            "infractions_per_km": round(infractions / km, 2) if km > 0 else None,
            "speeding_time_s": round(sum(r["speeding"]["time_s"] for r in ok), 2),
            "latency_step_p95_ms_median": round(float(np.median(p95)), 2) if p95 else None,
            "latency_step_p95_ms_max": max(p95, default=None),
        }
    pairs = _pairs(scored)
    return {
        "suite": name,
        "seeds": seeds or _seeds(rows),
        "runs": rows,
        "pairs": pairs,
        "summary": summary,
        "targets": _targets(summary, pairs),
    }


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 2) if values else None


def _seeds(rows: Sequence[dict[str, Any]]) -> dict[str, list[int]]:
    out: dict[str, set[int]] = {}
    for r in rows:
        out.setdefault(r["scenario"], set()).add(r["seed"])
    return {k: sorted(v) for k, v in sorted(out.items())}


def _pairs(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stack's and the oracle's score on the same (scenario, seed)."""
    by_key: dict[tuple[str, int], dict[str, float]] = {}
    for r in rows:
        by_key.setdefault((r["scenario"], r["seed"]), {})[r["perception"]] = r["driving_score"]
    out = []
    for (scenario, seed), scores in sorted(by_key.items()):
        if "stack" in scores and "oracle" in scores:
            gap = round(scores["oracle"] - scores["stack"], 2)
            out.append(
                {
                    "scenario": scenario,
                    "seed": seed,
                    "stack": scores["stack"],
                    "oracle": scores["oracle"],
                    "gap": gap,
                }
            )
    return out


def _targets(summary: dict[str, Any], pairs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    stack, oracle = summary.get("stack"), summary.get("oracle")
    if stack is None or stack["driving_score_mean"] is None:
        return {"judged": False, "why": "no scored stack run"}
    out: dict[str, Any] = {
        "judged": True,
        "stack_mean_at_least_95": stack["driving_score_mean"] >= TARGET_SCORE,
        "no_collisions": stack["collisions"] == 0,
        "no_failed_runs": stack["failed"] == 0,
    }
    if oracle is not None and oracle["driving_score_mean"] is not None and pairs:
        stack_mean = float(np.mean([p["stack"] for p in pairs]))
        oracle_mean = float(np.mean([p["oracle"] for p in pairs]))
        out["gap_to_oracle"] = round(oracle_mean - stack_mean, 2)
        out["within_5_of_oracle"] = oracle_mean - stack_mean <= TARGET_GAP
    return out


def markdown(table: dict[str, Any], not_recomputed: Sequence[str] = ()) -> str:
    """The table for people: summary, stack beside oracle, every run, errors."""
    lines = [f"# Suite `{table['suite']}`", ""]
    lines += [
        "| perception | runs | failed | driving score (mean / min) | route % | collisions "
        "| infractions / km | speeding s | step p95 ms (median / max) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for perception, s in table["summary"].items():
        lines.append(
            f"| {perception} | {s['runs']} | {s['failed']} | {_f(s['driving_score_mean'])} / "
            f"{_f(s['driving_score_min'])} | {_f(s['route_completion_pct_mean'])} | "
            f"{s['collisions']} | {_f(s['infractions_per_km'])} | {_f(s['speeding_time_s'])} | "
            f"{_f(s['latency_step_p95_ms_median'])} / {_f(s['latency_step_p95_ms_max'])} |"
        )
    targets = table["targets"]
    if targets.get("judged"):
        said = ", ".join(f"{k}: {v}" for k, v in targets.items() if k != "judged")
        lines += ["", f"Targets: {said}."]
    if table["pairs"]:
        lines += [
            "",
            "| scenario | seed | stack | oracle | gap |",
            "| --- | --- | --- | --- | --- |",
        ]
        for p in table["pairs"]:
            lines.append(
                f"| {p['scenario']} | {p['seed']} | {_f(p['stack'])} | {_f(p['oracle'])} "
                f"| {_f(p['gap'])} |"
            )
    lines += [
        "",
        "| scenario | seed | perception | driving score | route % | infractions | per km "
        "| speeding s (max over km/h) | step p50 / p95 ms | real-time factor | error |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in table["runs"]:
        if r["error"] is not None:
            error = " ".join(str(r["error"]).split()).replace("|", "/")
            lines.append(
                f"| {r['scenario']} | {r['seed']} | {r['perception']} | failed | | | | | | "
                f"| {error} |"
            )
            continue
        kinds = ", ".join(f"{k} {n}" for k, n in r["infraction_counts"].items() if n) or "none"
        sp = r["speeding"]
        lines.append(
            f"| {r['scenario']} | {r['seed']} | {r['perception']} | {_f(r['driving_score'])} "
            f"| {_f(r['route_completion_pct'])} | {kinds} | {_f(r['infractions_per_km'])} "
            f"| {_f(sp['time_s'])} ({_f(sp['max_over_kmh'])}) "
            f"| {_f(r['latency_step_p50_ms'])} / {_f(r['latency_step_p95_ms'])} "
            f"| {_f(r['real_time_factor'])} | {_run_note(r)} |"
        )
    if not_recomputed:
        lines += ["", "Rescored from the run folders; taken as recorded, not recomputed:"]
        lines += [f"- {what}" for what in not_recomputed]
    return "\n".join(lines) + "\n"


def _run_note(row: dict[str, Any]) -> str:
    if row.get("interrupted"):
        return "interrupted: scored up to where it stopped"
    if not row.get("complete", True):
        return "incomplete: metrics of its last whole second"
    return ""


def _f(value: object) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
