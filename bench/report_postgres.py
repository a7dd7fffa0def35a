"""PostgreSQL mode of ``bench/report.py``: the generated SQLite store copied into a fresh
PostgreSQL database (COPY, then ANALYZE), and the same plain-SQL reference written for
PostgreSQL, run on that database in the same run."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from nps_engine.store.database import Database

TABLES = {
    "customers": ("store", "id", "email", "country", "tags", "orders_count", "total_spent"),
    "orders": ("store", "id", "name", "customer_id", "email", "created_at", "updated_at",
               "delivered_at", "refunded", "returned", "total_price"),
    "responses": ("store", "id", "source", "kind", "customer_id", "email", "order_id", "score",
                  "responded_at", "updated_at"),
    "tickets": ("store", "id", "requester_id", "requester_email", "customer_id", "status", "tags",
                "created_at", "updated_at"),
}  # fmt: skip
TIMES = frozenset({"created_at", "updated_at", "delivered_at", "responded_at"})
BOOLEANS = frozenset({"refunded", "returned"})


def _libpq(url: str, database: str) -> str:
    return make_url(url).set(drivername="postgresql", database=database).render_as_string(False)


@contextmanager
def fresh_copy(path: Path, server_url: str, *, reuse: bool = False) -> Iterator[str]:
    """A new database on the server of ``server_url`` holding the store of ``path``; its
    SQLAlchemy URL. Dropped afterwards.

    ``reuse``: the database of ``server_url`` itself, kept afterwards, copied into only when it
    does not hold the file's answers yet (the copy takes minutes at a million answers)."""
    if reuse:
        if not _copied(path, server_url):
            started = time.perf_counter()
            _copy_tables(path, _libpq(server_url, make_url(server_url).database or ""), clear=True)
            print(f"copied the store into PostgreSQL in {time.perf_counter() - started:.1f} s")
        yield server_url
        return
    name = f"nps_bench_report_{os.getpid()}"
    admin = _libpq(server_url, make_url(server_url).database or "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(False)
    try:
        started = time.perf_counter()
        database = Database(url)
        database.upgrade()
        database.dispose()
        _copy_tables(path, _libpq(server_url, name))
        print(f"copied the store into PostgreSQL in {time.perf_counter() - started:.1f} s")
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _copied(path: Path, url: str) -> bool:
    """Whether the database (migrated to this version) holds the file's answers already."""
    database = Database(url)
    try:
        database.upgrade()
        with database.engine.connect() as connection:
            found = connection.exec_driver_sql("SELECT count(*) FROM responses").scalar_one()
    finally:
        database.dispose()
    with sqlite3.connect(path) as source:
        wanted = source.execute("SELECT count(*) FROM responses").fetchone()[0]
    return bool(found == wanted)


def _copy_tables(path: Path, target: str, *, clear: bool = False) -> None:
    source = sqlite3.connect(path)
    with psycopg.connect(target) as connection, connection.cursor() as cursor:
        if clear:
            cursor.execute(f"TRUNCATE {', '.join(TABLES)}")
        for table, columns in TABLES.items():
            converters = [_converter(column) for column in columns]
            rows = source.execute(f"SELECT {', '.join(columns)} FROM {table}")
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([convert(v) for convert, v in zip(converters, row, strict=True)])
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('responses', 'id'), max(id)) FROM responses"
        )
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
    source.close()


def _converter(column: str) -> object:
    if column in TIMES:
        return lambda value: None if value is None else value + "+00"
    if column in BOOLEANS:
        return lambda value: None if value is None else bool(value)
    return lambda value: value


def plain_sql(
    url: str, months: list[tuple[str, str, str]], store: str
) -> tuple[float, float, dict[str, object]]:
    """The same aggregates as ``report.plain_sql``, in PostgreSQL's SQL."""
    calendar = " UNION ALL ".join(
        f"SELECT '{label}' AS label, timestamptz '{start}+00' AS start,"
        f" timestamptz '{end}+00' AS finish"
        for label, start, end in months
    )
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
          WHERE r.store = %(store)s AND r.kind = 'transactional'
        )"""
    categories = ("count(*) FILTER (WHERE {0} score >= 9), "
                  "count(*) FILTER (WHERE {0} score BETWEEN 7 AND 8), "
                  "count(*) FILTER (WHERE {0} score <= 6)")  # fmt: skip
    support = """EXISTS (SELECT 1 FROM tickets t WHERE t.store = %(store)s
                   AND t.customer_id = a.customer_id AND t.created_at <= a.responded_at
                   AND t.created_at >= a.responded_at - interval '2160 hours') AND"""
    returned = "(coalesce(o.returned, false) OR coalesce(o.refunded, false)) AND"
    started, started_cpu = time.perf_counter(), time.process_time()
    with psycopg.connect(_libpq(url, make_url(url).database or "")) as connection:
        months_rows = connection.execute(
            answers + f" SELECT label, {categories.format('')} FROM answers WHERE month_rank = 1"
            " GROUP BY label",
            {"store": store},
        ).fetchall()
        headline = connection.execute(
            answers
            + f""" SELECT {categories.format("")}, {categories.format(support)},
                  {categories.format(returned)}
                FROM answers a LEFT JOIN orders o ON o.store = %(store)s AND o.id = a.order_id
                WHERE period_rank = 1""",
            {"store": store},
        ).fetchone()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - started_cpu
    assert headline is not None
    return (
        seconds,
        cpu_seconds,
        {
            "overall": [int(v or 0) for v in headline[0:3]],
            "support_contacted": [int(v or 0) for v in headline[3:6]],
            "returned": [int(v or 0) for v in headline[6:9]],
            "trend": {label: [int(v or 0) for v in counts] for label, *counts in months_rows},
        },
    )
