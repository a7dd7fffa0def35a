"""How long does ``nps import responses`` take on a big file, and how much memory does it need?

Writes a generic CSV (default 1,000,000 answers from 300,000 emails, 1 in 1,000 rows bad) and a
store with 100,000 of those customers, then runs the import as a subprocess twice (the second run
finds only duplicates) and prints wall time, CPU time and peak RSS of each. The file is streamed
in batches, so memory should stay flat whatever the file size (target: far below 1 GB).

Reference in the same run: the same file read with the ``csv`` module and its rows inserted with
plain ``sqlite3`` into a fresh copy of the same migrated store (same indexes at the end), done as
a bulk load is best done by hand: secondary indexes built after, one transaction, one prepared
statement fed by ``executemany``, the import's 128 MiB page cache; no validation, no customer
matching and no duplicate check. The ratio of the two is the price of what the import does beyond
storing rows. On PostgreSQL, two references, each into a fresh copy of the same seeded store:
plain COPY into the indexed table (committed every 50,000 rows), and what the import does with
a large load, by hand: in one transaction, the secondary indexes and unique constraints
dropped, COPY, and all of them built again (256 MiB maintenance_work_mem, as the import). The
ratio is to the second: like against like.

    python bench/import_responses.py
    python bench/import_responses.py --rows 50000
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from nps_engine.store.database import Database

START = datetime(2024, 1, 1, tzinfo=UTC)


def write_csv(path: Path, rows: int, emails: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write("email,score,comment,responded_at,order\n")
        for index in range(rows):
            when = START + timedelta(seconds=rng.randrange(700 * 86400))
            score = "12" if index % 1000 == 999 else str(rng.randrange(11))
            comment = '"Good, but\nslow delivery"' if index % 7 == 0 else ""
            file.write(
                f"Customer{rng.randrange(emails)}@Example.com,{score},{comment},"
                f"{when:%Y-%m-%dT%H:%M:%SZ},#{1000 + index}\n"
            )


def seed_store(url: str, customers: int) -> None:
    database = Database(url)
    database.upgrade()
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customers (store, id, email, tags, orders_count, total_spent) "
                "VALUES ('bench', :id, :email, '[]', 1, 0)"
            ),
            [{"id": i, "email": f"customer{i}@example.com"} for i in range(customers)],
        )
    database.dispose()


def reference_insert(url: str, csv_path: Path) -> tuple[float, float]:
    """Plain csv + sqlite3 of the same rows into the same table, as a bulk load is best done by
    hand: the secondary indexes dropped first and built again at the end (what the import does
    on a large load), one transaction, one prepared statement fed by executemany from a
    generator. Wall and CPU s, index building included."""
    import csv as csv_module
    import hashlib
    import sqlite3

    started, cpu = time.perf_counter(), time.process_time()
    connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA cache_size=-131072")  # the same 128 MiB page cache as the import
    indexes = connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'responses' "
        "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'"
    ).fetchall()
    statement = (
        "INSERT INTO responses (store, import_key, source, kind, email, score, comment, "
        "responded_at, updated_at) VALUES ('reference', ?, 'import', 'transactional', ?, ?, ?, "
        "?, ?)"
    )

    def values(reader: Iterator[list[str]]) -> Iterator[tuple[object, ...]]:
        for email, score, comment, responded_at, _order in reader:
            key = hashlib.sha256(f"{email}|{score}|{responded_at}".encode()).hexdigest()
            when = responded_at.replace("T", " ").removesuffix("Z") + ".000000"
            yield (key, email.lower(), int(score), comment or None, when, when)

    connection.execute("BEGIN")
    for (create,) in indexes:
        connection.execute("DROP INDEX " + create.split(" ON ")[0].split()[-1])
    with open(csv_path, encoding="utf-8", newline="") as file:
        reader = csv_module.reader(file)
        next(reader)
        connection.executemany(statement, values(reader))
    for (create,) in indexes:
        connection.execute(create)
    connection.execute("COMMIT")
    connection.close()
    return time.perf_counter() - started, time.process_time() - cpu


def reference_copy(url: str, csv_path: Path, *, rebuild: bool = False) -> tuple[float, float]:
    """PostgreSQL: plain csv + psycopg COPY of the same rows into the same table: wall and CPU s.
    With ``rebuild``, one transaction that drops the indexes and unique constraints other than
    the primary key first and builds them again at the end (index builds included)."""
    import csv as csv_module
    import hashlib

    import psycopg

    started, cpu = time.perf_counter(), time.process_time()
    columns = "store, import_key, source, kind, email, score, comment, responded_at, updated_at"
    connection_url = make_url(url).set(drivername="postgresql").render_as_string(False)
    with (
        psycopg.connect(connection_url) as db,
        open(csv_path, encoding="utf-8", newline="") as file,
    ):
        reader = csv_module.reader(file)
        next(reader)
        copy_rows: list[tuple[object, ...]] = []
        rebuilt = _drop_indexes(db) if rebuild else []

        def flush() -> None:
            with (
                db.cursor() as cursor,
                cursor.copy(f"COPY responses ({columns}) FROM STDIN") as copy,
            ):
                for row in copy_rows:
                    copy.write_row(row)
            if not rebuild:
                db.commit()
            copy_rows.clear()

        for email, score, comment, responded_at, _order in reader:
            key = hashlib.sha256(f"{email}|{score}|{responded_at}".encode()).hexdigest()
            row = ("reference", key, "import", "transactional", email.lower(), int(score))
            copy_rows.append((*row, comment or None, responded_at, responded_at))
            if len(copy_rows) == 50_000:
                flush()
        flush()
        db.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in rebuilt:
            db.execute(statement)
        db.commit()
    return time.perf_counter() - started, time.process_time() - cpu


def _drop_indexes(db: Any) -> list[str]:
    """Drop the unique constraints and plain indexes of ``responses``; the statements that build
    them again."""
    constraints = db.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'responses'::regclass AND contype = 'u'"
    ).fetchall()
    indexes = db.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'responses' "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    ).fetchall()
    for name, _definition in constraints:
        db.execute(f'ALTER TABLE responses DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        db.execute(f'DROP INDEX "{name}"')
    return [
        *(f'ALTER TABLE responses ADD CONSTRAINT "{name}" {how}' for name, how in constraints),
        *(definition for _name, definition in indexes),
    ]


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A fresh database on the server of ``server`` for this run, dropped at the end."""
    name = f"nps_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_import(config: Path, csv: Path) -> tuple[float, float, str]:
    script = (
        "import resource, sys\n"
        "from jobs.cli.app import app\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('peak_rss_mb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", script, "--config", str(config), "import", "responses", str(csv)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    rss = next(
        float(line.split()[1]) for line in result.stdout.splitlines() if "peak_rss_mb" in line
    )
    return seconds, rss, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--emails", type=int, default=300_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="PostgreSQL server (postgresql+psycopg://...): a fresh database there, COPY reference",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        root = Path(folder)
        csv, config = root / "answers.csv", root / "config.yaml"
        url = f"sqlite:///{root / 'bench.db'}"
        if args.postgres:
            url = stack.enter_context(postgres_database(args.postgres))
        write_csv(csv, args.rows, args.emails, args.seed)
        seed_store(url, args.customers)
        config.write_text(f"store: {{id: bench}}\ndatabase: {{url: '{url}'}}\n")
        size_mb = csv.stat().st_size / 1e6
        print(f"file: {args.rows:,} rows, {size_mb:.0f} MB; store: {args.customers:,} customers")
        imported = imported_cpu = 0.0
        for label in ("first import", "re-import (all duplicates)"):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            seconds, rss, output = run_import(config, csv)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            imported = imported or seconds
            imported_cpu = imported_cpu or cpu
            summary = [" ".join(line.split()) for line in output.splitlines()[1:7]]
            print(
                f"{label}: {seconds:.1f} s ({args.rows / seconds:,.0f} rows/s), CPU {cpu:.1f} s, "
                f"peak RSS {rss:.0f} MB; " + "; ".join(summary)
            )
        if args.postgres:
            # Each into a fresh store like the one the first import loaded into.
            with postgres_database(args.postgres) as plain:
                seed_store(plain, args.customers)
                indexed, indexed_cpu = reference_copy(plain, csv)
            print(
                f"reference (csv + psycopg COPY into a fresh store, indexes in place): "
                f"{indexed:.1f} s ({args.rows / indexed:,.0f} rows/s), CPU {indexed_cpu:.1f} s"
            )
            with postgres_database(args.postgres) as fresh:
                seed_store(fresh, args.customers)
                wall, cpu = reference_copy(fresh, csv, rebuild=True)
            name = "psycopg COPY into a fresh store, indexes and unique keys built after"
        else:
            # A fresh store like the one the first import loaded into, not the imported one.
            reference = f"sqlite:///{root / 'reference.db'}"
            seed_store(reference, args.customers)
            name = "sqlite3 executemany into a fresh store, indexes built after"
            wall, cpu = reference_insert(reference, csv)
        print(
            f"reference (csv + {name}): {wall:.1f} s "
            f"({args.rows / wall:,.0f} rows/s), CPU {cpu:.1f} s; nps import is "
            f"{imported / wall:.2f}x the reference's wall time, {imported_cpu / cpu:.2f}x its CPU"
        )
    print(
        f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    print(f"load average: {Path('/proc/loadavg').read_text(encoding='ascii').strip()}")


if __name__ == "__main__":
    main()
