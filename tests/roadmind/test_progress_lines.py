"""Progress off a terminal is a line every few seconds, never carriage returns (issue 19)."""

from __future__ import annotations

import io

from tqdm import tqdm

from roadmind.progress import LineProgress, progress


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_not_a_terminal_gets_plain_lines_every_interval() -> None:
    out, clock = io.StringIO(), _Clock()
    bar = LineProgress(1000, "datagen", "frame", stream=out, every_s=10.0, clock=clock)
    for _ in range(1000):  # 1000 updates over 25 s: two interval lines and the last
        clock.t += 0.025
        bar.update()
    bar.set_postfix_str("goal reached")
    bar.close()
    bar.close()  # closing twice prints nothing more
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == 3
    assert lines[0] == "datagen: 400/1000 frame (40 %), 40.0 frame/s, 10 s"
    assert lines[-1] == "datagen: 1000/1000 frame (100 %), 40.0 frame/s, 25 s, goal reached"


def test_resumed_work_counts_its_rate_from_where_it_started() -> None:
    out, clock = io.StringIO(), _Clock()
    bar = LineProgress(100, "datagen", "frame", initial=90, stream=out, clock=clock)
    clock.t = 5.0
    bar.update(10)
    bar.close()
    assert out.getvalue() == "datagen: 100/100 frame (100 %), 2.0 frame/s, 5 s\n"


def test_the_kind_follows_the_stream() -> None:
    assert isinstance(progress(10, "x", "step", stream=io.StringIO()), LineProgress)
    bar = progress(10, "x", "step", stream=_Terminal())
    assert isinstance(bar, tqdm)
    bar.close()
