"""Many stores on Celery workers: wall time and per-store lag for 1, 2 and 4 worker processes.

50 sandbox stores (each its own Shopify, Zendesk and SMTP simulator, every call answered 100 ms
late, as a far-away API would), one PostgreSQL database, Redis for the shared budgets, and a
broker: a Redis server of its own (started here on a free port) so its command count is the
broker's traffic alone. For each worker count, fresh store ids (so every round does the same
first sync), ``nps worker --pool solo`` processes, and each store's sync, send, push enqueued as
``nps run --enqueue`` does. Printed per round: wall time, per-store lag (enqueue to its last job
done: median, p95, max), broker commands per task, peak RSS per worker, THROTTLED and 429 answers.
The reference, in the same run: ``nps run`` (one process, one store after another) on the same
stores, and the ratios.

    python bench/many_stores.py                               # 50 stores, 1/2/4 workers
    python bench/many_stores.py --stores 10 --workers 1,2     # smaller

Needs PostgreSQL (``NPS_TEST_DATABASE_URL``, default postgresql://postgres@127.0.0.1:5432/test),
Redis on 127.0.0.1:6379 (``NPS_TEST_REDIS_URL``) and ``redis-server`` on the PATH.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import yaml
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from connectors.budgets import connect
from jobs.distributed.queue_app import enqueue, make_app
from jobs.distributed.queue_state import QueueState
from nps_engine.config import parse_settings
from nps_engine.store import models
from nps_engine.store.database import Database
from nps_engine.web.background import free_port
from sandbox.runner import Sandbox, SandboxOptions
from sandbox.traffic import FaultPlan

NPS = str(Path(sys.executable).with_name("nps"))
POSTGRES = os.environ.get("NPS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("NPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
JOBS = ["sync", "surveys send", "tags push"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--customers", type=int, default=12)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to each call")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="nps-bench-") as tmp:
        workdir = Path(tmp)
        database_url = stack.enter_context(_fresh_database())
        broker_url = stack.enter_context(_broker_server(workdir))
        plan = FaultPlan(slow_rate=1.0, slow_seconds=args.latency, seed=1)
        now = datetime.now(UTC).replace(microsecond=0)
        print(
            f"{args.stores} stores x {args.customers} customers, {args.latency * 1000:.0f} ms "
            "per API call; generating worlds...",
            flush=True,
        )
        sandboxes = [
            stack.enter_context(
                Sandbox(
                    SandboxOptions(
                        customers=args.customers,
                        seed=100 + n,
                        now=now,
                        faults=plan,
                        shopify_bucket=(2000.0, 100.0),
                    )
                )
            )
            for n in range(args.stores)
        ]
        rounds = {}
        for workers in counts:
            rounds[workers] = _round(workdir, sandboxes, database_url, broker_url, workers)
        reference = _reference(workdir, sandboxes, database_url, broker_url)
    _print(rounds, reference)


def _config(
    workdir: Path, sandboxes: list[Sandbox], database_url: str, broker_url: str, label: str
) -> tuple[Path, list[str]]:
    suffix = uuid.uuid4().hex[:5]
    stores = []
    for n, sandbox in enumerate(sandboxes):
        document = sandbox.config(database_url=database_url)
        stores.append(
            {
                "store": {**document["store"], "id": f"{label}{n}-{suffix}"},
                **{k: document[k] for k in ("shopify", "zendesk", "email", "web")},
                "survey": {"max_per_run": 10_000},
            }
        )
    document = {
        "database": {"url": database_url},
        "queue": {
            "broker_url": broker_url,
            "redis_url": REDIS,
            "worker_pool": "solo",
            "store_time_budget_seconds": 600,
        },
        "stores": stores,
    }
    path = workdir / f"config-{label}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path, [s["store"]["id"] for s in stores]


def _round(
    workdir: Path, sandboxes: list[Sandbox], database_url: str, broker_url: str, workers: int
) -> dict[str, Any]:
    config, ids = _config(workdir, sandboxes, database_url, broker_url, f"w{workers}-")
    settings = parse_settings(yaml.safe_load(config.read_text()), {})
    _reset_traffic(sandboxes)
    processes = [
        subprocess.Popen(
            [
                NPS,
                "--config",
                str(config),
                "-q",
                "worker",
                "--pool",
                "solo",
                "--name",
                f"bench{n}-{uuid.uuid4().hex[:4]}@bench",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for n in range(workers)
    ]
    app = make_app(settings)
    _wait_for_workers(app, workers)
    broker = redis.Redis.from_url(broker_url)
    commands_before = int(broker.info("stats")["total_commands_processed"])
    state = QueueState(connect(REDIS))
    started = time.monotonic()
    enqueued_at = datetime.now(UTC)
    for store in ids:
        enqueue(app, state, store, JOBS)
    database = Database(database_url)
    try:
        while not _all_done(database, ids):
            time.sleep(0.25)
        wall = time.monotonic() - started
        lags = _lags(database, ids, enqueued_at)
    finally:
        database.dispose()
    commands = int(broker.info("stats")["total_commands_processed"]) - commands_before
    rss = [_peak_rss_mib(p.pid) for p in processes]
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)
    throttled, limited = _throttles(sandboxes)
    tasks = len(ids) * len(JOBS)
    return {
        "wall": wall,
        "lags": lags,
        "commands_per_task": commands / tasks,
        "rss": rss,
        "throttled": throttled,
        "rate_limited": limited,
    }


def _reference(
    workdir: Path, sandboxes: list[Sandbox], database_url: str, broker_url: str
) -> dict[str, Any]:
    config, _ids = _config(workdir, sandboxes, database_url, broker_url, "ref-")
    _reset_traffic(sandboxes)
    started = time.monotonic()
    subprocess.run(
        [NPS, "--config", str(config), "-q", "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.monotonic() - started
    throttled, limited = _throttles(sandboxes)
    return {"wall": wall, "throttled": throttled, "rate_limited": limited}


def _all_done(database: Database, ids: list[str]) -> bool:
    with database.session() as session:
        rows = session.execute(
            select(models.JobRun.store).where(
                models.JobRun.store.in_(ids),
                models.JobRun.job == "tags push",
                models.JobRun.status != "running",
            )
        ).all()
    return len({row[0] for row in rows}) == len(ids)


def _lags(database: Database, ids: list[str], enqueued_at: datetime) -> list[float]:
    with database.session() as session:
        rows = session.execute(
            select(models.JobRun.store, models.JobRun.finished_at).where(
                models.JobRun.store.in_(ids)
            )
        ).all()
    last: dict[str, datetime] = {}
    for store, finished in rows:
        if finished is not None and (store not in last or finished > last[store]):
            last[store] = finished
    return sorted((when - enqueued_at).total_seconds() for when in last.values())


def _wait_for_workers(app: Any, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(app.control.ping(timeout=0.5) or []) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"{count} workers did not start within a minute")


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_traffic(sandboxes: list[Sandbox]) -> None:
    for sandbox in sandboxes:
        assert sandbox.shopify is not None
        sandbox.shopify.traffic.reset_counters()
        sandbox.zendesk.traffic.reset_counters()


def _throttles(sandboxes: list[Sandbox]) -> tuple[int, int]:
    throttled = limited = 0
    for sandbox in sandboxes:
        assert sandbox.shopify is not None
        shop, desk = sandbox.shopify.traffic.snapshot(), sandbox.zendesk.traffic.snapshot()
        throttled += shop.throttled
        limited += shop.rate_limited + desk.rate_limited
    return throttled, limited


class _fresh_database:  # noqa: N801 - used as a context manager, like contextlib's
    def __enter__(self) -> str:
        server = make_url(POSTGRES)
        self.name = f"nps_bench_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(
            server.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        url = server.set(database=self.name).render_as_string(hide_password=False)
        database = Database(url)
        database.upgrade()
        database.dispose()
        return url

    def __exit__(self, *exc: object) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


class _broker_server:  # noqa: N801
    """A redis-server of our own on a free port: its command count is the broker's alone."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def __enter__(self) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not on the PATH (apt-get install redis-server)")
        port = free_port()
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        return f"redis://127.0.0.1:{port}/0"

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _print(rounds: dict[int, dict[str, Any]], reference: dict[str, Any]) -> None:
    print()
    print(
        f"{'workers':>8} {'wall s':>8} {'lag p50':>8} {'lag p95':>8} {'lag max':>8} "
        f"{'broker cmd/task':>15} {'RSS MiB/worker':>15} {'THROTTLED':>9} {'429':>5} "
        f"{'speed-up':>9}"
    )
    base = rounds[min(rounds)]["wall"]
    for workers, r in rounds.items():
        lags = r["lags"]
        p95 = lags[min(len(lags) - 1, int(0.95 * len(lags)))]
        print(
            f"{workers:>8} {r['wall']:>8.1f} {statistics.median(lags):>8.1f} {p95:>8.1f} "
            f"{lags[-1]:>8.1f} {r['commands_per_task']:>15.1f} {max(r['rss']):>15.0f} "
            f"{r['throttled']:>9} {r['rate_limited']:>5} {base / r['wall']:>8.2f}x"
        )
    print(
        f"reference `nps run` (one process, store after store): {reference['wall']:.1f} s, "
        f"THROTTLED {reference['throttled']}, 429 {reference['rate_limited']}"
    )
    for workers, r in rounds.items():
        print(f"  {workers} workers vs nps run: {reference['wall'] / r['wall']:.2f}x faster")


if __name__ == "__main__":
    main()
