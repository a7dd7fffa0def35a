"""The answer pages' way to the database: reads in place, writes through a short queue.

Writes. SQLite has one writer at a time; a process-wide lock around each answer made the answers
take turns, each with its own transaction and its own thread hand-off. Instead answers wait in a
short in-memory queue and one flush at a time writes everything waiting, in ONE transaction on
one worker thread (one hand-off, one commit for the whole batch), then answers each POST. Under
load a batch holds as many answers as arrived during the previous one, so the cost of a commit
is shared; alone, an answer is written at once. Another process writing (``nps run``, a worker)
is waited for by SQLite's own busy timeout, on the worker thread, not on the event loop. A POST is
acknowledged only after its transaction committed, so an acknowledged answer is never lost. The
same queue serves PostgreSQL, where a batch also saves a commit (a WAL flush) per answer.

Reads (the page's invite and comment) are one primary-key SELECT. On SQLite in WAL mode a reader
never waits for a writer, so it runs in place on the event loop, a few tens of microseconds, with
no thread hand-off; on PostgreSQL it is a network round trip and goes to a worker thread.

Both use the driver's connections kept on a small :class:`_Shelf`, outside the engine's pool: a
pool checkout cost three times the read itself on SQLite, and on PostgreSQL its pre-ping is one
more round trip per page. A connection that fails is closed, never put back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from nps_engine.store.database import Database
from nps_engine.store.responses import Answer, AnswerStatements, RecordedAnswer

log = logging.getLogger(__name__)

T = TypeVar("T")
# Beyond this many answers waiting, a POST is answered 503 at once (the page says "not saved,
# try again") rather than queued behind a database that is not keeping up.
MAX_WAITING = 2000
# One transaction holds at most this many answers, so a batch never holds the lock for long.
MAX_BATCH = 200
# Idle read connections kept open: as many as pages read at once under load (one per worker
# thread on PostgreSQL; one on SQLite, where reads run on the event loop).
IDLE_READERS = 8


class QueueFull(Exception):
    """Too many answers are waiting to be written."""


class AnswerQueue:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.reads_in_place = database.dialect == "sqlite"
        self.statements = AnswerStatements(database.engine.dialect)
        self._readers = _Shelf(database, IDLE_READERS, autocommit=True)
        self._writer = _Shelf(database, 1, autocommit=False)
        self._waiting: list[tuple[Answer, asyncio.Future[RecordedAnswer | None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def read(self, work: Callable[[Any], T]) -> T:
        """``work`` on a DBAPI cursor: in place on SQLite, on a worker thread on PostgreSQL."""
        if self.reads_in_place:
            return self._read(work)
        return await run_in_threadpool(self._read, work)

    def _read(self, work: Callable[[Any], T]) -> T:
        with self._readers.connection() as connection:
            cursor = connection.cursor()
            try:
                return work(cursor)
            finally:
                cursor.close()

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
                results = await run_in_threadpool(self._write, [answer for answer, _ in batch])
            except Exception:  # noqa: BLE001 - one bad answer must not fail the others
                log.warning("a batch of %d answers failed; writing them one by one", len(batch))
                await self._write_alone(batch)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():  # the client may have gone away
                    done.set_result(result)

    async def _write_alone(
        self, batch: list[tuple[Answer, asyncio.Future[RecordedAnswer | None]]]
    ) -> None:
        for answer, done in batch:
            try:
                (result,) = await run_in_threadpool(self._write, [answer])
            except Exception as error:  # noqa: BLE001 - the POST gets it (500, nothing acknowledged)
                if not done.done():
                    done.set_exception(error)
            else:
                if not done.done():
                    done.set_result(result)

    def _write(self, answers: list[Answer]) -> list[RecordedAnswer | None]:
        """One transaction for the batch (a failed one is closed with its connection)."""
        with self._writer.connection() as connection:
            cursor = connection.cursor()
            try:
                recorded = self.statements.record(cursor, answers)
            finally:
                cursor.close()
            connection.commit()
            return recorded


class _Shelf:
    """Up to ``keep`` idle DBAPI connections, taken from the engine (so they are set up as every
    other: WAL, timeouts) and detached from its pool."""

    def __init__(self, database: Database, keep: int, *, autocommit: bool) -> None:
        self.database = database
        self.keep = keep
        # PostgreSQL reads need no transaction (no BEGIN, no ROLLBACK round trips); SQLite's
        # driver opens none for a SELECT anyway.
        self.autocommit = autocommit and database.dialect == "postgresql"
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._idle)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = self._open()
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

    def _open(self) -> Any:
        pooled = self.database.engine.raw_connection()
        pooled.detach()
        connection: Any = pooled.dbapi_connection
        if self.autocommit:
            connection.autocommit = True
        return connection


def _close_all(connections: list[Any]) -> None:
    for connection in connections:
        with contextlib.suppress(Exception):  # a broken connection: nothing to save
            connection.close()
    connections.clear()
