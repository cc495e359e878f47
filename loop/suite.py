"""The evaluation suite: every (scenario, seed, perception) of a suite file driven in
its own process, each into a normal run folder, then one table scored from the folders
(``evaluation/suite_table.py``).

    DIR/runs/<scenario>-s<seed>-<perception>/   config.yaml, metrics.json, decisions.jsonl...
    DIR/suite.json, DIR/suite.md                  the table

Runs go to a process pool (``concurrent.futures`` with spawn: no state is forked from
a parent that has loaded models) or, with ``ray``, to a Ray cluster
(``ray.init(address)``; Ray schedules, we only submit and collect). A run that fails
(an exception in the drive, a crashed worker) becomes a row with its error; the others
go on. ``rescore(DIR)`` builds the table again from the folders without driving.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import active_children, get_context
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from evaluation.suite_table import NOT_RECOMPUTED, RunError, error_row, markdown, score_run
from evaluation.suite_table import suite_table as build_table
from loop.run_folder import RUN_OUTPUTS
from roadmind.atomic import write_text_atomic
from roadmind.config import StrictModel, load_model
from roadmind.errors import UserError
from roadmind.progress import progress as progress_bar
from roadmind.resources import configs_dir

SUITES_DIR = configs_dir() / "suites"
PerceptionName = Literal["stack", "oracle"]
TABLE_NAMES = ("suite.json", "suite.md")
SMALL_FILES = ("config.yaml", "metrics.json", "decisions.jsonl")  # what a remote run sends back


class SuiteScenario(StrictModel):
    """One scenario of a suite: a name in configs/scenarios or a path (relative to the
    suite file), with its own seeds or the suite's."""

    scenario: str
    seeds: list[int] | None = Field(None, min_length=1)
    duration_s: float | None = Field(None, gt=0.0)


class Suite(StrictModel):
    """A suite file (``configs/suites/NAME.yaml``)."""

    name: str = Field(min_length=1)
    description: str = ""
    perception: list[PerceptionName] = Field(["stack", "oracle"], min_length=1)
    seeds: list[int] = Field([0], min_length=1)  # for scenarios that name none
    rig: str | None = None  # a rig name or path for every run; None: each scenario's own
    duration_s: float | None = Field(None, gt=0.0)  # None: each scenario's own
    video: bool = False
    scenarios: list[SuiteScenario | str] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class RunTask:
    """One drive of a suite, all plain values (it crosses process and machine borders)."""

    scenario: str  # a name or an absolute path
    seed: int
    perception: str
    rig: str | None
    duration_s: float | None
    video: bool
    out: str
    overwrite: bool = False
    send_files: bool = False  # return the small files (a remote node's disk is not ours)

    @property
    def label(self) -> str:
        return f"{Path(self.scenario).stem} seed {self.seed} {self.perception}"


@dataclass
class RunOutcome:
    task: RunTask
    error: str | None = None
    wall_s: float = 0.0
    files: dict[str, str] = field(default_factory=dict)


def resolve_suite_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = SUITES_DIR / f"{name_or_path}.yaml"
    return path


def load_suite(name_or_path: str) -> tuple[Suite, Path]:
    path = resolve_suite_path(name_or_path)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SUITES_DIR.glob("*.yaml")))
        raise UserError(f"{path}: suite file not found (project suites: {known})")
    return load_model(Suite, path), path


def suite_tasks(
    suite: Suite,
    source: Path,
    out: Path,
    perception: Sequence[str] | None = None,
    overwrite: bool = False,
) -> list[RunTask]:
    """Every run of the suite, each scenario checked to load first (a bad name or file
    is refused before any drive starts)."""
    from sim.rig import resolve_rig_path
    from sim.scenario import load_scenario, resolve_scenario_path

    modes = list(perception or suite.perception)
    rig = None
    if suite.rig is not None:
        rig = str(resolve_rig_path(suite.rig, source.parent).resolve())
    tasks = []
    for entry in suite.scenarios:
        item = SuiteScenario(scenario=entry) if isinstance(entry, str) else entry
        path = resolve_scenario_path(item.scenario)
        if not path.is_absolute() and not path.is_file() and (source.parent / path).is_file():
            path = source.parent / path
        scenario = load_scenario(str(path))  # ConfigError (a UserError) names the file
        for seed in item.seeds or suite.seeds:
            for mode in modes:
                folder = out / "runs" / f"{scenario.name}-s{seed}-{mode}"
                tasks.append(
                    RunTask(
                        str(path.resolve()),
                        seed,
                        mode,
                        rig,
                        item.duration_s or suite.duration_s,
                        suite.video,
                        str(folder.resolve()),
                        overwrite,
                    )
                )
    names = [t.out for t in tasks]
    if len(set(names)) != len(names):
        raise UserError(f"{source}: a scenario and seed is listed twice")
    return tasks


def check_out_dir(out: Path, tasks: Sequence[RunTask], overwrite: bool) -> None:
    """Refuse, before any drive, a folder holding an earlier suite unless ``overwrite``."""
    if overwrite:
        return
    old = [out / n for n in TABLE_NAMES if (out / n).exists()]
    old += [Path(t.out) for t in tasks if any((Path(t.out) / n).exists() for n in RUN_OUTPUTS)]
    if old:
        raise UserError(
            f"{out}: holds an earlier suite ({old[0]}{' and more' if len(old) > 1 else ''}); "
            "pass --overwrite to replace it or pick another --out"
        )


def run_task(task: RunTask) -> RunOutcome:
    """Drive one run into its folder (in a worker process or a Ray task). Never raises
    for a failed drive: the outcome carries the error."""
    start = time.perf_counter()
    try:
        from loop.drive import DriveOptions, drive
        from sim.rig import load_rig
        from sim.scenario import load_scenario

        scenario = load_scenario(task.scenario).model_copy(update={"seed": task.seed})
        options = DriveOptions(
            perception=task.perception,
            duration_s=task.duration_s,
            video=task.video,
            progress=False,
            rig=load_rig(Path(task.rig)) if task.rig else None,
            overwrite=task.overwrite,
        )
        with contextlib.redirect_stdout(sys.stderr):  # the models' load messages
            drive(scenario, Path(task.out), options)
    except Exception as exc:  # reported in the table, not fatal to the suite
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" ({Path(last[0].filename).name}:{last[0].lineno})" if last else ""
        return RunOutcome(task, f"{type(exc).__name__}: {exc}{where}", time.perf_counter() - start)
    files = {}
    if task.send_files:
        files = {n: (Path(task.out) / n).read_text() for n in SMALL_FILES}
    return RunOutcome(task, None, time.perf_counter() - start, files)


def _worker_init(threads: int) -> None:
    """Each worker gets its share of the cores (before torch and the models load)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)


Report = Callable[[RunOutcome], None]


def run_local(tasks: Sequence[RunTask], workers: int, report: Report) -> list[RunOutcome]:
    """``tasks`` in ``workers`` spawned processes; ``report`` is called as each ends.

    A task is handed out only when a worker is free, so nothing waits in the pool's
    queue: on Ctrl-C (which the workers' drives get too, one process group) or SIGTERM
    (passed on to them) the drives under way stop and write their folders, the runs not
    started are reported as not run, and the pool ends."""
    threads = max(1, len(os.sched_getaffinity(0)) // max(1, workers))
    pool = ProcessPoolExecutor(workers, get_context("spawn"), _worker_init, (threads,))
    todo = list(reversed(tasks))
    running: dict[Future[RunOutcome], RunTask] = {}
    outcomes: list[RunOutcome] = []
    terminated = threading.Event()

    def collect(done: Iterable[Future[RunOutcome]]) -> None:
        for future in done:
            task = running.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # the worker died (killed, out of memory, a crash)
                outcome = RunOutcome(task, f"worker process failed: {exc!r}")
            report(outcome)
            outcomes.append(outcome)

    try:
        with _sigterm_as_interrupt(terminated):
            while todo or running:
                while todo and len(running) < workers:
                    task = todo.pop()
                    running[pool.submit(run_task, task)] = task
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                collect(done)
    except KeyboardInterrupt:
        if terminated.is_set():  # Ctrl-C reached the workers too; a SIGTERM only us
            for child in active_children():
                with contextlib.suppress(OSError):
                    os.kill(child.pid or 0, signal.SIGTERM)
        collect(wait(running).done)
        for task in reversed(todo):
            outcome = RunOutcome(task, "not run: the suite was interrupted")
            report(outcome)
            outcomes.append(outcome)
        raise SuiteInterruptedError(outcomes) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return outcomes


class SuiteInterruptedError(Exception):
    """Ctrl-C or SIGTERM during a suite: the outcomes so far (interrupted drives scored
    up to where they stopped, the rest not run)."""

    def __init__(self, outcomes: list[RunOutcome]) -> None:
        super().__init__("the suite was interrupted")
        self.outcomes = outcomes


@contextlib.contextmanager
def _sigterm_as_interrupt(seen: threading.Event | None = None) -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt here (main thread only), as Ctrl-C does, and
    sets ``seen``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if seen is not None:
            seen.set()
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_ray(tasks: Sequence[RunTask], address: str, report: Report) -> list[RunOutcome]:
    """``tasks`` as Ray tasks on the cluster at ``address`` ("local": a Ray instance
    started here). Every node needs roadmind installed; run folders written on another
    node come back as their small files (config, metrics, decisions)."""
    try:
        import ray
    except ImportError:
        raise UserError(
            "--ray needs Ray: pip install -e '.[cluster]' (or pip install ray==2.60.0)"
        ) from None
    started = not ray.is_initialized()
    if started:
        try:
            if address == "local":  # workers find this checkout's packages as we do
                root = str(Path(__file__).resolve().parent.parent)
                path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
                ray.init(
                    include_dashboard=False,
                    log_to_driver=False,
                    runtime_env={"env_vars": {"PYTHONPATH": path}},
                )
            else:
                ray.init(address=address, log_to_driver=False)
        except Exception as exc:
            # Ray raises a bare Exception when its local node does not start in 30 s
            raise UserError(f"--ray {address}: Ray did not start or connect ({exc})") from exc
    remote = ray.remote(num_cpus=1, max_retries=0)(run_task)
    refs = {remote.remote(_sending(t)): t for t in tasks}
    pending = list(refs)
    outcomes = []
    try:
        with _sigterm_as_interrupt():
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        outcome = ray.get(ref)
                    except Exception as exc:  # the task's worker died
                        outcome = RunOutcome(refs[ref], f"Ray task failed: {type(exc).__name__}")
                    _land_files(outcome)
                    report(outcome)
                    outcomes.append(outcome)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
            outcomes.append(RunOutcome(refs[ref], "not run or stopped: the suite was interrupted"))
        raise SuiteInterruptedError(outcomes) from None
    finally:
        if started:
            ray.shutdown()
    return outcomes


def _sending(task: RunTask) -> RunTask:
    from dataclasses import replace

    return replace(task, send_files=True)


def _land_files(outcome: RunOutcome) -> None:
    """Write a remote run's small files here when its folder is not on our disk."""
    folder = Path(outcome.task.out)
    if outcome.error is None and outcome.files and not (folder / "metrics.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in outcome.files.items():
            write_text_atomic(folder / name, text)


def run_suite(
    tasks: Sequence[RunTask],
    name: str,
    out: Path,
    workers: int = 1,
    ray_address: str | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Drive every task, then write and return the table (``out``/suite.json, .md)."""
    out.mkdir(parents=True, exist_ok=True)
    bar = progress_bar(len(tasks), f"suite {name}", "run") if show_progress else None
    failed = 0

    def report(outcome: RunOutcome) -> None:
        nonlocal failed
        failed += outcome.error is not None
        if bar is not None:
            bar.set_postfix_str(f"{failed} failed, last {outcome.task.label}")
            bar.update()

    start = time.perf_counter()
    interrupted = None
    try:
        if ray_address is not None:
            outcomes = run_ray(tasks, ray_address, report)
        else:
            outcomes = run_local(tasks, workers, report)
    except SuiteInterruptedError as stop:
        outcomes, interrupted = stop.outcomes, stop
    finally:
        if bar is not None:
            bar.close()
    table = build_table(name, rows_of(outcomes))
    table["wall_s"] = round(time.perf_counter() - start, 1)
    table["engine"] = f"ray {ray_address}" if ray_address else f"processes x {workers}"
    table["interrupted"] = interrupted is not None
    write_table(out, table)
    if interrupted is not None:
        raise interrupted  # the table of what was done is written
    return table


def rows_of(outcomes: Iterable[RunOutcome]) -> list[dict[str, Any]]:
    rows = []
    for o in outcomes:
        t = o.task
        error = o.error
        if error is None:
            try:
                rows.append(score_run(Path(t.out)))
                continue
            except ValueError as exc:
                error = f"run folder unreadable: {exc}"
        name = Path(t.scenario).stem
        rows.append(error_row(RunError(name, t.seed, t.perception, t.out, error)))
    return rows


def rescore(out: Path) -> dict[str, Any]:
    """The table again from the run folders under ``out`` (or ``out`` itself, one run),
    without driving; writes ``suite_rescored.json`` and ``.md`` beside them."""
    if not out.is_dir():
        raise UserError(f"{out}: not a folder of runs")
    runs = out / "runs" if (out / "runs").is_dir() else out
    folders = sorted(p.parent for p in runs.glob("*/config.yaml"))
    if (runs / "config.yaml").is_file():
        folders = [runs]
    if not folders:
        raise UserError(f"{out}: no run folders in it (none has a config.yaml)")
    rows = []
    for folder in folders:
        try:
            rows.append(score_run(folder))
        except ValueError as exc:
            name, seed, mode = _guess(folder)
            rows.append(error_row(RunError(name, seed, mode, str(folder), str(exc))))
    name = _suite_name(out)
    table = build_table(name, rows)
    table["rescored"] = True
    table["not_recomputed"] = list(NOT_RECOMPUTED)
    write_table(out, table, stem="suite_rescored", not_recomputed=NOT_RECOMPUTED)
    return table


def _suite_name(out: Path) -> str:
    try:
        return str(json.loads((out / "suite.json").read_text())["suite"])
    except (OSError, ValueError, KeyError, TypeError):
        return out.name


def _guess(folder: Path) -> tuple[str, int, str]:
    """(scenario, seed, perception) from a folder named by the suite."""
    parts = folder.name.rsplit("-", 2)
    if len(parts) == 3 and parts[1].startswith("s") and parts[1][1:].isdigit():
        return parts[0], int(parts[1][1:]), parts[2]
    return folder.name, 0, "?"


def write_table(
    out: Path, table: dict[str, Any], stem: str = "suite", not_recomputed: Sequence[str] = ()
) -> None:
    write_text_atomic(out / f"{stem}.json", json.dumps(table, indent=1) + "\n")
    write_text_atomic(out / f"{stem}.md", markdown(table, not_recomputed))
