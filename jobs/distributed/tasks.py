"""``nps.store_job(store, job)``: one job of one store, as ``nps run`` would run it.

The job goes through :func:`jobs.runtime.runner.run_job`, so it takes the same per-store lock
(a PostgreSQL advisory lock) and writes the same ``job_runs`` row. Then, by outcome:

* locked: another delivery or an ``nps run`` is doing it; nothing to add, and the rest of the
  chain is left to the run holding the lock (else a copy Redis handed out after its visibility
  timeout would queue the store's next jobs a second time).
* credentials refused: the store is paused (``queue_state``) and the failure logged; no retry.
* failed on a transient fault (vendor or database unreachable): retried at most
  ``queue.max_retries`` times, waiting what the shared retry policy says (seconds, never days).
* a sync or send whose slice ended: the rest of the store goes back at the end of the queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from celery import Task
from celery.signals import worker_process_init

from connectors.retry import wait_seconds
from jobs.distributed.queue_state import QueueState
from jobs.distributed.slices import SliceEnded, StoreSlice
from jobs.runtime.runner import JobContext, JobOutcome, run_job, utc_now
from jobs.runtime.scheduler import log_outcome
from nps_engine.config import Settings
from nps_engine.store.database import Database

if TYPE_CHECKING:
    from jobs.distributed.queue_app import StoreApp
    from jobs.steps import Work

log = logging.getLogger("nps.worker")


@lru_cache(maxsize=256)
def database_at(url: str, thread: int) -> Database:
    """One engine per database and worker thread (opened where it is used): the job lock hooks
    the engine's sessions while a job runs, which must not meet another thread's job."""
    return Database(url)


@lru_cache(maxsize=4)
def queue_state_at(url: str) -> QueueState:
    from connectors.budgets import connect

    return QueueState(connect(url))


def _fresh_connections(**_: Any) -> None:
    """A forked pool process must not share its parent's sockets."""
    database_at.cache_clear()
    queue_state_at.cache_clear()


worker_process_init.connect(_fresh_connections, weak=False)


def job_work(settings: Settings, database: Database, job: str, store_slice: StoreSlice) -> Work:
    from jobs.steps import (
        alerts_step,
        push_step,
        report_file_step,
        send_step,
        sync_step,
        themes_step,
    )

    now = utc_now()
    steps: dict[str, Callable[[], Work]] = {
        "sync": lambda: sync_step(settings, database, now, progress=store_slice.progress),
        # A big store's send (thousands of emails, each a round-trip to the SMTP relay) stops at
        # the budget too, after a finished invite: the rest stays pending for the next slice.
        "surveys send": lambda: send_step(settings, database, now, progress=store_slice.progress),
        "tags push": lambda: push_step(settings, database, now),
        "themes": lambda: themes_step(settings, database, now),
        "report": lambda: report_file_step(settings, database, now),
        "alerts": lambda: alerts_step(settings, database, now),
    }
    if job not in steps:
        raise ValueError(f"unknown job '{job}'")
    inner = steps[job]()

    def sliced(context: JobContext) -> None:
        try:
            inner(context)
        except SliceEnded:
            context.count("slice_ended")

    return sliced


def run_store_job(task: Task, store: str, job: str, part: int = 0) -> dict[str, Any]:
    app: StoreApp = task.app
    settings = app.nps_stores.get(store)
    if settings is None:
        log.error("%s/%s: no store '%s' in this worker's config; task dropped", store, job, store)
        return {"status": "unknown store"}
    queue = app.nps_queue
    state = queue_state_at(queue.budget_url)
    state.clear_queued(store, job)  # from now on, a new copy may wait behind this one
    pause = state.paused(store)
    if pause is not None:
        log.warning("%s/%s skipped: store paused until %s (%s)", store, job,
                    f"{pause.until:%Y-%m-%d %H:%M} UTC", pause.reason)  # fmt: skip
        return {"status": "paused"}
    store_slice = StoreSlice(queue.store_time_budget_seconds)
    database = database_at(settings.database.url, threading.get_ident())
    outcome = run_job(database, store, job, job_work(settings, database, job, store_slice))
    log_outcome(outcome)
    _after(task, app, state, outcome, store_slice, part)
    return {"status": outcome.status, "counters": outcome.counters}


def _after(
    task: Task,
    app: StoreApp,
    state: QueueState,
    outcome: JobOutcome,
    store_slice: StoreSlice,
    part: int,
) -> None:
    store, job, queue = outcome.store, outcome.job, app.nps_queue
    if outcome.status == "locked":
        task.request.chain = None  # Celery reads it after we return: the next links stay unsent
        return
    if outcome.credentials_refused:
        pause = state.pause(store, "; ".join(outcome.errors[:2]), utc_now(),
                            queue.credentials_pause_minutes)  # fmt: skip
        log.error("%s paused until %s: credentials refused (%s)", store,
                  f"{pause.until:%Y-%m-%d %H:%M} UTC", pause.reason)  # fmt: skip
        return
    if outcome.ok:
        state.resume(store)
    if store_slice.ended:
        from jobs.distributed.queue_app import task_signature

        log.info("%s/%s: time budget spent, the rest goes back in the queue", store, job)
        task_signature(app, store, job, part + 1).apply_async()
        return
    if outcome.transient and task.request.retries < queue.max_retries:
        attempt = task.request.retries + 1
        delay = wait_seconds(attempt, None)
        log.warning("%s/%s will be retried in %.0f s (attempt %d of %d)", store, job, delay,
                    attempt + 1, queue.max_retries + 1)  # fmt: skip
        raise task.retry(countdown=delay, max_retries=queue.max_retries)


def register_tasks(app: StoreApp) -> None:
    app.task(bind=True, name="nps.store_job", acks_late=True)(run_store_job)
