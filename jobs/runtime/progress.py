"""Progress on long work: a rich bar in a terminal, a log line now and then elsewhere.

Jobs call ``progress(task, done, total)`` (``total`` None when unknown, e.g. an incremental sync
that does not know how many pages remain); they never know which kind they were given.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

log = logging.getLogger("nps.progress")


class ProgressFn(Protocol):
    def __call__(self, task: str, done: int, total: int | None = None) -> None: ...


class _LogProgress:
    """At most one line every ``every_seconds`` per task, plus the last one."""

    def __init__(self, every_seconds: float = 10.0) -> None:
        self.every_seconds = every_seconds
        self.last: dict[str, float] = {}

    def __call__(self, task: str, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self.last.get(task, 0.0) < self.every_seconds:
            return
        self.last[task] = now
        log.info("%s: %d%s", task, done, f"/{total}" if total is not None else "")


class _RichProgress:
    def __init__(self, bars: Progress) -> None:
        self.bars = bars
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, task: str, done: int, total: int | None = None) -> None:
        if task not in self.tasks:
            self.tasks[task] = self.bars.add_task(task, total=total)
        self.bars.update(self.tasks[task], completed=done, total=total)


@contextmanager
def progress_reporter(enabled: bool = True) -> Iterator[ProgressFn]:
    if not enabled or not sys.stderr.isatty():
        yield _LogProgress()
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, transient=True, console=Console(stderr=True)) as bars:
        yield _RichProgress(bars)
