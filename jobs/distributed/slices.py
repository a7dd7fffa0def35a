"""A task's slice of one store: the store time budget, ended at the next committed page.

Jobs report progress after each page they commit (sync: each page with its cursor; send: each
invite it finished). The progress function given to a sliced job raises :class:`SliceEnded` there
once the budget is spent, so the job stops where a crash would have left it safe, and the task
puts the rest of the store's work back at the end of the queue: a store with a year to backfill,
or thousands of surveys to mail, takes turns with the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class SliceEnded(Exception):
    """The store's time budget for this task is spent; the rest waits for the next slice."""


class StoreSlice:
    def __init__(self, budget_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.deadline = clock() + budget_seconds
        self.ended = False

    def progress(self, task: str, done: int, total: int | None = None) -> None:
        if self.clock() >= self.deadline:
            self.ended = True
            raise SliceEnded(f"{task}: time budget spent after {done}")
