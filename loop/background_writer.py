"""One worker thread that runs a drive's slow writes (the sensor log's compression, the
video's drawing and encoding) in order, beside the loop.

The loop hands over finished messages (they are not changed after a step), so the
worker needs no locks. The queue is short: a worker that falls behind makes the loop
wait rather than hold many frames in memory. An exception in the worker is raised in
the loop at its next ``submit`` or at ``close``, so a failing write still stops the
drive with its own error.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

QUEUE_DEPTH = 4  # steps the worker may lag behind the loop


class BackgroundWriter:
    def __init__(self, name: str = "roadmind-writer", depth: int = QUEUE_DEPTH) -> None:
        self._jobs: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = queue.Queue(
            maxsize=depth
        )
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[..., Any], *args: Any) -> None:
        """Run ``job(*args)`` after every job submitted before it."""
        if self._closed:
            raise RuntimeError("BackgroundWriter is closed")
        self._raise()
        self._jobs.put((job, args))

    def close(self) -> None:
        """Wait for every submitted job, then stop the worker; raises a job's error."""
        if not self._closed:
            self._closed = True
            self._jobs.put(None)
            self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            if self._error is not None:
                continue  # after a failure, later writes are dropped, not half-done
            job, args = item
            try:
                job(*args)
            except BaseException as exc:  # handed to the loop's thread
                self._error = exc
