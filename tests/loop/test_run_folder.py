"""A run folder belongs to one run: the lock, the refusal of an earlier run's outputs,
``overwrite``; the stop signals; files replaced whole."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from loop.run_folder import LOCK_NAME, RUN_OUTPUTS, claim_run_folder, fresh_run_dir
from loop.stop_signals import StopSignals
from roadmind.atomic import atomic_path, temporary_name, write_text_atomic
from roadmind.errors import UserError


def test_a_held_folder_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    out = tmp_path / "run"
    held = rf"run: in use by another drive \(pid {os.getpid()}\)"
    # flock conflicts between two opens even in one process: the same as another drive
    with claim_run_folder(out), pytest.raises(UserError, match=held):
        claim_run_folder(out)
    claim_run_folder(out).release()  # released on leaving: free again


def test_an_earlier_run_is_refused_or_replaced(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    for name in RUN_OUTPUTS:
        (out / name).write_text("old")
    (out / "notes.txt").write_text("mine")
    leftover = temporary_name(out / "metrics.json")
    leftover.write_text("half")
    with pytest.raises(UserError, match=r"holds an earlier run \(config\.yaml.*--overwrite"):
        claim_run_folder(out)
    assert all((out / name).exists() for name in RUN_OUTPUTS)  # a refusal deletes nothing
    with claim_run_folder(out, overwrite=True):
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "notes.txt"]


def test_a_folder_made_for_a_drive_that_never_started_goes_again(tmp_path: Path) -> None:
    out = tmp_path / "new" / "run"
    claim_run_folder(out).abandon()
    assert not out.exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    claim_run_folder(kept).abandon()
    assert kept.is_dir()  # not made by the claim: stays


def test_out_naming_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(UserError, match="must be a folder"):
        claim_run_folder(tmp_path / "f")


def test_fresh_run_dir_never_reuses_a_folder(tmp_path: Path) -> None:
    base = tmp_path / "20250101-120000_default"
    assert fresh_run_dir(base) == base
    base.mkdir()
    assert fresh_run_dir(base).name == "20250101-120000_default_2"


def test_stop_signals_interrupt_once_then_are_ignored(capfd: pytest.CaptureFixture[str]) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        stop.arm()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
        stop.finishing()
        os.kill(os.getpid(), signal.SIGHUP)  # e.g. a second one during the final writes
        os.kill(os.getpid(), signal.SIGINT)
    assert stop.name == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before  # restored
    assert "SIGINT ignored while the run folder is written" in capfd.readouterr().err


def test_a_signal_while_the_folder_is_set_up_is_held_until_the_loop_starts() -> None:
    with StopSignals() as stop:
        stop.hold()
        os.kill(os.getpid(), signal.SIGHUP)  # held: nothing recorded yet
        with pytest.raises(KeyboardInterrupt):
            stop.arm()
    assert stop.name == "SIGHUP"


def test_a_signal_before_the_drive_aborts_the_setup_at_once() -> None:
    with StopSignals() as stop, pytest.raises(KeyboardInterrupt):  # a world still building
        os.kill(os.getpid(), signal.SIGTERM)
    assert stop.name == "SIGTERM"


def test_atomic_path_leaves_the_old_file_when_the_write_fails(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    write_text_atomic(target, "old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
