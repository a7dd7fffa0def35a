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
import multiprocessing
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
from multiprocessing.connection import Connection
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
    parser.add_argument("--hosts", type=int, default=4, help="simulator processes")
    parser.add_argument("--pool", default="solo", help="nps worker --pool")
    parser.add_argument("--concurrency", type=int, default=1, help="nps worker --concurrency")
    parser.add_argument("--no-reference", action="store_true", help="skip `nps run`")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    print(f"load average at start: {_loadavg()}", flush=True)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="nps-bench-") as tmp:
        workdir = Path(tmp)
        database_url = stack.enter_context(_fresh_database())
        broker_url = stack.enter_context(_broker_server(workdir))
        print(
            f"{args.stores} stores x {args.customers} customers, {args.latency * 1000:.0f} ms "
            f"per API call, simulators in {args.hosts} processes of their own; generating "
            "worlds...",
            flush=True,
        )
        hosts = stack.enter_context(
            _SimulatorHosts(args.hosts, args.stores, args.customers, args.latency)
        )
        rounds = {}
        for workers in counts:
            rounds[workers] = _round(workdir, hosts, database_url, broker_url, workers, args)
            print(f"  {workers} workers: {rounds[workers]['wall']:.1f} s", flush=True)
        reference = None
        if not args.no_reference:
            reference = _reference(workdir, hosts, database_url, broker_url)
    _print(rounds, reference, args)
    print(f"load average at end: {_loadavg()}")


def _host(
    link: Connection, seeds: list[int], customers: int, latency: float, now: datetime
) -> None:
    """One simulator process: the Shopify, Zendesk and SMTP simulators of a few stores, served
    on their threads here, so their CPU is not the bench's (or the workers') interpreter lock."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the bench's to handle
    plan = FaultPlan(slow_rate=1.0, slow_seconds=latency, seed=1)
    with ExitStack() as stack:
        sandboxes = [
            stack.enter_context(
                Sandbox(
                    SandboxOptions(
                        customers=customers,
                        seed=seed,
                        now=now,
                        faults=plan,
                        shopify_bucket=(2000.0, 100.0),
                    )
                )
            )
            for seed in seeds
        ]
        link.send([sandbox.config() for sandbox in sandboxes])
        while True:
            what = link.recv()
            if what == "reset":
                for sandbox in sandboxes:
                    assert sandbox.shopify is not None
                    sandbox.shopify.traffic.reset_counters()
                    sandbox.zendesk.traffic.reset_counters()
            totals = {"throttled": 0, "rate_limited": 0, "calls": 0}
            for sandbox in sandboxes:
                assert sandbox.shopify is not None
                shop, desk = sandbox.shopify.traffic.snapshot(), sandbox.zendesk.traffic.snapshot()
                totals["throttled"] += shop.throttled
                totals["rate_limited"] += shop.rate_limited + desk.rate_limited
                totals["calls"] += shop.calls + desk.calls
            times = os.times()
            link.send({**totals, "cpu": times.user + times.system})
            if what == "stop":
                return


class _SimulatorHosts:
    """``count`` processes sharing the stores' simulators (store n has world seed 100 + n)."""

    def __init__(self, count: int, stores: int, customers: int, latency: float) -> None:
        self.count, self.stores, self.customers, self.latency = count, stores, customers, latency

    def __enter__(self) -> _SimulatorHosts:
        context = multiprocessing.get_context("fork")  # nothing threaded in the bench yet
        now = datetime.now(UTC).replace(microsecond=0)
        self.links: list[Connection] = []
        self.processes = []
        count = max(1, min(self.count, self.stores))
        for host in range(count):
            seeds = [100 + n for n in range(self.stores) if n % count == host]
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_host, args=(theirs, seeds, self.customers, self.latency, now), daemon=True
            )
            process.start()
            self.links.append(ours)
            self.processes.append(process)
        parts = [link.recv() for link in self.links]
        # store n lives in host n % count, at position n // count
        self.documents = [parts[n % count][n // count] for n in range(self.stores)]
        return self

    def ask(self, what: str) -> dict[str, float]:
        """``reset`` or ``totals``: summed over the hosts (THROTTLED, 429, calls, CPU s)."""
        for link in self.links:
            link.send(what)
        answers = [link.recv() for link in self.links]
        return {key: sum(answer[key] for answer in answers) for key in answers[0]}

    def __exit__(self, *exc: object) -> None:
        self.ask("stop")
        for process in self.processes:
            process.join(timeout=30)


def _config(
    workdir: Path,
    hosts: _SimulatorHosts,
    database_url: str,
    broker_url: str,
    label: str,
    pool: str = "solo",
    concurrency: int = 1,
) -> tuple[Path, list[str]]:
    suffix = uuid.uuid4().hex[:5]
    stores = []
    for n, document in enumerate(hosts.documents):
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
            "worker_pool": pool,
            "worker_concurrency": concurrency,
            "store_time_budget_seconds": 600,
        },
        "stores": stores,
    }
    path = workdir / f"config-{label}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path, [s["store"]["id"] for s in stores]


def _round(
    workdir: Path,
    hosts: _SimulatorHosts,
    database_url: str,
    broker_url: str,
    workers: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    config, ids = _config(
        workdir, hosts, database_url, broker_url, f"w{workers}-", args.pool, args.concurrency
    )
    settings = parse_settings(yaml.safe_load(config.read_text()), {})
    processes = [
        subprocess.Popen(
            [
                NPS,
                "--config",
                str(config),
                "-q",
                "worker",
                "--pool",
                args.pool,
                "--concurrency",
                str(args.concurrency),
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
    kinds_before = _command_counts(broker)
    state = QueueState(connect(REDIS))
    simulators_before = hosts.ask("reset")
    cpu_before = [_cpu_seconds(p.pid) for p in processes]
    database = Database(database_url)
    backends_before = _backend_cpu(database)
    started = time.monotonic()
    enqueued_at = datetime.now(UTC)
    for store in ids:
        enqueue(app, state, store, JOBS)
    try:
        while not _all_done(database, ids):
            time.sleep(0.25)
        wall = time.monotonic() - started
        lags = _lags(database, ids, enqueued_at)
        tasks = _tasks_run(database, ids)
        in_jobs = _job_seconds(database, ids)
        backends = _backend_cpu(database)
    finally:
        database.dispose()
    cpu = sum(_cpu_seconds(p.pid) - before for p, before in zip(processes, cpu_before, strict=True))
    simulators = hosts.ask("totals")
    commands = int(broker.info("stats")["total_commands_processed"]) - commands_before
    kinds = {
        name: count - kinds_before.get(name, 0) for name, count in _command_counts(broker).items()
    }
    rss = [_peak_rss_mib(p.pid) for p in processes]
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)
    return {
        "wall": wall,
        "lags": lags,
        "tasks": tasks,
        "commands_per_task": commands / tasks,
        "command_kinds": {k: n / tasks for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])},
        "job_seconds": {job: statistics.mean(seconds) for job, seconds in in_jobs.items()},
        # what a job slot spends per task outside the job itself (broker, Celery, idle)
        "outside_per_task": (wall * workers * args.concurrency - sum(map(sum, in_jobs.values())))
        / tasks,
        "rss": rss,
        "worker_cpu_per_task": cpu / tasks,
        "postgres_cpu_per_task": sum(
            cpu - backends_before.get(pid, 0.0) for pid, cpu in backends.items()
        )
        / tasks,
        "simulator_cpu_per_task": (simulators["cpu"] - simulators_before["cpu"]) / tasks,
        "calls_per_task": simulators["calls"] / tasks,
        "throttled": int(simulators["throttled"]),
        "rate_limited": int(simulators["rate_limited"]),
    }


def _reference(
    workdir: Path, hosts: _SimulatorHosts, database_url: str, broker_url: str
) -> dict[str, Any]:
    config, _ids = _config(workdir, hosts, database_url, broker_url, "ref-")
    hosts.ask("reset")
    started = time.monotonic()
    subprocess.run(
        [NPS, "--config", str(config), "-q", "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.monotonic() - started
    totals = hosts.ask("totals")
    return {"wall": wall, "throttled": int(totals["throttled"]),
            "rate_limited": int(totals["rate_limited"])}  # fmt: skip


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


def _tasks_run(database: Database, ids: list[str]) -> int:
    """Job runs written (a sync slice that went back to the queue is a run of its own)."""
    with database.session() as session:
        rows = session.execute(select(models.JobRun.id).where(models.JobRun.store.in_(ids))).all()
    return len(rows)


def _job_seconds(database: Database, ids: list[str]) -> dict[str, list[float]]:
    """Seconds each job run took, start to finish (as the runner wrote them), by job."""
    with database.session() as session:
        rows = session.execute(
            select(models.JobRun.job, models.JobRun.started_at, models.JobRun.finished_at).where(
                models.JobRun.store.in_(ids)
            )
        ).all()
    seconds: dict[str, list[float]] = {}
    for job, started, finished in rows:
        if finished is not None:
            seconds.setdefault(job, []).append((finished - started).total_seconds())
    return seconds


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


def _cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU of a process and its live children (a prefork pool's processes)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    stats = Path("/proc").glob("[0-9]*/stat") if children else [Path(f"/proc/{pid}/stat")]
    for stat in stats:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _backend_cpu(database: Database) -> dict[int, float]:
    """CPU seconds of each PostgreSQL server process serving the bench's database (they run on
    this machine too): the database's share of a task's CPU."""
    with database.session() as session:
        pids = session.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
    return {pid: _cpu_seconds(pid, children=False) for pid in pids}


def _command_counts(broker: redis.Redis) -> dict[str, int]:
    """Commands the broker has run, by name (INFO commandstats)."""
    stats = broker.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


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


def _print(
    rounds: dict[int, dict[str, Any]], reference: dict[str, Any] | None, args: argparse.Namespace
) -> None:
    print()
    print(f"nps worker --pool {args.pool} --concurrency {args.concurrency}, per process")
    print(
        f"{'workers':>7} {'wall s':>7} {'lag p50':>7} {'p95':>6} {'max':>6} {'tasks':>5} "
        f"{'broker/task':>11} {'calls/task':>10} {'CPU s/task':>10} {'sim CPU':>7} {'PG CPU':>6} "
        f"{'RSS MiB':>7} {'THROTTLED':>9} {'429':>4} {'speed-up':>8}"
    )
    base = rounds[min(rounds)]["wall"]
    for workers, r in rounds.items():
        lags = r["lags"]
        p95 = lags[min(len(lags) - 1, int(0.95 * len(lags)))]
        print(
            f"{workers:>7} {r['wall']:>7.1f} {statistics.median(lags):>7.1f} {p95:>6.1f} "
            f"{lags[-1]:>6.1f} {r['tasks']:>5} {r['commands_per_task']:>11.1f} "
            f"{r['calls_per_task']:>10.1f} {r['worker_cpu_per_task']:>10.3f} "
            f"{r['simulator_cpu_per_task']:>7.3f} {r['postgres_cpu_per_task']:>6.3f} "
            f"{max(r['rss']):>7.0f} "
            f"{r['throttled']:>9} {r['rate_limited']:>4} {base / r['wall']:>7.2f}x"
        )
    print(
        "(CPU s/task: the workers' user+system CPU per task run; sim CPU: the simulators'; "
        "PG CPU: the PostgreSQL server processes')"
    )
    for workers, r in rounds.items():
        jobs = ", ".join(f"{job} {seconds:.2f} s" for job, seconds in r["job_seconds"].items())
        print(
            f"  {workers} workers, mean time in a job: {jobs}; per task outside the job "
            f"(broker, Celery, waiting for work): {r['outside_per_task']:.2f} s"
        )
        kinds = ", ".join(f"{k} {n:.1f}" for k, n in list(r["command_kinds"].items())[:8])
        print(f"    broker commands per task: {kinds}")
    if reference is None:
        return
    print(
        f"reference `nps run` (one process, store after store): {reference['wall']:.1f} s, "
        f"THROTTLED {reference['throttled']}, 429 {reference['rate_limited']}"
    )
    for workers, r in rounds.items():
        print(f"  {workers} workers vs nps run: {reference['wall'] / r['wall']:.2f}x faster")


if __name__ == "__main__":
    main()
