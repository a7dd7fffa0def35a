"""The Celery app of nps-loop: one task, ``nps.store_job(store, job)``, and a queue per job.

Delivery settings, and why:

* ``acks_late`` + ``task_reject_on_worker_lost``: a task is acknowledged only when it has run;
  a worker that dies mid-task (SIGKILL, machine lost) gives it back to the broker, and another
  worker runs it. Every job is idempotent (cursors, claimed invites, diff pushes, follow-up
  reconciliation), and the per-store job lock keeps two deliveries of one job from overlapping.
* ``worker_prefetch_multiplier = 1``: a worker holds no task it is not running, so a busy
  worker never sits on the queue.
* Redis ``visibility_timeout``: how long Redis waits before handing a taken, unacknowledged task
  to another worker: the store time budget plus 30 s (``QueueSettings.visibility_timeout_seconds``
  says why), so a killed worker's task runs again within minutes. RabbitMQ gives a dead worker's
  tasks back as soon as its connection drops.
* No result backend: outcomes are in ``job_runs`` (``nps status``, ``nps stores``).
* A queue per job (``nps.sync``, ``nps.send``, ``nps.push``, ``nps.report``, ``nps.alerts``):
  ``nps status`` shows the depth of each, and ``nps worker --queues`` can dedicate workers to one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from celery import Celery, chain
from kombu.entity import Exchange, Queue

from jobs.distributed.queue_state import QueueState
from nps_engine.config import Settings
from nps_engine.config.queue import QueueSettings

TASK_NAME = "nps.store_job"
# job name (as in job_runs and `nps status`) -> its queue
QUEUES = {
    "sync": "nps.sync",
    "surveys send": "nps.send",
    "tags push": "nps.push",
    "report": "nps.report",
    "alerts": "nps.alerts",
    "themes": "nps.themes",  # CPU-heavy (the embedding model): kept apart from sync and push
}
SHORT_NAMES = {
    "sync": "sync",
    "send": "surveys send",
    "push": "tags push",
    "report": "report",
    "alerts": "alerts",
    "themes": "themes",
}


class StoreApp(Celery):  # type: ignore[misc]
    """Celery plus the stores its workers may run (from the worker's config file)."""

    nps_stores: dict[str, Settings]
    nps_queue: QueueSettings


def queue_settings(stores: Sequence[Settings]) -> QueueSettings:
    """The one ``queue:`` of a config (every store must share the broker)."""
    chosen = {s.queue for s in stores if s.queue is not None}
    if not chosen:
        raise ValueError("queue: is not configured (broker_url, ...): see docs/scaling.md")
    urls = {q.broker_url.get_secret_value() for q in chosen}
    if len(urls) > 1 or (len(chosen) != 1 and any(s.queue is None for s in stores)):
        raise ValueError("queue.broker_url: every store must use the same queue settings")
    return next(iter(chosen))


def make_app(stores: Sequence[Settings]) -> StoreApp:
    queue = queue_settings(stores)
    app = StoreApp("nps", broker=queue.broker_url.get_secret_value(), set_as_current=False)
    budget = queue.store_time_budget_seconds
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        task_serializer="json",
        accept_content=["json"],
        # Each queue its own direct exchange and key: a message goes to exactly one queue.
        task_queues=[_queue(name) for name in QUEUES.values()],
        task_default_queue=QUEUES["sync"],
        task_create_missing_queues=False,
        # A job past twice its budget is stuck (a hung vendor): kill it (prefork pool).
        task_time_limit=2 * budget,
        broker_transport_options={
            "visibility_timeout": queue.visibility_timeout_seconds,
            # Look for tasks of dead workers every 5 s (kombu's default sweep is 100 s).
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_disable_rate_limits=True,
        enable_utc=True,
    )
    app.nps_stores = {s.store.id: s for s in stores}
    app.nps_queue = queue
    from jobs.distributed.tasks import register_tasks  # the job bodies load with the worker

    register_tasks(app)
    return app


def _queue(name: str) -> Queue:
    return Queue(name, Exchange(name, type="direct"), routing_key=name)  # type: ignore[no-untyped-call]


def enqueue(
    app: StoreApp, state: QueueState, store: str, jobs: Iterable[str]
) -> tuple[list[str], list[str]]:
    """Send ``jobs`` of ``store``, in order, as one chain (each starts when the one before has
    run, as in ``nps run``). Jobs already waiting in the queue are left out. Returns (sent,
    already queued)."""
    ttl = 2 * app.nps_queue.visibility_timeout_seconds
    sent: list[str] = []
    waiting: list[str] = []
    for job in jobs:
        (sent if state.mark_queued(store, job, ttl) else waiting).append(job)
    if sent:
        signatures = [task_signature(app, store, job) for job in sent]
        try:
            chain(*signatures).apply_async() if len(signatures) > 1 else signatures[0].apply_async()
        except Exception:
            for job in sent:  # not in the queue after all: the next attempt must not skip them
                state.clear_queued(store, job)
            raise
    return sent, waiting


def task_signature(app: StoreApp, store: str, job: str, part: int = 0) -> Any:
    return app.signature(
        TASK_NAME, args=(store, job), kwargs={"part": part}, queue=QUEUES[job], immutable=True
    )
