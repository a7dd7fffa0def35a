"""A big export of a SQLite store, read and written in parts by worker processes.

SQLite runs a query inside the process that asks for it. An export of a million answers spent
71% of its time in SQLite's steps (each answer's last ticket, latest order and pushed tags
looked up in indexes) and the rest shaping and writing cells: all of it on one core, under one
GIL. The export's rows are independent of one another, so it is cut by time into parts of
:data:`PART` answers (keyset bounds on ``(responded_at, id)``, the feed's own order, read from
the time index), and worker processes, one per core, each read and write whole parts while
this process hands them out and writes the finished ones in order. At most two parts per
worker are ahead of the writer (about 10 MB of text each): memory stays flat however big the
export, and a slow reader (a download) holds the workers back rather than filling memory.

PostgreSQL does not need it: its server runs the export's joins in parallel workers of its own
(``response_feed._plain_batches``). A small export (fewer than two parts) is written here.
Workers are started with ``spawn``, not ``fork``: the web server that asks for an export runs
threads, and a forked child would inherit their locks.
"""

from __future__ import annotations

import gc
import os
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, event, func, select, type_coerce

from nps_engine.config.settings import SegmentSettings
from nps_engine.response_export import ExportForm
from nps_engine.response_filters import ResponseFilters
from nps_engine.store.database import Database
from nps_engine.store.facts_reader import _utc
from nps_engine.store.feed_query import Cursor, joined
from nps_engine.store.feed_themes import FeedThemes
from nps_engine.store.models import Response

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from nps_engine.store.response_feed import Feed

PART = 25_000  # answers per part: about 8 MB of CSV, a few hundred ms of a worker's time
MAX_WORKERS = 4
_r = Response.__table__.c

# A part: the answers older than ``upper`` (None: the newest) and no older than ``lower``
# (None: the oldest), newest first.
Bounds = tuple[Cursor | None, Cursor | None]


def workers_for(database: Database) -> int:
    """How many worker processes an export of ``database`` may use (0: none, written here)."""
    url = database.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return 0  # PostgreSQL parallelises the query itself; in-memory SQLite is per process
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores, MAX_WORKERS) if cores and cores > 1 else 0


def in_parts(database: Database, conditions: Sequence[Any]) -> bool:
    """Whether the answers matching ``conditions`` (the feed's filters but the segment) make
    more than one part (counted up to that, from the time index: milliseconds)."""
    some = select(_r.id).select_from(joined()).where(*conditions).limit(PART + 1).subquery()
    with database.reads.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(some)).scalar_one()) > PART


def part_bounds(database: Database, conditions: Sequence[Any]) -> Generator[Bounds]:
    """The export's parts, newest first: every :data:`PART`-th answer matching ``conditions``
    ends one, read from the time index as the parts are handed out.

    Any decreasing bounds cut the keys into parts with none lost or doubled, answers that
    arrive or go meanwhile included: each part reads its own key range when it runs."""
    keys = (
        select(type_coerce(_r.responded_at, Text), _r.id)
        .select_from(joined())
        .where(*conditions)
        .order_by(_r.responded_at.desc(), _r.id.desc())
    )
    with database.engine.connect() as connection:
        found = connection.execute(keys)
        cursor = found.cursor  # the driver's tuples: no Row built for each of a million keys
        upper: Cursor | None = None
        while len(batch := cursor.fetchmany(PART)) == PART:
            at, answer_id = batch[-1]
            lower = (_utc(at), answer_id)
            yield upper, lower
            upper = lower
        yield upper, None


@dataclass(frozen=True)
class _FeedSpec:
    """What a worker needs to rebuild the exporting feed (everything but the open database)."""

    url: str
    store: str
    timezone: str
    settings: SegmentSettings
    now: datetime
    usual_return_days: float | None
    themes: FeedThemes


class ExportInParts:
    """The text of an export, part by part, in order (an iterator of ``str``); ``rows``: how
    many answers were written so far."""

    def __init__(
        self, feed: Feed, filters: ResponseFilters, conditions: Sequence[Any], form: ExportForm,
        workers: int,
    ) -> None:  # fmt: skip
        self.rows = 0
        self._feed, self._filters, self._form = feed, filters, form
        self._conditions, self._workers = conditions, workers

    def __iter__(self) -> Iterator[str]:
        feed = self._feed
        spec = _FeedSpec(
            feed.database.engine.url.render_as_string(hide_password=False), feed.store,
            feed.timezone, feed.settings, feed.now, feed.usual_return_days, feed.themes,
        )  # fmt: skip
        # Imported here: the report's "what they said" reads through this module's feed but
        # never writes in parts, and multiprocessing is 60 ms of its start-up.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(
            self._workers, multiprocessing.get_context("spawn"), _start_worker, (spec,)
        )
        ahead: deque[Future[tuple[str, int]]] = deque()
        bounds = part_bounds(feed.database, self._conditions)
        parts = enumerate(bounds)
        try:
            for _ in range(2 * self._workers):
                self._hand_out(pool, ahead, parts)
            while ahead:
                text, rows = ahead.popleft().result()
                self._hand_out(pool, ahead, parts)
                self.rows += rows
                if text:
                    yield text
        finally:  # finished, failed, or the reader went away: no part is started after
            bounds.close()
            pool.shutdown(wait=False, cancel_futures=True)

    def _hand_out(
        self,
        pool: ProcessPoolExecutor,
        ahead: deque[Future[tuple[str, int]]],
        parts: Iterator[tuple[int, Bounds]],
    ) -> None:
        started = next(parts, None)
        if started is not None:
            index, bounds = started
            ahead.append(pool.submit(_write_part, self._filters, self._form, bounds, index == 0))


_worker_feed: Feed | None = None


def _start_worker(spec: _FeedSpec) -> None:
    from nps_engine.store.response_feed import MAP_BYTES, Feed

    global _worker_feed
    database = Database(spec.url)

    # The worker's connection maps the file once, for all its parts: a mapping made per part
    # took its page faults again on every part (0.2-0.3 s of each 25,000 answers).
    @event.listens_for(database.engine, "connect")
    def _mapped(connection: Any, _record: object) -> None:
        connection.execute(f"PRAGMA mmap_size={MAP_BYTES}")

    _worker_feed = Feed(
        database, spec.store, spec.timezone, spec.settings, spec.now, spec.usual_return_days,
        spec.themes,
    )  # fmt: skip
    # A part makes no reference cycles, only short-lived rows and text, yet its 25,000 tuples
    # set off the cycle collector over and over, walking what the imports left (py-spy: 2% of
    # a part's samples in gc_collect_main). The worker lives for one export.
    gc.freeze()
    gc.disable()


def _write_part(
    filters: ResponseFilters, form: ExportForm, bounds: Bounds, first: bool
) -> tuple[str, int]:
    """One part of the export as text (the header with the first part), and its rows."""
    assert _worker_feed is not None, "a worker writes parts once started"
    rows = list(_worker_feed.export_rows(filters, between=bounds))
    return "".join(form.chunks(rows, first=first)), len(rows)
