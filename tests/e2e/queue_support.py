"""Distributed mode on the sandbox: several stores, real Celery workers (processes), a real broker
(Redis or RabbitMQ), the shared budgets in Redis, and PostgreSQL.

Tests read ``NPS_TEST_BROKER_URL`` (RabbitMQ or Redis), ``NPS_TEST_REDIS_URL`` and
``NPS_TEST_DATABASE_URL`` and skip without them. Each test uses fresh store ids, so its rows,
Redis keys and budgets never meet another test's; the broker's queues are purged before use.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import pytest
import redis
from loop_support import NPS, PLUS_BUCKET, write_config
from sqlalchemy import select
from typer.testing import CliRunner

from jobs.bootstrap import web_app
from jobs.cli.app import app
from jobs.distributed.queue_app import QUEUES, make_app
from nps_engine.config import Settings, parse_settings
from nps_engine.store import models
from nps_engine.store.database import Database
from nps_engine.web.background import BackgroundServer, free_port
from sandbox.runner import Sandbox, SandboxOptions

BROKER_URL = os.environ.get("NPS_TEST_BROKER_URL")
REDIS_URL = os.environ.get("NPS_TEST_REDIS_URL")
POSTGRES_URL = os.environ.get("NPS_TEST_DATABASE_URL")


def brokers() -> list[Any]:
    """The brokers to run a test on: RabbitMQ and/or Redis, as the environment offers."""
    found = []
    for url in dict.fromkeys(u for u in (BROKER_URL, REDIS_URL) if u):
        name = "rabbitmq" if url.startswith("amqp") else "redis"
        found.append(pytest.param(url, id=name))
    if not found:
        found.append(pytest.param(None, marks=pytest.mark.skip(reason="no NPS_TEST_BROKER_URL")))
    return found


def needs_services() -> None:
    if not REDIS_URL:
        pytest.skip("NPS_TEST_REDIS_URL is not set")
    if not POSTGRES_URL:
        pytest.skip("NPS_TEST_DATABASE_URL is not set (distributed mode needs PostgreSQL)")


def open_window(tz: str, now: datetime) -> list[str]:
    """A ``send_between`` that is open now in ``tz``: an hour either side."""
    local = now.astimezone(ZoneInfo(tz))
    start, end = local - timedelta(hours=1), local + timedelta(hours=1)
    return [f"{start:%H:%M}", f"{end:%H:%M}"]


@dataclass
class Fleet:
    """Stores on the sandbox, one config file, workers and schedulers as real processes."""

    workdir: Path
    config_path: Path
    stores: dict[str, Sandbox]
    settings: list[Settings]
    database: Database
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    _logs: list[IO[str]] = field(default_factory=list)

    @property
    def broker(self) -> str:
        queue = self.settings[0].queue
        assert queue is not None
        return queue.broker_url.get_secret_value()

    def start(self, *args: str) -> subprocess.Popen[str]:
        log = open(self.workdir / f"process-{len(self.processes)}.log", "w")  # noqa: SIM115
        self._logs.append(log)
        process = subprocess.Popen(
            [NPS, "--config", str(self.config_path), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # SIGKILL of the group takes the worker's pool with it
        )
        self.processes.append(process)
        return process

    def worker(self, name: str, *more: str, json_logs: bool = False) -> subprocess.Popen[str]:
        flags = ["--json-logs"] if json_logs else []
        return self.start(*flags, "worker", "--pool", "threads", "--concurrency", "2", "--name",
                          f"{name}-{uuid.uuid4().hex[:6]}@test", *more)  # fmt: skip

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``nps --config <file> ARGS`` to its end, in this process: a command that enqueues or
        reads needs no process of its own, and starting one costs 2 to 4 CPU-s of imports
        (the workers and schedulers, which are stopped and killed, are processes)."""
        argv = ["--config", str(self.config_path), *args]
        result = CliRunner().invoke(app, argv)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return subprocess.CompletedProcess([NPS, *argv], result.exit_code, result.stdout,
                                           result.stderr)  # fmt: skip

    def log_of(self, process: subprocess.Popen[str]) -> str:
        index = self.processes.index(process)
        return (self.workdir / f"process-{index}.log").read_text()

    def runs(self, job: str | None = None) -> list[models.JobRun]:
        with self.database.session() as session:
            query = select(models.JobRun).where(models.JobRun.store.in_(list(self.stores)))
            if job is not None:
                query = query.where(models.JobRun.job == job)
            return list(session.scalars(query))

    def wait_for(self, what: str, done: Callable[[], bool], timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            for process in self.processes:
                code = process.poll()
                if code not in (None, -signal.SIGKILL, 0):
                    raise AssertionError(f"{process.args} exited {code}:\n{self.log_of(process)}")
            if time.monotonic() > deadline:
                logs = "\n".join(self.log_of(p)[-3000:] for p in self.processes)
                raise AssertionError(f"timed out waiting for {what}\n{logs}")
            time.sleep(0.2)

    def finished(self, job: str, count: int | None = None) -> bool:
        """Each store has ``count`` (default: at least one) finished runs of ``job``."""
        runs = [r for r in self.runs(job) if r.status not in ("running",)]
        per_store = {store: sum(r.store == store for r in runs) for store in self.stores}
        if count is None:
            return all(n >= 1 for n in per_store.values())
        return all(n >= count for n in per_store.values())

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in self._logs:
            log.close()


@contextmanager
def the_brokers_alone() -> Iterator[None]:
    """One fleet at a time on this machine's brokers. The queues' names are the project's own
    (``jobs/distributed/queue_app.py``), one per kind of job, and :func:`purge` empties them: two
    fleets at once (two pytest-xdist workers, or two test runs on one machine) would take and
    delete each other's tasks. A lock file every test process agrees on; the kernel releases it
    if the process dies."""
    with (Path(tempfile.gettempdir()) / "nps-loop-test-brokers.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def purge(settings: list[Settings]) -> None:
    """Delete the broker's nps queues (the workers declare them again): a test must not run
    what an earlier one left behind."""
    app = make_app(settings)
    with app.connection_for_write() as connection:
        for queue in QUEUES.values():
            channel = connection.channel()
            try:
                with contextlib.suppress(Exception):  # a queue never declared on this broker
                    channel.queue_delete(queue)
            finally:
                with contextlib.suppress(Exception):
                    channel.close()


@contextmanager
def fleet(
    tmp_path: Path,
    database: Database,
    broker_url: str,
    *,
    stores: int = 3,
    customers: int = 40,
    seed: int = 31,
    shared_shop: bool = False,
    options: Callable[[int], dict[str, Any]] | None = None,
    adjust: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[Fleet]:
    """``stores`` sandbox shops (or one shop every store points at, ``shared_shop``), their
    survey pages, one config with ``stores:`` and ``queue:``, on the test PostgreSQL database."""
    assert REDIS_URL is not None
    now = datetime.now(UTC).replace(microsecond=0)
    suffix = uuid.uuid4().hex[:6]
    ids = [f"q{index}-{suffix}" for index in range(stores)]
    with ExitStack() as stack:
        stack.enter_context(the_brokers_alone())
        sandboxes: dict[str, Sandbox] = {}
        shared: Sandbox | None = None
        for index, store in enumerate(ids):
            if shared_shop and shared is not None:
                sandboxes[store] = shared
                continue
            extra = options(index) if options else {}
            extra.setdefault("shopify_bucket", PLUS_BUCKET)
            sandbox = Sandbox(SandboxOptions(customers=customers, seed=seed + index, now=now,
                                             **extra))  # fmt: skip
            stack.enter_context(sandbox)
            sandboxes[store] = shared = sandbox
        ports = {store: free_port() for store in ids}
        entries = []
        zones = ["Europe/Paris", "America/New_York", "Asia/Tokyo"]
        for index, (store, sandbox) in enumerate(sandboxes.items()):
            public_url = f"http://127.0.0.1:{ports[store]}"
            document = sandbox.config(database_url=database.url, public_url=public_url)
            tz = zones[index % len(zones)]
            entries.append({
                "store": {**document["store"], "id": store, "timezone": tz},
                "shopify": document["shopify"], "zendesk": document["zendesk"],
                "email": document["email"],
                "web": {**document["web"], "posts_per_minute_per_ip": 100_000},
                "schedule": {"send_between": open_window(tz, now),
                             "report_path": str(tmp_path / f"{store}.html")},
            })  # fmt: skip
        queue = {"broker_url": broker_url, "redis_url": REDIS_URL, "worker_pool": "threads",
                 "store_time_budget_seconds": 10, "credentials_pause_minutes": 1}  # fmt: skip
        document = {"database": {"url": database.url}, "queue": queue, "stores": entries}
        if adjust is not None:
            adjust(document)
        config_path = tmp_path / "config.yaml"
        write_config(document, config_path)
        settings = parse_settings(document, {})
        purge(settings)
        for store_settings in settings:  # the survey pages of each store, on its own port
            port = ports[store_settings.store.id]
            stack.enter_context(BackgroundServer(web_app(store_settings, database), port=port))
        running = Fleet(tmp_path, config_path, sandboxes, settings, database)
        try:
            yield running
        finally:
            running.stop()
            client = redis.Redis.from_url(REDIS_URL)
            for store in ids:
                for key in client.scan_iter(f"nps:queue:*{store}*"):
                    client.delete(key)
            client.close()
