"""The answer pages' way to the database: reads in place, writes through a short queue.

Writes. SQLite has one writer at a time; a process-wide lock around each answer made the answers
take turns, each with its own transaction and its own thread hand-off. Instead answers wait in a
short in-memory queue and one flush at a time writes everything waiting, in ONE transaction (one
commit for the whole batch), then answers each POST. Under load a batch holds as many answers as
arrived during the previous one, so the cost of a commit is shared; alone, an answer is written
at once. Another process writing (``nps run``, a worker) is waited for by SQLite's own busy
timeout, on a worker thread, not on the event loop. A POST is acknowledged only after its
transaction committed, so an acknowledged answer is never lost. The same queue serves
PostgreSQL, where a batch also saves a commit (a WAL flush) per answer. (Several batches in
flight at once on PostgreSQL were tried: no more answers per second, 15% more CPU per answer.)

Reads (the page's invite and comment) are one primary-key SELECT. On SQLite in WAL mode a reader
never waits for a writer, so it runs in place on the event loop, a few tens of microseconds, with
no thread hand-off.

On PostgreSQL both go over psycopg's asyncio connections, on the event loop: a read or a batch
is a network round trip the loop waits for without blocking, so no worker thread is involved
at all (under load the hand-off to a thread and back cost more CPU than the statement, and its
wake-ups stretched the slowest answers).

Both use the driver's connections kept on a small shelf, outside the engine's pool: a pool
checkout cost three times the read itself on SQLite, and on PostgreSQL its pre-ping is one more
round trip per page. A connection that fails is closed, never put back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool

from nps_engine.store.database import Database
from nps_engine.store.prepared import Prepared
from nps_engine.store.responses import Answer, AnswerStatements, RecordedAnswer

log = logging.getLogger(__name__)

# Beyond this many answers waiting, a POST is answered 503 at once (the page says "not saved,
# try again") rather than queued behind a database that is not keeping up.
MAX_WAITING = 2000
# One transaction holds at most this many answers, so a batch never holds the lock for long.
MAX_BATCH = 200
# Idle read connections kept open: as many as pages read at once under load (one per worker
# thread on PostgreSQL; one on SQLite, where reads run on the event loop).
IDLE_READERS = 8


_Waiting = tuple[Answer, "asyncio.Future[RecordedAnswer | None]"]


class QueueFull(Exception):
    """Too many answers are waiting to be written."""


class AnswerQueue:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.native_async = database.dialect == "postgresql"
        self.statements = AnswerStatements(database.engine.dialect)
        if self.native_async:
            self._async_readers = _AsyncShelf(database, IDLE_READERS, autocommit=True)
            self._async_writer = _AsyncShelf(database, 1, autocommit=False)
        else:
            self._readers = _Shelf(database, IDLE_READERS)
            self._writer = _Shelf(database, 1)
        self._waiting: list[_Waiting] = []
        self._flushing: asyncio.Task[None] | None = None

    async def rows(
        self, statement: Prepared, parameters: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """The rows of a read: in place on SQLite, awaited on the event loop on PostgreSQL."""
        if not self.native_async:
            with self._readers.connection() as connection:
                cursor = connection.cursor()
                try:
                    return statement.run(cursor, parameters)
                finally:
                    cursor.close()
        async with (
            self._async_readers.connection() as connection,
            connection.cursor() as cursor,
        ):
            return await statement.run_async(cursor, parameters)

    async def record(self, answer: Answer) -> RecordedAnswer | None:
        """Store ``answer`` (None: no such invite); returns once its transaction committed."""
        if len(self._waiting) >= MAX_WAITING:
            raise QueueFull
        loop = asyncio.get_running_loop()
        done: asyncio.Future[RecordedAnswer | None] = loop.create_future()
        self._waiting.append((answer, done))
        flushing = self._flushing
        # A flush left behind by an event loop that is gone (tests run apps in several loops).
        if flushing is None or flushing.done() or flushing.get_loop() is not loop:
            self._flushing = loop.create_task(self._flush())
        return await done

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                results = await self._commit([answer for answer, _ in batch])
            except Exception:  # noqa: BLE001 - one bad answer must not fail the others
                log.warning("a batch of %d answers failed; writing them one by one", len(batch))
                await self._write_alone(batch)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():  # the client may have gone away
                    done.set_result(result)

    async def _write_alone(self, batch: list[_Waiting]) -> None:
        for answer, done in batch:
            try:
                (result,) = await self._commit([answer])
            except Exception as error:  # noqa: BLE001 - the POST gets it (500, nothing acknowledged)
                if not done.done():
                    done.set_exception(error)
            else:
                if not done.done():
                    done.set_result(result)

    async def _commit(self, answers: list[Answer]) -> list[RecordedAnswer | None]:
        """One transaction for the batch (a failed one is closed with its connection): on a
        worker thread for SQLite (its busy wait must not block the loop), awaited on PostgreSQL."""
        if not self.native_async:
            return await run_in_threadpool(self._write, answers)
        async with self._async_writer.connection() as connection:
            async with connection.cursor() as cursor:
                recorded = await self.statements.record_async(cursor, answers)
            await connection.commit()
            return recorded

    def _write(self, answers: list[Answer]) -> list[RecordedAnswer | None]:
        with self._writer.connection() as connection:
            cursor = connection.cursor()
            try:
                recorded = self.statements.record(cursor, answers)
            finally:
                cursor.close()
            connection.commit()
            return recorded


class _Shelf:
    """Up to ``keep`` idle sqlite3 connections, taken from the engine (so they are set up as every
    other: WAL, busy timeout, foreign keys) and detached from its pool."""

    def __init__(self, database: Database, keep: int) -> None:
        self.database = database
        self.keep = keep
        self._idle: list[Any] = []
        self._lock = threading.Lock()  # SQLite writes run on worker threads
        weakref.finalize(self, _close_all, self._idle)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            pooled = self.database.engine.raw_connection()
            pooled.detach()
            connection = pooled.dbapi_connection
        try:
            yield connection
        except BaseException:
            _close_all([connection])  # in an unknown state: never reused
            raise
        with self._lock:
            if len(self._idle) < self.keep:
                self._idle.append(connection)
                return
        _close_all([connection])


class _AsyncShelf:
    """Up to ``keep`` idle psycopg asyncio connections to the engine's database. Used from the
    event loop only, so no lock: taking and putting back never await."""

    def __init__(self, database: Database, keep: int, *, autocommit: bool) -> None:
        url = database.engine.url.set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self.keep = keep
        # Reads need no transaction (no BEGIN, no ROLLBACK round trips).
        self.autocommit = autocommit
        self._idle: list[Any] = []
        weakref.finalize(self, _finish_all, self._idle)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        connection = self._idle.pop() if self._idle else None
        if connection is None or connection.closed:
            import psycopg  # installed with the postgres extra, like the engine's driver

            connection = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=self.autocommit
            )
        try:
            yield connection
        except BaseException:
            _finish_all([connection])  # in an unknown state: never reused
            raise
        if len(self._idle) < self.keep:
            self._idle.append(connection)
        else:
            _finish_all([connection])


def _close_all(connections: list[Any]) -> None:
    for connection in connections:
        with contextlib.suppress(Exception):  # a broken connection: nothing to save
            connection.close()
    connections.clear()


def _finish_all(connections: list[Any]) -> None:
    """Close asyncio connections without an event loop (libpq's own close; nothing to flush:
    a connection is put back only after its transaction ended)."""
    for connection in connections:
        with contextlib.suppress(Exception):
            connection.pgconn.finish()
    connections.clear()
