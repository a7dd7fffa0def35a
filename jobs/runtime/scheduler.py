"""The built-in scheduler of ``nps serve``: each job at its interval, one job at a time.

Jobs run one after another in a single thread, so they never overlap inside the process; the
per-store job lock (``jobs.runtime.locks``) keeps them apart from a cron ``nps run`` too.
Which job is due is decided by :func:`due_jobs`, a pure function of the last runs and the clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from jobs.runtime.runner import JobOutcome, run_job
from jobs.steps import (
    Work,
    alerts_step,
    push_step,
    report_file_step,
    send_step,
    sync_step,
    themes_step,
)
from nps_engine.config import Settings
from nps_engine.store.database import Database

log = logging.getLogger("nps.scheduler")


@dataclass(frozen=True)
class Schedule:
    job: str
    every: timedelta
    # Store-local hours in which the job may start (surveys land while people read email).
    between: tuple[time, time] | None = None


def in_window(moment: datetime, window: tuple[time, time] | None, tz: ZoneInfo) -> bool:
    if window is None:
        return True
    local = moment.astimezone(tz).time()
    start, end = window
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # a window across midnight, e.g. 22:00-06:00


def due_jobs(
    schedules: Sequence[Schedule],
    last_started: Mapping[str, datetime | None],
    now: datetime,
    tz: ZoneInfo,
) -> list[str]:
    """The jobs to run now, in the order given: never run, or run at least ``every`` ago."""
    due = []
    for schedule in schedules:
        last = last_started.get(schedule.job)
        if last is not None and now - last < schedule.every:
            continue
        if in_window(now, schedule.between, tz):
            due.append(schedule.job)
    return due


class Scheduler:
    """Runs ``jobs[name]()`` whenever :func:`due_jobs` says so, until ``stop`` is set.

    A job that raises is logged and tried again at its next interval; the loop never dies.
    """

    def __init__(
        self,
        schedules: Sequence[Schedule],
        jobs: Mapping[str, Callable[[], object]],
        tz: ZoneInfo,
        clock: Callable[[], datetime],
        tick_seconds: float = 5.0,
    ) -> None:
        self.schedules, self.jobs, self.tz, self.clock = schedules, jobs, tz, clock
        self.tick_seconds = tick_seconds
        self.last_started: dict[str, datetime | None] = {s.job: None for s in schedules}
        self.stop = threading.Event()

    def run_pending(self) -> list[str]:
        ran = []
        for job in due_jobs(self.schedules, self.last_started, self.clock(), self.tz):
            if self.stop.is_set():
                break
            self.last_started[job] = self.clock()
            try:
                self.jobs[job]()
            except Exception:  # the scheduler must outlive any one job's crash
                log.exception("scheduled job %s failed", job)
            ran.append(job)
        return ran

    def run_forever(self) -> None:
        log.info("scheduler started: %s", ", ".join(s.job for s in self.schedules))
        while not self.stop.is_set():
            self.run_pending()
            self.stop.wait(self.tick_seconds)
        log.info("scheduler stopped")

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="nps-scheduler", daemon=True)
        thread.start()
        return thread


def log_outcome(outcome: JobOutcome) -> None:
    """One line per scheduled run: what it did, or what went wrong (the server's main output)."""
    done = ", ".join(f"{name} {n}" for name, n in sorted(outcome.counters.items()) if n)
    line = f"{outcome.store}/{outcome.job} {outcome.status} in {outcome.seconds:.1f} s"
    if outcome.ok:
        log.info("%s: %s", line, done or "nothing to do")
    else:
        log.warning("%s: %s", line, "; ".join(outcome.errors[:3]) or done)


def store_scheduler(
    settings: Settings, database: Database, clock: Callable[[], datetime]
) -> Scheduler:
    """The schedule of ``nps serve`` for one store, from its ``schedule:`` settings.

    Every job goes through :func:`jobs.runtime.runner.run_job`, so a cron ``nps run`` on the same
    store meets the same locks and simply waits its turn.
    """
    plan = settings.schedule

    def job(
        name: str, step: Callable[[Settings, Database, datetime], Work]
    ) -> Callable[[], object]:
        def run() -> None:
            outcome = run_job(database, settings.store.id, name, step(settings, database, clock()))
            log_outcome(outcome)

        return run

    schedules = [Schedule("sync", timedelta(minutes=plan.sync_minutes))]
    jobs = {"sync": job("sync", sync_step)}
    if settings.email is not None and settings.web is not None:
        schedules.append(
            Schedule("surveys send", timedelta(minutes=plan.send_minutes), plan.send_between)
        )
        jobs["surveys send"] = job("surveys send", send_step)
    schedules.append(Schedule("tags push", timedelta(minutes=plan.push_minutes)))
    jobs["tags push"] = job("tags push", push_step)
    # Before the report, so a report due at the same tick shows the new comments' themes.
    schedules.append(Schedule("themes", timedelta(hours=plan.themes_hours)))
    jobs["themes"] = job("themes", themes_step)
    schedules.append(Schedule("report", timedelta(hours=plan.report_hours)))
    jobs["report"] = job("report", report_file_step)
    if settings.alerts.enabled:
        # Every minute, first in line: an alert is worth most while the answer is fresh.
        schedules.insert(0, Schedule("alerts", timedelta(minutes=1)))
        jobs["alerts"] = job("alerts", alerts_step)
    return Scheduler(schedules, jobs, settings.store.tz, clock)
