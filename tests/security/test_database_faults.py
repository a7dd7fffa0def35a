"""Item 5: a database fault ends the job failed with one clear line; the next job still runs;
a lost PostgreSQL session stops the job before it writes without its lock."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import sessionmaker

from jobs.runtime.runner import JobContext, run_job
from nps_engine.store import models
from nps_engine.store.database import Database

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def test_a_locked_sqlite_database_fails_the_job_in_one_line_and_the_next_one_runs(
    tmp_path: Path, store_id: str
) -> None:
    path = tmp_path / "nps.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    # As if another process held a long write transaction; wait a tenth of a second, not 30 s.
    database.engine = create_engine(
        f"sqlite:///{path}", connect_args={"timeout": 0.1}, hide_parameters=True
    )
    database.sessions = sessionmaker(database.engine, expire_on_commit=False)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        outcome = run_job(database, store_id, "sync", lambda c: None, clock)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert outcome.status == "failed"
    (line,) = outcome.errors
    assert line == "database error (OperationalError): database is locked"
    assert run_job(database, store_id, "surveys send", lambda c: None, clock).ok
    database.dispose()


def test_a_database_error_inside_a_job_is_one_line_without_the_rows_values(
    database: Database, store_id: str
) -> None:
    def work(context: JobContext) -> None:
        with database.session() as session:
            row = {"store": store_id, "id": 1, "email": "ann.secret@example.com",
                   "first_name": "Annabelle", "tags": []}  # fmt: skip
            session.execute(models.Customer.__table__.insert(), [row, row])

    outcome = run_job(database, store_id, "sync", work, clock)
    assert outcome.status == "failed"
    (line,) = outcome.errors
    assert line.startswith("database error (")
    assert "\n" not in line
    assert "ann.secret" not in line
    assert "Annabelle" not in line


@pytest.mark.postgres
def test_a_killed_postgresql_session_stops_the_job_before_it_writes(
    database: Database, store_id: str
) -> None:
    if database.dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")

    def work(context: JobContext) -> None:
        with database.session() as session:
            session.add(models.Customer(store=store_id, id=1, tags=[]))
        # A proxy or an operator kills the session holding the lock...
        with database.engine.connect() as admin:
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database())"
                )
            )
            admin.commit()
        # ...so the next write must not happen: another run may hold the lock now.
        with database.session() as session:
            session.add(models.Customer(store=store_id, id=2, tags=[]))

    outcome = run_job(database, store_id, "sync", work, clock)
    assert outcome.status == "failed"
    assert "lost the database session holding the 'sync' lock" in outcome.errors[0]
    with database.session() as session:
        ids = session.scalars(
            select(models.Customer.id).where(models.Customer.store == store_id)
        ).all()
        runs = session.scalar(
            select(func.count()).select_from(models.JobRun).where(models.JobRun.store == store_id)
        )
    assert ids == [1]
    assert runs == 1
    assert run_job(database, store_id, "sync", lambda c: None, clock).ok
