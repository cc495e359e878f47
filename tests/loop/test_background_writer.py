"""The drive's background writer keeps the order of its jobs and hands their errors to
the loop."""

from __future__ import annotations

import threading

import pytest

from loop.background_writer import BackgroundWriter


def test_jobs_run_in_order_on_another_thread() -> None:
    done: list[tuple[int, str]] = []
    writer = BackgroundWriter(depth=2)
    for i in range(50):
        writer.submit(lambda i=i: done.append((i, threading.current_thread().name)))
    writer.close()
    assert [i for i, _ in done] == list(range(50))
    assert {name for _, name in done} == {"roadmind-writer"}


def test_an_error_reaches_the_loop_and_later_jobs_are_dropped() -> None:
    done: list[int] = []
    writer = BackgroundWriter()

    def fail() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):  # at the next submit or at close
        writer.submit(fail)
        writer.submit(done.append, 1)
        writer.close()
    writer.close()
    assert done == []
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(done.append, 2)
