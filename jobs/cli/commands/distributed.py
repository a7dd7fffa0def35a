"""``nps worker``, ``nps scheduler``, ``nps stores`` and ``nps run --enqueue`` (``queue:``).

Distributed mode needs the ``queue:`` section and a PostgreSQL store: workers on several machines
share it, and its advisory locks keep one run per store and job, and one active scheduler. Both
are checked before anything starts, as configuration errors (exit 2) naming the key.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from sqlalchemy.engine import make_url

from jobs.cli.console import (
    EXIT_FAILURE,
    CliState,
    fail,
    fail_usage,
    open_database,
    secrets_of,
    state_of,
    stdout,
    store_option,
)
from jobs.runtime import logs
from nps_engine.config import Settings
from nps_engine.config.queue import QueueSettings

if TYPE_CHECKING:  # Celery loads only for the commands that use it
    from jobs.distributed.queue_app import StoreApp
    from jobs.distributed.queue_state import QueueState

log = logging.getLogger("nps.worker")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_command)
    app.command("scheduler")(scheduler_command)
    app.command("stores")(stores_command)


def distributed_stores(state: CliState, wanted: list[str] | None) -> list[Settings]:
    """The selected stores, checked for distributed mode (exit 2 naming the key otherwise)."""
    stores = state.selected(wanted)
    from jobs.distributed.queue_app import queue_settings

    try:
        queue_settings(stores)
    except ValueError as error:
        fail_usage(str(error))
    for settings in stores:
        backend = make_url(settings.database.url).get_backend_name()
        if backend != "postgresql":
            fail_usage(
                f"database.url: distributed mode (queue:) needs PostgreSQL, not {backend} "
                f"(store {settings.store.id}): workers on several machines share the store and "
                "its advisory locks"
            )
    return stores


def _checked_databases(stores: Sequence[Settings]) -> None:
    """Every distinct database answers and is migrated (exit 1 naming it otherwise)."""
    seen: dict[str, Settings] = {}
    for settings in stores:
        seen.setdefault(settings.database.url, settings)
    for settings in seen.values():
        open_database(settings).dispose()


def _server_logs(state: CliState, stores: Sequence[Settings]) -> None:
    """A long-running process's log is its output: INFO by default, Celery's lines through our
    handler (JSON with --json-logs, secrets and emails masked)."""
    verbosity = max(state.verbosity, 1) if state.verbosity >= 0 else -1
    secrets = [secret for settings in stores for secret in secrets_of(settings)]
    logs.configure(verbosity, json_logs=state.json_logs, secrets=secrets)
    ours = logging.getLogger("nps")
    celery_log = logging.getLogger("celery")
    celery_log.handlers[:] = list(ours.handlers)
    celery_log.setLevel(logging.WARNING if verbosity < 2 else logging.INFO)
    celery_log.propagate = False


def worker_command(
    ctx: typer.Context,
    store: list[str] | None = store_option(),
    queues: str = typer.Option(
        "sync,send,push,report,alerts,themes",
        "--queues",
        help="Jobs this worker takes (comma-separated).",
    ),
    concurrency: int | None = typer.Option(
        None, "--concurrency", min=1, help="Jobs at once (queue.worker_concurrency)."
    ),
    pool: str | None = typer.Option(
        None, "--pool", help="prefork, threads or solo (queue.worker_pool)."
    ),
    name: str | None = typer.Option(None, "--name", help="Worker name (default nps-PID@host)."),
) -> None:
    """Run a Celery worker: it takes each store's jobs from the queue and runs them.

    SIGTERM or Ctrl-C: stop taking jobs, finish the ones running, exit (a second Ctrl-C, or
    SIGQUIT, stops at once: the jobs are given back to the queue and are safe to run again)."""
    from celery.signals import setup_logging

    from jobs.distributed.queue_app import QUEUES, SHORT_NAMES, make_app

    state = state_of(ctx)
    stores = distributed_stores(state, store)
    chosen = [part.strip() for part in queues.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in SHORT_NAMES]
    if unknown or not chosen:
        fail_usage(f"--queues: '{','.join(unknown)}' is not one of {', '.join(SHORT_NAMES)}")
    if pool is not None and pool not in ("prefork", "threads", "solo"):
        fail_usage(f"--pool must be prefork, threads or solo, not '{pool}'")
    _checked_databases(stores)
    _server_logs(state, stores)
    setup_logging.connect(_keep_our_logging, weak=False)
    # Celery warns (SecurityWarning) when run as root, as containers often do: through our log.
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").handlers[:] = list(logging.getLogger("nps").handlers)
    app = make_app(stores)
    queue = app.nps_queue
    # The banner is for a terminal; a log shipper (--json-logs) or a quiet run gets our lines only.
    argv = ["--quiet"] if state.json_logs or state.verbosity < 0 else []
    argv += [
        "worker",
        f"--concurrency={concurrency or queue.worker_concurrency}",
        f"--pool={pool or queue.worker_pool}",
        f"--queues={','.join(QUEUES[SHORT_NAMES[part]] for part in chosen)}",
        f"--hostname={name or f'nps-{os.getpid()}@{socket.gethostname()}'}",
        f"--loglevel={'INFO' if state.verbosity >= 2 else 'WARNING'}",
        "--without-mingle",
        "--without-gossip",
    ]
    log.info("worker starting: %d stores, queues %s", len(stores), ", ".join(chosen))
    app.worker_main(argv)


def _keep_our_logging(**_: Any) -> None:
    """Connected to Celery's ``setup_logging``: Celery then leaves logging as we set it."""


def scheduler_command(
    ctx: typer.Context,
    store: list[str] | None = store_option(),
    tick: float = typer.Option(5.0, "--tick", min=0.1, help="Seconds between two looks."),
    once: bool = typer.Option(False, "--once", help="Enqueue what is due now, then exit."),
) -> None:
    """Enqueue each store's jobs at the intervals of `schedule:`, for `nps worker` to run.

    Sync, send (only within `send_between`, store time), push and report. One scheduler is active
    at a time; start one on two machines and the second stands by, taking over if the first
    dies."""
    from jobs.distributed.dispatcher import Dispatcher, Leadership
    from jobs.distributed.queue_app import make_app
    from jobs.runtime.runner import utc_now
    from nps_engine.store.database import Database

    state = state_of(ctx)
    stores = distributed_stores(state, store)
    _checked_databases(stores)
    _server_logs(state, stores)
    app = make_app(stores)
    leader_database = Database(stores[0].database.url)
    dispatcher = Dispatcher(app, stores, _queue_state(app.nps_queue), Leadership(leader_database),
                            utc_now)  # fmt: skip
    try:
        if once:
            leading = dispatcher.tick()
            dispatcher.leadership.release()
            if not leading:
                fail("another scheduler is active; nothing enqueued")
            stdout.print(f"enqueued {dispatcher.enqueued} jobs", markup=False)
            return

        def stop(signum: int, frame: FrameType | None) -> None:
            dispatcher.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        dispatcher.run_forever(tick)
    finally:
        leader_database.dispose()


def enqueue_run(ctx: typer.Context, wanted: list[str] | None) -> None:
    """``nps run --enqueue``: sync, send, push of each store as one chain in the queue."""
    from jobs.distributed.dispatcher import store_schedules
    from jobs.distributed.queue_app import make_app

    state = state_of(ctx)
    stores = distributed_stores(state, wanted)
    app = make_app(stores)
    queue_state = _queue_state(app.nps_queue)
    for settings in stores:
        # as `nps run`, which runs themes only every schedule.themes_hours
        jobs = [s.job for s in store_schedules(settings) if s.job not in ("report", "themes")]
        try:
            sent, waiting = _enqueue(app, queue_state, settings.store.id, jobs)
        except Exception as error:  # noqa: BLE001 - broker or Redis down: say which, exit 1
            fail(f"cannot reach the queue: {type(error).__name__}: {error}")
        line = f"{settings.store.id}: enqueued {', '.join(sent) or 'nothing'}"
        if waiting:
            line += f" (already queued: {', '.join(waiting)})"
        stdout.print(line, markup=False)


def _enqueue(
    app: StoreApp, queue_state: QueueState, store: str, jobs: list[str]
) -> tuple[list[str], list[str]]:
    from jobs.distributed.queue_app import enqueue

    return enqueue(app, queue_state, store, jobs)


def _queue_state(queue: QueueSettings) -> QueueState:
    from connectors.budgets import connect
    from jobs.distributed.queue_state import QueueState

    return QueueState(connect(queue.budget_url))


def stores_command(
    ctx: typer.Context,
    output_format: str = typer.Option("table", "--format", help="table or json"),
    resume: str | None = typer.Option(
        None, "--resume", help="End the pause of this store (credentials fixed)."
    ),
) -> None:
    """The stores of the config, the last run of each of their jobs, and paused stores.

    With queue:, a store whose credentials were refused is paused; `--resume ID` ends it."""
    from nps_engine.store.status import last_runs

    if output_format not in ("table", "json"):
        fail_usage(f"--format must be table or json, not '{output_format}'")
    stores = state_of(ctx).stores()
    queued = [s for s in stores if s.queue is not None]
    queue_state = _queue_state(queued[0].queue) if queued and queued[0].queue else None
    if resume is not None:
        if resume not in {s.store.id for s in stores}:
            fail_usage(f"--resume: no store with id '{resume}' in the config")
        if queue_state is None:
            fail_usage("--resume: only distributed mode (queue:) pauses stores")
        said = "resumed" if queue_state.resume(resume) else "was not paused"
        stdout.print(f"{resume}: {said}", markup=False)
        return
    entries = []
    for settings in stores:
        database = open_database(settings)
        try:
            with database.session() as session:
                runs = last_runs(session, settings.store.id)
        finally:
            database.dispose()
        pause = queue_state.paused(settings.store.id) if queue_state else None
        entries.append({
            "store": settings.store.id,
            "name": settings.store.name,
            "timezone": settings.store.timezone,
            "paused": None if pause is None else {"reason": pause.reason,
                                                  "until": pause.until.isoformat()},
            "last_runs": {job: {"status": run.status, "started_at": run.started_at.isoformat(),
                                "finished_at": run.finished_at.isoformat()
                                if run.finished_at else None}
                          for job, run in sorted(runs.items())},
        })  # fmt: skip
    if output_format == "json":
        stdout.print_json(json.dumps({"stores": entries}))
        return
    stdout.print(_stores_table(entries))
    if any(entry["paused"] for entry in entries):
        raise typer.Exit(EXIT_FAILURE)


def _stores_table(entries: list[dict[str, Any]]) -> Table:
    table = Table(title="stores")
    for column in ("store", "name", "time zone", "last runs", "paused"):
        table.add_column(column)
    for entry in entries:
        runs = "\n".join(
            f"{job}: {run['status']} {run['started_at'][:16].replace('T', ' ')} UTC"
            for job, run in entry["last_runs"].items()
        )
        paused = entry["paused"]
        table.add_row(entry["store"], entry["name"], entry["timezone"], runs or "never run",
                      f"until {paused['until'][:16]}: {paused['reason']}" if paused else "-",
                      )  # fmt: skip
    return table


def queue_status(stores: Sequence[Settings]) -> dict[str, Any]:
    """``nps status``'s queue part: workers alive, queue depth per job, each store's lag."""
    from jobs.distributed.monitor import queue_view, store_lag
    from jobs.distributed.queue_app import make_app
    from nps_engine.store.status import last_success

    queued = [s for s in stores if s.queue is not None]
    now = datetime.now(UTC)
    try:
        app = make_app(queued)
        document: dict[str, Any] = queue_view(app).as_json()
        queue_state = _queue_state(app.nps_queue)
        lags = {}
        for settings in queued:
            database = open_database(settings)
            try:
                with database.session() as session:
                    synced = last_success(session, settings.store.id, "sync")
            finally:
                database.dispose()
            lags[settings.store.id] = store_lag(queue_state, settings.store.id, synced, now)
        document["stores"] = lags
    except typer.Exit:
        raise
    except Exception as error:  # noqa: BLE001 - a broker down must not hide the store counts
        return {"error": f"cannot reach the queue: {type(error).__name__}: {error}"}
    return document


def queue_table(document: dict[str, Any]) -> Table:
    table = Table(title="queue", show_header=False, box=None)
    table.add_column(justify="left")
    table.add_column(justify="right")
    if "error" in document:
        table.add_row("queue", str(document["error"]))
        return table
    table.add_row("workers alive", f"{document['workers_alive']} " + " ".join(document["workers"]))
    for job, waiting in document["queued"].items():
        table.add_row(f"queued {job}", str(waiting))
    for store, lag in document["stores"].items():
        seconds = lag["lag_seconds"]
        behind = "never synced" if seconds is None else f"last sync {seconds} s ago"
        if lag["paused"]:
            behind += f"; PAUSED until {lag['paused']['until'][:16]}: {lag['paused']['reason']}"
        table.add_row(f"store {store}", behind)
    return table
