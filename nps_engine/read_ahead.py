"""Reading a large import file in a second process while this one writes the rows before them.

Reading and checking a row (the CSV module, the email, score and date checks, the import key's
hash) costs this process about as much CPU as writing it; done in a forked child, the two run
on two cores at once and the file is read while the database takes the rows read earlier
(bench/import_responses.py). The child sends the rows in chunks, in file order, through a
bounded queue: it runs at most ``AHEAD`` chunks ahead, so memory stays flat whatever the file.

A chunk travels as columns of plain values (the answer's time as microseconds since 1970):
pickling a row's datetime and named tuple one by one cost more than reading the row. What
arrives is what :meth:`ResponseCsv.rows` yields, the same rows and errors in the same order; an
exception the reading raises (a file that is not UTF-8) is raised here after the rows before it.

The child is made by ``os.fork`` and leaves by ``os._exit``, not by ``multiprocessing.Process``,
which runs in the child every after-fork hook other libraries registered in this process: after
the Celery tests, kombu's closed its pooled Redis connections there and blocked on one. The
child needs none of them: it touches the reader, its file and the queue, nothing else.
"""

from __future__ import annotations

import multiprocessing
import operator
import os
import signal
from collections.abc import Generator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from itertools import islice, repeat
from queue import Empty
from types import MappingProxyType
from typing import Any

from nps_engine.response_import import ImportedResponse, ResponseCsv, RowError

CHUNK = 4_000  # rows per message
AHEAD = 12  # chunks the child may read before this process takes them
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_PROPERTIES: Mapping[str, str] = MappingProxyType({})
Chunk = tuple[Any, ...]


def can_read_ahead() -> bool:
    """Whether this platform forks (the child inherits the reader, its open file and position)."""
    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()


def read_ahead(reader: ResponseCsv) -> Generator[ImportedResponse | RowError, None, None]:
    """``reader.rows()``, read by a child forked now, before the caller opens its database
    connection (the child never touches one, and leaves without closing anything inherited).
    Iterate the result to the end or close it: either ends the child."""
    queue: Any = multiprocessing.get_context("fork").Queue(maxsize=AHEAD)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's coverage is not collected
        code = 1
        try:
            _read(reader, queue)
            code = 0
        finally:
            os._exit(code)  # no atexit handlers, no flushing of this process's buffers
    return _received(child, queue)


def _received(child: int, queue: Any) -> Generator[ImportedResponse | RowError, None, None]:
    alive = True  # not reaped yet
    try:
        while True:
            try:
                message = queue.get(timeout=1.0)
            except Empty:
                if alive and os.waitpid(child, os.WNOHANG)[0] == 0:
                    continue  # still reading
                if alive:  # it has just left: its last messages may still be on their way
                    alive = False
                    continue
                # Killed (out of memory, say) before its last message: an error, not a hang.
                raise RuntimeError("the process reading the file stopped before its end") from None
            if message is None:
                return
            if isinstance(message, BaseException):
                raise message
            yield from _rows(message)
    finally:
        if alive:
            # This process stopped early (an error while writing), or the child has sent its
            # last message and is leaving: either way nothing more is wanted from it.
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
        queue.close()


def _read(reader: ResponseCsv, queue: Any) -> None:
    """The child: every row of the file, in chunks, then None (or, after the rows read before
    it, the exception that stopped the reading)."""
    rows = reader.rows()
    end: Exception | None = None
    while end is None:
        good: list[ImportedResponse] = []
        errors: list[tuple[int, RowError]] = []
        try:
            for row in rows:
                if isinstance(row, RowError):
                    errors.append((len(good) + len(errors), row))
                else:
                    good.append(row)
                if len(good) + len(errors) >= CHUNK:
                    break
        except Exception as error:  # noqa: BLE001 - handed to the parent, which raises it
            end = error
        if not good and not errors:
            break
        queue.put(_columns(good, errors))
    queue.put(end)
    queue.close()
    queue.join_thread()  # everything sent before the child leaves


def _columns(good: list[ImportedResponse], errors: list[tuple[int, RowError]]) -> Chunk:
    columns = zip(*good, strict=True) if good else ((),) * 8
    lines, keys, emails, scores, times, comments, orders, properties = columns
    micros = list(map(operator.floordiv, map(operator.sub, times, repeat(_EPOCH)),
                      repeat(_MICROSECOND)))  # fmt: skip
    # Most files have no other columns: an empty dict per row need not travel.
    kept = properties if any(properties) else None
    return lines, keys, emails, scores, micros, comments, orders, kept, errors


def _rows(chunk: Chunk) -> Iterator[ImportedResponse | RowError]:
    lines, keys, emails, scores, micros, comments, orders, kept, errors = chunk
    times = map(_EPOCH.__add__, map(timedelta, repeat(0), repeat(0), micros))
    # The reader's empty properties, as one read-only mapping (what ImportedResponse defaults to)
    extra = kept if kept is not None else repeat(_NO_PROPERTIES)
    # tuple.__new__ in C rather than the named tuple's own __new__, a Python function
    fields = zip(lines, keys, emails, scores, times, comments, orders, extra, strict=False)
    good = map(tuple.__new__, repeat(ImportedResponse), fields)
    if not errors:
        yield from good
        return
    position = 0
    for at, error in errors:
        yield from islice(good, at - position)
        yield error
        position = at + 1
    yield from good
