"""One run of a job per store at a time, on SQLite and on PostgreSQL.

PostgreSQL: a session-level advisory lock on a dedicated connection; the server frees it if the
process dies. SQLite has no such thing, so a ``job_locks`` row records the holder (host and pid)
and an expiry that a heartbeat pushes forward; a row whose holder is a dead process on this host,
or whose expiry has passed, is taken over.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import Connection, delete, event, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from nps_engine.store.database import Database
from nps_engine.store.models import JobLock

TTL = timedelta(minutes=10)


class LockLost(Exception):
    """The PostgreSQL session holding the advisory lock is gone, and the lock with it."""

    def __init__(self, store: str, job: str) -> None:
        super().__init__(
            f"lost the database session holding the '{job}' lock of store '{store}'; "
            "stopped before writing more"
        )


class LockHeld(Exception):
    """Another process is running this job for this store."""

    def __init__(self, store: str, job: str, holder: str) -> None:
        super().__init__(
            f"another '{job}' run is in progress for store '{store}' ({holder}); nothing done"
        )
        self.holder = holder


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _advisory_key(store: str, job: str) -> int:
    digest = hashlib.blake2b(f"nps-loop:{store}:{job}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class JobLockGuard:
    """Context manager holding the lock of (store, job); raises LockHeld on entry if taken."""

    def __init__(
        self, database: Database, store: str, job: str, clock: Callable[[], datetime]
    ) -> None:
        self.database, self.store, self.job, self.clock = database, store, job, clock
        self.holder = this_process()
        self._connection: Connection | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._owner = threading.get_ident()

    def __enter__(self) -> JobLockGuard:
        if self.database.dialect == "postgresql":
            self._enter_postgres()
        else:
            self._enter_table()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._connection is not None:
            event.remove(self.database.sessions, "before_commit", self._still_locked)
            key = _advisory_key(self.store, self.job)
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            except SQLAlchemyError:
                pass  # the session is gone, and its lock with it
            finally:
                self._connection.close()
            return
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        with self.database.session() as session:
            session.execute(
                delete(JobLock).where(
                    JobLock.store == self.store,
                    JobLock.job == self.job,
                    JobLock.holder == self.holder,
                )
            )

    def _enter_postgres(self) -> None:
        connection = self.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        key = _advisory_key(self.store, self.job)
        if not connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
            connection.close()
            raise LockHeld(self.store, self.job, "a PostgreSQL advisory lock is held")
        self._connection = connection
        self._owner = threading.get_ident()
        # The lock lives as long as its session: if the server or a proxy drops it, another run
        # may start. Every commit of this job first checks the session is still there.
        event.listen(self.database.sessions, "before_commit", self._still_locked)

    def _still_locked(self, session: Session) -> None:
        if threading.get_ident() != self._owner or self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            raise LockLost(self.store, self.job) from None

    def _enter_table(self) -> None:
        try:
            self._claim_row()
        except IntegrityError:
            # SQLite has no SELECT ... FOR UPDATE: two runs starting together both find no row,
            # and the second insert hits the primary key. That run lost the race: it is held.
            raise LockHeld(self.store, self.job, "taken by another run a moment ago") from None
        self._heartbeat = threading.Thread(target=self._beat, name="job-lock", daemon=True)
        self._heartbeat.start()

    def _claim_row(self) -> None:
        with self.database.session() as session:
            row = session.scalar(
                select(JobLock)
                .where(JobLock.store == self.store, JobLock.job == self.job)
                .with_for_update()
            )
            now = self.clock()
            if row is not None and not _abandoned(row, now):
                since = f"{row.acquired_at:%Y-%m-%d %H:%M} UTC"
                raise LockHeld(self.store, self.job, f"held by {row.holder} since {since}")
            if row is not None:
                self._take_over(session, row)
            session.add(
                JobLock(
                    store=self.store,
                    job=self.job,
                    holder=self.holder,
                    acquired_at=now,
                    expires_at=now + TTL,
                )
            )

    def _take_over(self, session: Session, row: JobLock) -> None:
        """Delete the abandoned row, and only it: a run that took it over between our read and
        this delete now holds a row with the same key, which a delete by key would remove."""
        gone = session.execute(
            delete(JobLock)
            .where(JobLock.store == self.store, JobLock.job == self.job)
            .where(JobLock.holder == row.holder, JobLock.acquired_at == row.acquired_at)
            .execution_options(synchronize_session=False)
        )
        if not getattr(gone, "rowcount", 0):
            raise LockHeld(self.store, self.job, "taken over by another run a moment ago")
        session.expunge(row)

    def _beat(self) -> None:
        while not self._stop.wait(TTL.total_seconds() / 3):
            with self.database.session() as session:
                session.execute(
                    update(JobLock)
                    .where(
                        JobLock.store == self.store,
                        JobLock.job == self.job,
                        JobLock.holder == self.holder,
                    )
                    .values(expires_at=self.clock() + TTL)
                )


def _abandoned(row: JobLock, now: datetime) -> bool:
    if row.expires_at < now:
        return True
    host, _, pid = row.holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True  # the holder on this machine has died without releasing
    except PermissionError:
        return False
    return False
