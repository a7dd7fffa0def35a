"""How long does ``nps report --format json`` take on a big store, and how much memory?

Generates a fresh SQLite store (default: 1,000,000 answers over 300,000 customers, with their
orders and Zendesk tickets; the generation is not what is measured), then runs the report as a
subprocess and prints its wall time and peak RSS. Targets on a 2-core machine: within 1.5x of the
plain SQL below, under 5 s, 500 MB.

In the same run it times a reference: the same aggregates (each customer's latest answer of the
period and of each month, the overall and monthly tallies, the support-contact and return
segments) in plain SQLite SQL through ``sqlite3``, checks that both give the same numbers, and
prints the ratio. ``--postgresql URL`` does the same on a copy of the store in a fresh PostgreSQL
database (``report_postgres.py``). The report does more than the reference (facts for every
segment, custom rules, trends per segment, the same dates a year earlier, changes, the store's
order habits), so the ratio is the price of that.

    python bench/report.py                      # the full-size run
    python bench/report.py --responses 20000 --customers 6000 --keep /tmp/small.db
    python bench/report.py --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nps_engine.periods import Period
from nps_engine.store.database import Database

STORE = "bench"
NOW = datetime.now(UTC).replace(microsecond=0)
HISTORY_DAYS = 730
COUNTRIES = ("US", "FR", "GB", "DE", "CA", "BE", "ES", "IT")
TAG_SETS = ('["vip"]', "[]", "[]", '["wholesale"]', '["VIP", "newsletter"]', '["newsletter"]')


def stamp(moment: datetime) -> str:
    """The text SQLAlchemy stores for a UTC datetime on SQLite (naive, microseconds)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(path: Path, responses: int, customers: int, seed: int) -> dict[str, int]:
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    rng = random.Random(seed)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    counts = {"customers": customers, "responses": 0, "orders": 0, "tickets": 0}
    with connection:
        connection.executemany(
            "INSERT INTO customers (store, id, email, country, tags, orders_count, total_spent)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    STORE,
                    i,
                    f"c{i}@example.com",
                    rng.choice(COUNTRIES),
                    rng.choice(TAG_SETS),
                    rng.randint(1, 12),
                    round(rng.uniform(20, 2000), 2),
                )
                for i in range(1, customers + 1)
            ),
        )
    per_customer = _answers_per_customer(rng, responses, customers)
    with connection:
        for table, rows in _orders_answers_tickets(rng, per_customer, counts):
            connection.executemany(_INSERTS[table], rows)
    connection.execute("ANALYZE")
    # One huge insert transaction leaves a WAL as big as the data; a live store checkpoints as it
    # goes, so fold it in before measuring.
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return counts


_INSERTS = {
    "orders": "INSERT INTO orders (store, id, name, customer_id, email, created_at, updated_at,"
    " delivered_at, refunded, returned, total_price) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    "responses": "INSERT INTO responses (store, source, kind, customer_id, email, order_id, score,"
    " responded_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
    "tickets": "INSERT INTO tickets (store, id, requester_id, requester_email, customer_id, status,"
    " tags, created_at, updated_at) VALUES (?,?,?,?,?,?,'[]',?,?)",
}


def _answers_per_customer(rng: random.Random, responses: int, customers: int) -> list[int]:
    counts = [1] * customers
    for _ in range(responses - customers):
        counts[rng.randrange(customers)] += 1
    return counts


def _orders_answers_tickets(
    rng: random.Random, per_customer: list[int], counts: dict[str, int]
) -> Iterator[tuple[str, list[tuple[object, ...]]]]:
    orders: list[tuple[object, ...]] = []
    answers: list[tuple[object, ...]] = []
    tickets: list[tuple[object, ...]] = []
    for customer, answered in enumerate(per_customer, start=1):
        mood = rng.gauss(7.8, 1.6)
        email = f"c{customer}@example.com"
        for day in sorted(rng.uniform(0, HISTORY_DAYS) for _ in range(answered + 1)):
            ordered_at = NOW - timedelta(days=HISTORY_DAYS - day + 14)
            order_id = counts["orders"] = counts["orders"] + 1
            returned = rng.random() < 0.08
            orders.append(
                (
                    STORE,
                    order_id,
                    f"#{order_id}",
                    customer,
                    email,
                    stamp(ordered_at),
                    stamp(ordered_at),
                    stamp(ordered_at + timedelta(days=3)),
                    returned and rng.random() < 0.5,
                    returned,
                    49.0,
                )
            )
            if len(answers) - counts["responses"] < answered:
                answered_at = ordered_at + timedelta(days=rng.uniform(8, 12))
                score = max(0, min(10, round(rng.gauss(mood - 2.5 * returned, 1.5))))
                answers.append(
                    (
                        STORE,
                        "survey",
                        "transactional",
                        customer,
                        email,
                        order_id,
                        score,
                        stamp(answered_at),
                        stamp(answered_at),
                    )
                )
            if rng.random() < 0.25:
                opened = ordered_at + timedelta(days=rng.uniform(1, 6))
                counts["tickets"] += 1
                tickets.append(
                    (
                        STORE,
                        counts["tickets"],
                        customer,
                        email,
                        customer,
                        rng.choice(("solved", "closed", "solved", "open")),
                        stamp(opened),
                        stamp(opened),
                    )
                )
        counts["responses"] = len(answers)
        if len(orders) > 50_000:
            yield "orders", orders
            orders = []
    yield "orders", orders
    yield "responses", answers
    yield "tickets", tickets


def measure(config: Path) -> tuple[float, float, float, dict[str, object]]:
    """Wall seconds, CPU seconds (user + system) and peak RSS in MB of one report run.

    ``os.wait4`` returns the same ``struct rusage`` as ``getrusage(RUSAGE_CHILDREN)``, but for this
    one child only, so the generator's process (waited for earlier) does not count.
    """
    command = [str(Path(sys.executable).with_name("nps")), "--config", str(config), "report",
               "--format", "json"]  # fmt: skip
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        assert process.stdout is not None
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"nps report failed ({process.returncode}):\n{errors.read()}")
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    return seconds, usage.ru_utime + usage.ru_stime, peak_mb, json.loads(output)


def plain_sql(path: Path, report: dict[str, object]) -> tuple[float, float, dict[str, object]]:
    """The reference: the report's headline numbers in plain SQL on the same file."""
    period = _period(report)
    calendar = " UNION ALL ".join(
        f"SELECT '{m.label}' AS label, '{stamp(m.start)}' AS start, '{stamp(m.end)}' AS finish"
        for m in period.months()
    )
    categories = "sum(score >= 9), sum(score BETWEEN 7 AND 8), sum(score <= 6)"
    answers = f"""
        WITH calendar AS ({calendar}),
        answers AS (
          SELECT r.id, r.customer_id, r.order_id, r.score, r.responded_at, calendar.label,
                 row_number() OVER (PARTITION BY r.customer_id
                                    ORDER BY r.responded_at DESC, r.id DESC) AS period_rank,
                 row_number() OVER (PARTITION BY r.customer_id, calendar.label
                                    ORDER BY r.responded_at DESC, r.id DESC) AS month_rank
          FROM calendar JOIN responses r
            ON r.responded_at >= calendar.start AND r.responded_at < calendar.finish
          WHERE r.store = :store AND r.kind = 'transactional'
        )"""
    support = """EXISTS (SELECT 1 FROM tickets t WHERE t.store = :store
                   AND t.customer_id = a.customer_id AND t.created_at <= a.responded_at
                   AND t.created_at >= strftime('%Y-%m-%d %H:%M:%f', a.responded_at, '-90 days'))"""
    returned = "(o.returned OR o.refunded)"
    started, started_cpu = time.perf_counter(), time.process_time()
    connection = sqlite3.connect(path)
    months = connection.execute(
        answers + f" SELECT label, {categories} FROM answers WHERE month_rank = 1 GROUP BY label",
        {"store": STORE},
    ).fetchall()
    headline = connection.execute(
        answers
        + f""" SELECT {categories},
              sum({support} AND score >= 9), sum({support} AND score BETWEEN 7 AND 8),
              sum({support} AND score <= 6),
              sum({returned} AND score >= 9), sum({returned} AND score BETWEEN 7 AND 8),
              sum({returned} AND score <= 6)
            FROM answers a LEFT JOIN orders o ON o.store = :store AND o.id = a.order_id
            WHERE period_rank = 1""",
        {"store": STORE},
    ).fetchone()
    connection.close()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - started_cpu
    return (
        seconds,
        cpu_seconds,
        {
            "overall": [int(v or 0) for v in headline[0:3]],
            "support_contacted": [int(v or 0) for v in headline[3:6]],
            "returned": [int(v or 0) for v in headline[6:9]],
            "trend": {label: [int(v or 0) for v in counts] for label, *counts in months},
        },
    )


def _period(report: dict[str, object]) -> Period:
    period_json = report["period"]
    assert isinstance(period_json, dict)
    return Period(
        datetime.fromisoformat(period_json["from"]).date(),
        datetime.fromisoformat(period_json["to"]).date(),
        period_json["timezone"],
    )


def report_numbers(report: dict[str, object]) -> dict[str, object]:
    """The same numbers, read from the report's JSON."""

    def tally(figure: dict[str, int]) -> list[int]:
        return [figure["promoters"], figure["passives"], figure["detractors"]]

    segments = {s["name"]: tally(s) for s in report["segments"]}  # type: ignore[attr-defined]
    return {
        "overall": tally(report["overall"]),  # type: ignore[arg-type]
        "support_contacted": segments["support_contacted"],
        "returned": segments["returned"],
        "trend": {m["month"]: tally(m) for m in report["trend"] if m["n"]},  # type: ignore[attr-defined]
    }


def generate_apart(path: Path, responses: int, customers: int, seed: int) -> None:
    """Generate in a child process: the generator's memory would otherwise be copied into the
    measured subprocess when it is spawned and show up in its peak RSS."""
    child = multiprocessing.get_context("spawn").Process(
        target=_generate_and_print, args=(path, responses, customers, seed)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"generating the store failed (exit code {child.exitcode})")


def _generate_and_print(path: Path, responses: int, customers: int, seed: int) -> None:
    started = time.perf_counter()
    counts = generate(path, responses, customers, seed)
    print(f"generated {counts} in {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="Store the database here and keep it.")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Measure an existing --keep file; with --postgresql, measure in the URL's own "
        "database, copied into only when it does not hold the file's answers yet.",
    )
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        help="Also copy the store into a fresh database on this PostgreSQL server (e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/test) and measure there.",
    )
    parser.add_argument("--skip-sqlite", action="store_true", help="Measure PostgreSQL only.")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = arguments.keep or Path(scratch) / "bench.db"
        if not (arguments.reuse and path.exists()):
            path.unlink(missing_ok=True)
            generate_apart(path, arguments.responses, arguments.customers, arguments.seed)
        config = Path(scratch) / "config.yaml"
        if not arguments.skip_sqlite:
            config.write_text(f"store: {{id: {STORE}}}\ndatabase: {{url: 'sqlite:///{path}'}}\n")
            measured = measure(config)
            compare("SQLite", measured, plain_sql(path, measured[3]), "sqlite3")
        if arguments.postgresql:
            from report_postgres import fresh_copy
            from report_postgres import plain_sql as plain_postgres

            with fresh_copy(path, arguments.postgresql, reuse=arguments.reuse) as url:
                config.write_text(f"store: {{id: {STORE}}}\ndatabase: {{url: '{url}'}}\n")
                measured = measure(config)
                months = [
                    (m.label, stamp(m.start), stamp(m.end)) for m in _period(measured[3]).months()
                ]
                compare("PostgreSQL", measured, plain_postgres(url, months, STORE), "psycopg")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average while measuring: {load} (other work on the machine slows the wall time)")


def compare(
    backend: str,
    measured: tuple[float, float, float, dict[str, object]],
    reference: tuple[float, float, dict[str, object]],
    client: str,
) -> None:
    seconds, cpu_seconds, peak_mb, report = measured
    reference_seconds, reference_cpu, numbers = reference
    overall = report["overall"]
    assert isinstance(overall, dict)
    print(
        f"{backend}: nps report --format json: {seconds:.2f} s wall, {cpu_seconds:.2f} s CPU "
        f"(this process), peak RSS {peak_mb:.0f} MB (n={overall['n']}, NPS {overall['nps']}, "
        f"{len(report['trend'])} months)"  # type: ignore[arg-type]
    )
    same = numbers == report_numbers(report)
    # On PostgreSQL the work is the server's: the client's CPU says nothing, wall time does.
    cpu = f", {cpu_seconds / reference_cpu:.1f}x CPU" if backend == "SQLite" else ""
    print(
        f"{backend}: plain SQL reference ({client}, same aggregates, same data): "
        f"{reference_seconds:.2f} s wall; ratio {seconds / reference_seconds:.2f}x wall{cpu}; "
        f"numbers {'identical' if same else 'DIFFERENT'}"
    )


if __name__ == "__main__":
    main()
