"""How fast is the dashboard on a big store? Server time of the responses page (with and without
filters), of the overview (against `nps report` on the same store), and of a full CSV export.

Reuses bench/report.py's generated store (default 1,000,000 answers over 300,000 customers), with
a comment on about a third of the answers. Requests go through the ASGI app in-process (Starlette's
TestClient: the app's own time, no network). Each export runs in a child process so its peak RSS
is its own; its own memory (RssAnon) and the database file pages SQLite maps for the export
(RssFile, the kernel's page cache) are sampled every 100,000 rows to show the first flat. The
reference (a plain query and the csv module) reads the same way: the file mapped on SQLite, a
plain streamed query on PostgreSQL. Targets (2 cores): responses
page p95 under 300 ms, overview under `nps report`'s time, export over 50,000 rows/s with flat
memory.

    python bench/dashboard.py --responses 100000 --customers 30000
    python bench/dashboard.py --keep /tmp/big.db            # 1M; --reuse to measure it again
    NPS_BENCH_POSTGRES=postgresql://postgres@127.0.0.1:5432/bench python bench/dashboard.py ...
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import report as report_bench

from jobs.bootstrap import web_adapters
from nps_engine.config.settings import Settings
from nps_engine.store.dashboard_users import add_user
from nps_engine.store.database import Database
from nps_engine.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

STORE = report_bench.STORE
COMMENTS = (
    "Late delivery, again",
    "Great quality",
    "The box was damaged",
    "Love it",
    "Customer service never answered",
    "Fast and friendly",
)
REQUESTS = 200
FILTERED = {
    "no filter": {},
    "detractors with a comment": {"category": "detractor", "with_comment": "yes"},
    "segment returned": {"segment": "returned"},
    "search 'damaged'": {"search": "damaged"},
}


def add_comments(path: Path, seed: int) -> None:
    """About a third of the answers get a comment (the generator writes none)."""
    rng = random.Random(seed)
    connection = sqlite3.connect(path)
    with connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM responses")]
        chosen = [(rng.choice(COMMENTS), i) for i in ids if rng.random() < 0.33]
        connection.executemany("UPDATE responses SET comment = ? WHERE id = ?", chosen)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def settings_for(url: str) -> Settings:
    return Settings.model_validate(
        {
            "store": {"id": STORE},
            "database": {"url": url},
            "web": {"public_url": "http://127.0.0.1", "secret_key": "bench-secret-0123456789"},
        }
    )


def signed_in_client(settings: Settings, database: Database) -> TestClient:
    now = datetime.now(UTC)
    add_user(database, STORE, "bench@example.com", "owner", now, password="bench password")
    app = create_app(settings, database, adapters=web_adapters(settings, database))
    client = TestClient(app, base_url="http://127.0.0.1")
    page = client.get("/admin/sign-in").text
    token = page.split('name="csrf" value="')[1].split('"')[0]
    client.post(
        "/admin/sign-in",
        data={"email": "bench@example.com", "password": "bench password", "csrf": token},
    )
    return client


def timed(request: Callable[[], object], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        request()
        times.append((time.perf_counter() - started) * 1000)
    return times


def percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"p50 {statistics.median(ordered):7.1f} ms  p95 {p95:7.1f} ms"


def feed_pages(
    client: TestClient, database: Database, rng: random.Random, requests: int = REQUESTS
) -> None:
    """Each request opens a page at a random depth (the `after` of a random answer)."""
    with database.engine.connect() as connection:
        from sqlalchemy import text

        positions = connection.execute(
            text("SELECT responded_at, id FROM responses ORDER BY random() LIMIT 500")
        ).all()
    for label, query in FILTERED.items():

        def one(query: dict[str, str] = query) -> None:
            at, answer_id = rng.choice(positions)
            moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
            after = f"{moment.replace(tzinfo=UTC).isoformat()}_{answer_id}"
            answer = client.get("/admin/responses", params={**query, "after": after})
            assert answer.status_code == 200, answer.text[:200]

        client.get("/admin/responses", params=query)  # warm the caches once
        print(f"responses page, {label:<27} {percentiles(timed(one, requests))}", flush=True)


def overview_and_report(client: TestClient, config: Path) -> None:
    times = timed(lambda: client.get("/admin/"), 3)
    seconds, _, _, _ = report_bench.measure(config)
    best = min(times) / 1000
    print(
        f"overview (best of 3)               {best:7.2f} s; `nps report --format json` "
        f"{seconds:.2f} s (ratio {best / seconds:.2f})",
        flush=True,
    )


Exported = tuple[int, float, float, float, list[tuple[int, float, float]], int, float, float, float]

# The reference: the same answers with their customer and order, newest first, written as CSV by
# a plain query and the csv module (no segments, tags or themes): what any export must at least do.
REFERENCE_QUERY = """
SELECT r.id, r.responded_at, r.kind, r.score, r.comment, r.customer_id, c.first_name,
       c.last_name, r.email, o.name, r.followup_ticket_id
FROM responses r
LEFT JOIN customers c ON c.store = r.store AND c.id = r.customer_id
LEFT JOIN orders o ON o.store = r.store AND o.id = r.order_id
WHERE r.store = :store ORDER BY r.responded_at DESC, r.id DESC
"""


def _rss_mb() -> tuple[float, float]:
    """The process's own memory now (``RssAnon``, not the peak) and the database file pages it
    has mapped (``RssFile``: SQLite maps the file for an export, ``response_feed``), in MB:
    sampled during an export to show its own memory flat."""
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return int(fields["RssAnon"].split()[0]) / 1024, int(fields["RssFile"].split()[0]) / 1024


def reference_batches(database: Database) -> Iterator[Sequence[Any]]:
    """The reference query's rows, read as the export reads its own: SQLite with the file
    mapped, PostgreSQL as a plain query (parallel workers allowed) streamed by psycopg."""
    from sqlalchemy import text

    with database.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA mmap_size=2147418112")
            found = connection.execution_options(stream_results=True, yield_per=2000).execute(
                text(REFERENCE_QUERY), {"store": STORE}
            )
            yield from found.partitions()
            return
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        query = REFERENCE_QUERY.replace(":store", "%(store)s")
        batch: list[Any] = []
        for row in cursor.stream(query, {"store": STORE}, size=2000):
            batch.append(row)
            if len(batch) == 2000:
                yield batch
                batch = []
        if batch:
            yield batch


def export_in_child(url: str, extension: str, results: multiprocessing.Queue[Exported]) -> None:
    import csv
    import io

    settings = settings_for(url)
    database = Database(url)
    client = signed_in_client(settings, database)
    # (rows read so far, own RSS in MB, mapped file pages in MB), about every 100,000 rows
    samples: list[tuple[int, float, float]] = []
    started, cpu = time.perf_counter(), time.process_time()
    rows, next_sample = 0, 100_000
    with client.stream("GET", f"/admin/responses.{extension}") as answer:
        # counted in bytes: decoding and splitting a million lines here would be the
        # harness's time, not the export's (a line break inside a quoted comment is escaped
        # in JSONL and absent from the generated comments)
        for chunk in answer.iter_bytes():
            rows += chunk.count(b"\n")
            if rows >= next_sample:
                samples.append((rows, *_rss_mb()))
                next_sample += 100_000
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    samples.append((rows, *_rss_mb()))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # A big SQLite export is written by worker processes (``export_parts``): their CPU counts
    # too, once they have ended and been reaped.
    workers_cpu, workers_peak_mb = _workers_usage()
    cpu += workers_cpu
    started, reference_cpu = time.perf_counter(), time.process_time()
    sink = io.StringIO()
    writer = csv.writer(sink)
    reference_rows = 0
    for batch in reference_batches(database):
        writer.writerows(batch)
        reference_rows += len(batch)
        sink.seek(0)
        sink.truncate()
    reference = time.perf_counter() - started
    reference_cpu = time.process_time() - reference_cpu
    header = 1 if extension == "csv" else 0
    results.put(
        (rows - header, seconds, cpu, peak_mb, samples, reference_rows, reference, reference_cpu,
         workers_peak_mb)
    )  # fmt: skip


def _workers_usage() -> tuple[float, float]:
    """CPU seconds and the largest peak RSS (MB) of this process's ended child processes (the
    export's workers), waiting up to 10 s for them to end."""
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def export(url: str, extension: str) -> None:
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[Exported] = context.Queue()
    child = context.Process(target=export_in_child, args=(url, extension, results))
    child.start()
    (rows, seconds, cpu, peak_mb, samples, reference_rows, reference, reference_cpu,
     workers_peak_mb) = results.get()  # fmt: skip
    child.join()
    name = f"{extension.upper()} export of every answer"
    workers = f", its workers' peak RSS {workers_peak_mb:.0f} MB" if workers_peak_mb else ""
    print(
        f"{name:<35}{rows} rows in {seconds:.1f} s = "
        f"{rows / seconds:,.0f} rows/s ({rows / cpu:,.0f} rows per CPU second, workers "
        f"included), peak RSS {peak_mb:.0f} MB{workers}",
        flush=True,
    )
    shown = ", ".join(f"{n // 1000}k {own:.0f}" for n, own, _ in samples)
    print(f"  own RSS (RssAnon, MB) at rows:   {shown}", flush=True)
    shown = ", ".join(f"{n // 1000}k {mapped:.0f}" for n, _, mapped in samples)
    print(f"  mapped file pages (RssFile, MB): {shown}", flush=True)
    print(
        f"reference: plain query + csv module {reference_rows} rows in {reference:.1f} s = "
        f"{reference_rows / reference:,.0f} rows/s ({reference_rows / reference_cpu:,.0f} rows "
        f"per CPU second); export/reference time ratio {seconds / reference:.1f}, "
        f"CPU ratio {cpu / reference_cpu:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="Store the SQLite database here and keep it.")
    parser.add_argument("--reuse", action="store_true", help="Measure an existing --keep file.")
    parser.add_argument(
        "--requests", type=int, default=REQUESTS, help="Requests per responses-page filter."
    )
    parser.add_argument(
        "--parts",
        default="sqlite,pages,overview,export",
        help="What to measure, comma-separated (the overview runs `nps report`: minutes at 1M; "
        "leave out sqlite to measure PostgreSQL only; export is csv and jsonl, or name one).",
    )
    arguments = parser.parse_args()
    parts = set(arguments.parts.split(","))
    with tempfile.TemporaryDirectory() as scratch:
        path = arguments.keep or Path(scratch) / "bench.db"
        if not (arguments.reuse and path.exists()):
            path.unlink(missing_ok=True)
            report_bench.generate_apart(
                path, arguments.responses, arguments.customers, arguments.seed
            )
            add_comments(path, arguments.seed)
        urls = {"SQLite": f"sqlite:///{path}"} if "sqlite" in parts else {}
        if os.environ.get("NPS_BENCH_POSTGRES"):
            urls["PostgreSQL"] = os.environ["NPS_BENCH_POSTGRES"]
        for backend, url in urls.items():
            print(f"--- {backend} ---", flush=True)
            if backend == "PostgreSQL" and not (arguments.reuse and _copied(path, url)):
                copy_to_postgres(path, url)
            config = Path(scratch) / "config.yaml"
            config.write_text(f"store: {{id: {STORE}}}\ndatabase: {{url: '{url}'}}\n")
            settings = settings_for(url)
            database = Database(url)
            client = signed_in_client(settings, database)
            if "pages" in parts:
                feed_pages(client, database, random.Random(arguments.seed), arguments.requests)
            if "overview" in parts:
                overview_and_report(client, config)
            client.close()
            database.dispose()
            for extension in ("csv", "jsonl"):
                if "export" in parts or extension in parts:
                    export(url, extension)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average while measuring: {load} (other work on the machine slows every figure)")


def _copied(path: Path, url: str) -> bool:
    """Whether the PostgreSQL database holds the file's answers already (``--reuse``: the copy
    takes minutes at 1M), migrated to this version."""
    database = Database(url)
    try:
        database.upgrade()
        with database.engine.connect() as connection:
            found = connection.exec_driver_sql(
                "SELECT count(*) FROM responses WHERE store = %(store)s", {"store": STORE}
            ).scalar_one()
    finally:
        database.dispose()
    with sqlite3.connect(path) as source:
        wanted = source.execute("SELECT count(*) FROM responses").fetchone()[0]
    return bool(found == wanted)


def copy_to_postgres(path: Path, url: str) -> None:
    """The same rows into a migrated PostgreSQL database (COPY, table by table)."""
    import psycopg

    database = Database(url)
    database.upgrade()
    database.dispose()
    source = sqlite3.connect(path)
    tables = {
        "customers": "store, id, email, country, tags, orders_count, total_spent",
        "orders": "store, id, name, customer_id, email, created_at, updated_at, delivered_at, "
        "refunded, returned, total_price",
        "responses": "id, store, source, kind, customer_id, email, order_id, score, comment, "
        "responded_at, updated_at",
        "tickets": "store, id, requester_id, requester_email, customer_id, status, tags, "
        "created_at, updated_at",
    }
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as target:
        for table in tables:
            target.execute(f"DELETE FROM {table} WHERE store = %s", (STORE,))
        for table, columns in tables.items():
            with target.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {columns} FROM {table}"):
                    copy.write_row(tuple(_pg(value) for value in row))
        target.execute("SELECT setval('responses_id_seq', (SELECT max(id) FROM responses))")
    # VACUUM as autovacuum soon would on a real store: it marks the pages all-visible, so index
    # only scans do not fetch every row from the heap (what a freshly copied table makes them do)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as db:
        db.execute("VACUUM ANALYZE")
    source.close()


def _pg(value: object) -> object:
    if isinstance(value, str) and len(value) == 26 and value[10] == " " and value[4] == "-":
        return value + "+00"  # SQLite's naive UTC text -> timestamptz
    return value


if __name__ == "__main__":
    main()
