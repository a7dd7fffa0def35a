"""The answers as a reader sees them: newest first, filtered, with who, what and where it went.

Shared by the dashboard's feed and export and by ``nps responses list``. Pages are cut by keyset
(``responded_at``, ``id``) rather than OFFSET, so page 500 costs what page 1 costs. Every page
and every export is one query (``feed_query``): the database computes each answer's segments
with the report's own conditions, so the feed and the report never disagree, and an export of a
million rows streams (a server-side cursor on PostgreSQL) with flat memory, Python only shaping
the values it hands over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Select, and_, func, select, tuple_

from nps_engine.config.settings import SegmentSettings
from nps_engine.response_export import ExportForm
from nps_engine.response_filters import SCORE_RANGES, ResponseFilters
from nps_engine.response_view import FeedRow
from nps_engine.segments import Segment, StoreHabits
from nps_engine.store import export_parts, order_habits
from nps_engine.store.database import Database
from nps_engine.store.export_parts import Bounds
from nps_engine.store.fact_query import tuned_for_report
from nps_engine.store.feed_query import Cursor, FeedQuery, joined, language, tuned_for_page
from nps_engine.store.feed_shapes import FeedShapes
from nps_engine.store.feed_themes import FeedThemes
from nps_engine.store.models import Response

_r = Response.__table__.c
_BATCH = 500
# A segment filter Python has to check (a rule reading imported answers' properties) must not
# make one page read the whole table: after this many answers the page ends short, with a link
# that carries on from where it stopped.
SCAN_LIMIT = 5_000

__all__ = ["SCAN_LIMIT", "Cursor", "Export", "Feed", "FeedPage"]


@dataclass(frozen=True, slots=True)
class FeedPage:
    rows: list[FeedRow]
    next_cursor: Cursor | None  # None on the last page
    scanned_out: bool = False  # the page stopped at SCAN_LIMIT, not at the end


@dataclass(frozen=True)
class Feed:
    """One store's answers under its segment settings, read at ``now``."""

    database: Database
    store: str
    timezone: str
    settings: SegmentSettings
    now: datetime
    # The store's usual gap between orders (None: churn risk without "went quiet").
    usual_return_days: float | None = None
    themes: FeedThemes = field(default_factory=FeedThemes)  # names of the comment themes

    @classmethod
    def of_store(
        cls,
        database: Database,
        store: str,
        timezone: str,
        segments: SegmentSettings,
        now: datetime,
        habits: StoreHabits | None = None,
        usual_gap: Callable[
            [Database, str, datetime], float | None
        ] = order_habits.usual_return_days,
    ) -> Feed:
        """The feed under the store's segment settings, read as ``nps report`` reads them
        (the store's usual gap between orders included: ``habits`` when measured as of ``now``
        already, else ``usual_gap``, which may be a cache's)."""
        if habits is not None and habits.as_of == now:
            usual = habits.usual_return_days
        else:
            usual = usual_gap(database, store, now)
        themes = FeedThemes.of_store(database, store)
        return cls(database, store, timezone, segments, now, usual, themes)

    @cached_property
    def query(self) -> FeedQuery:
        return FeedQuery(
            self.store, self.settings, self.now, self.usual_return_days,
            self.settings.support_contacted.window_days, self.database.engine.dialect.name,
            self.themes.available,
        )  # fmt: skip

    @property
    def segments(self) -> tuple[Segment, ...]:
        return self.query.segments

    def page(
        self, filters: ResponseFilters, after: Cursor | None = None, limit: int = 50
    ) -> FeedPage:
        if filters.segment is None or self.query.in_sql(filters.segment):
            rows = self._read(filters, after, limit + 1)
            if len(rows) > limit:
                last = rows[limit - 1]
                return FeedPage(rows[:limit], (last.responded_at, last.id))
            return FeedPage(rows, None)
        return self._scanned_page(filters, after, limit)

    def rows(self, filters: ResponseFilters, batch_size: int = 2000) -> Iterator[FeedRow]:
        """Every matching answer, newest first, as the feed shows it."""
        shapes = self._shapes()
        for batch, extra in self._stream(filters, batch_size):
            yield from shapes.feed_rows(batch, extra)

    def themed_answers(
        self, filters: ResponseFilters, batch_size: int = 5000
    ) -> Iterator[tuple[Sequence[Any], int]]:
        """Every answer matching ``filters`` (but the segment filter) that has a comment theme
        row, in no order, with its segment mask (bit i: in ``segments[i]``): each row holds
        ``feed_query.THEMED`` (times as the driver gives them). The comment themes part of the
        report and of ``nps themes`` counts these: the database computes each answer's segments,
        as for the feed, rather than Python from every answer's facts."""
        query = self.query.select_themed(self._conditions(filters))
        python = self.query.python_segments
        with self.database.engine.connect() as connection:
            tuned_for_report(connection)
            for batch in _streamed(connection, query, batch_size, plain=python is None):
                extra = None if python is None else python.bits(connection, batch)
                for row in batch:
                    mask = row[-1] | (extra.get(row[0], 0) if extra is not None else 0)
                    yield row, mask

    def export(self, filters: ResponseFilters, form: ExportForm) -> Export:
        """Every matching answer written in ``form``, as text in order (an iterable of ``str``
        counting the answers written in ``rows``). A big export of a SQLite store is read and
        written in parts by worker processes (``export_parts``)."""
        workers = export_parts.workers_for(self.database)
        conditions = self._conditions(filters)
        if workers and export_parts.in_parts(self.database, conditions):
            return export_parts.ExportInParts(self, filters, conditions, form, workers)
        return _ExportHere(self.export_rows(filters), form)

    def export_rows(
        self, filters: ResponseFilters, batch_size: int = 2000, between: Bounds | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """Every matching answer, newest first, as the plain values of
        ``response_export.COLUMNS`` (what ``csv_chunks`` and ``jsonl_chunks`` write);
        ``between``: only those of one part of the export (``export_parts``)."""
        shapes = self._shapes()
        for batch, extra in self._stream(filters, batch_size, whole=True, between=between):
            yield from shapes.export_rows(batch, extra)

    def count(self, filters: ResponseFilters) -> int | None:
        """How many answers match (None with a segment filter: that needs every answer's facts)."""
        if filters.segment is not None:
            return None
        query = select(func.count()).select_from(joined()).where(*self._conditions(filters))
        with self.database.reads.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def _stream(
        self,
        filters: ResponseFilters,
        batch_size: int,
        *,
        whole: bool = False,
        between: Bounds | None = None,
    ) -> Iterator[tuple[Sequence[Any], dict[int, int] | None]]:
        """The query's rows ``batch_size`` at a time from one streamed query, with the mask
        bits of the segments Python tests (None when there are none). ``whole``: an export,
        read to its end (rather than the first rows the report's comments or a reader want):
        the file mapped, PostgreSQL's query run plainly (``_streamed``). ``between``: only the
        answers older than its first cursor and no older than its second (None: no bound)."""
        conditions = self._conditions(filters)
        upper, lower = between or (None, None)
        if lower is not None:
            conditions.append(tuple_(_r.responded_at, _r.id) >= tuple_(*lower))
        query = self.query.select(conditions, filters.segment, upper)
        python = self.query.python_segments
        wanted = self._python_bit(filters)
        with self.database.engine.connect() as connection, _file_mapped(connection, whole):
            tuned_for_report(connection)
            # Python's segments query the same connection between batches: a server-side cursor
            plain = whole and python is None
            for batch in _streamed(connection, query, batch_size, plain=plain):
                extra = None if python is None else python.bits(connection, batch)
                if wanted and extra is not None:
                    batch = [row for row in batch if extra.get(row[0], 0) & wanted]
                yield batch, extra

    def _read(self, filters: ResponseFilters, after: Cursor | None, size: int) -> list[FeedRow]:
        query = self.query.select(self._conditions(filters), filters.segment, after).limit(size)
        python = self.query.python_segments
        with self.database.engine.connect() as connection:
            tuned_for_page(connection)
            found = connection.execute(query).all()
            extra = None if python is None else python.bits(connection, found)
        return self._shapes().feed_rows(found, extra)

    def _scanned_page(self, filters: ResponseFilters, after: Cursor | None, limit: int) -> FeedPage:
        """A page of a segment Python tests: read in batches, with a bound (SCAN_LIMIT)."""
        rows: list[FeedRow] = []
        scanned, cursor = 0, after
        everyone = filters.with_changes(segment=None)
        while scanned < SCAN_LIMIT:
            batch = self._read(everyone, cursor, _BATCH)
            if not batch:
                return FeedPage(rows[:limit], None)
            scanned += len(batch)
            cursor = (batch[-1].responded_at, batch[-1].id)
            for row in batch:
                if filters.segment in row.segments:
                    rows.append(row)
                    if len(rows) > limit:
                        last = rows[limit - 1]
                        return FeedPage(rows[:limit], (last.responded_at, last.id))
        return FeedPage(rows, cursor, scanned_out=True)

    def _python_bit(self, filters: ResponseFilters) -> int:
        """The mask bit of the segment filter when Python tests that segment, else 0."""
        if filters.segment is None or self.query.in_sql(filters.segment):
            return 0
        names = [segment.name for segment in self.segments]
        return 1 << names.index(filters.segment)

    def _shapes(self) -> FeedShapes:
        return FeedShapes([segment.name for segment in self.segments], self.themes)

    def _conditions(self, filters: ResponseFilters) -> list[ColumnElement[bool]]:
        """Every filter but the segment one, as SQL (the one place a new filter goes)."""
        conditions: list[ColumnElement[bool]] = [_r.store == self.store]
        start, end = filters.bounds(self.timezone)
        if start is not None:
            conditions.append(_r.responded_at >= start)
        if end is not None:
            conditions.append(_r.responded_at < end)
        if filters.category is not None:
            low, high = SCORE_RANGES[filters.category]
            conditions.append(_r.score.between(low, high))
        if filters.score is not None:
            conditions.append(_r.score == filters.score)
        if filters.kind is not None:
            conditions.append(_r.kind == filters.kind)
        if filters.with_comment is not None:
            has_comment = and_(_r.comment.is_not(None), func.trim(_r.comment) != "")
            conditions.append(has_comment if filters.with_comment else ~has_comment)
        if filters.search:
            # ILIKE on PostgreSQL, which reads the column's statistics (lower(comment) has
            # none: the planner guessed 0.5% of answers match and sorted every commented one);
            # lower(...) LIKE lower(...) on SQLite.
            conditions.append(_r.comment.icontains(filters.search, autoescape=True))
        if filters.language is not None:
            conditions.append(func.lower(func.substr(language(), 1, 2)) == filters.language)
        if filters.theme is not None:
            conditions.append(self.themes.condition(filters.theme))
        return conditions


class Export(Protocol):
    """An export's text in order; ``rows``: the answers written so far."""

    rows: int

    def __iter__(self) -> Iterator[str]: ...


class _ExportHere:
    """An export written in this process."""

    def __init__(self, rows: Iterable[Sequence[Any]], form: ExportForm) -> None:
        self.rows = 0
        self._values, self._form = rows, form

    def __iter__(self) -> Iterator[str]:
        return self._form.chunks(self._counted())

    def _counted(self) -> Iterator[Sequence[Any]]:
        for row in self._values:
            self.rows += 1
            yield row


# SQLite's largest mapping (SQLITE_MAX_MMAP_SIZE); a smaller file is mapped whole.
MAP_BYTES = 0x7FFF0000


@contextmanager
def _file_mapped(connection: Connection, mapped: bool) -> Iterator[None]:
    """SQLite reads the database file through a memory map for a long read on ``connection``.

    An export looks up each answer's customer, order, last ticket and orders in indexes spread
    over the whole file: with SQLite's 2 MB page cache nearly every lookup is a ``pread`` of the
    file. Mapped, the same pages are read in place: a CSV export of a million answers took
    25.0 s instead of 30.3 s (one run each, load 1.4). The mapped pages are the kernel's page cache,
    shared and given back under pressure; they count in the process's RSS as file pages
    (``RssFile``), not as its own memory (``RssAnon``), which stays flat. The mapping is
    dropped again when the read ends (the connection goes back to the pool). Only exports map
    it: the report reads its comments through the feed, and its peak RSS is a target of its
    own.
    https://www.sqlite.org/mmap.html"""
    if not mapped or connection.dialect.name != "sqlite":
        yield
        return
    if connection.exec_driver_sql("PRAGMA mmap_size").scalar():
        yield  # mapped for as long as the connection lives (an export's worker, export_parts)
        return
    connection.exec_driver_sql(f"PRAGMA mmap_size={MAP_BYTES}")
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA mmap_size=0")


def _streamed(
    connection: Connection, query: Select[Any], size: int, *, plain: bool
) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` ``size`` at a time, with memory flat however many there are.

    ``plain``: whether the connection stays free of other queries until the stream ends: then
    the rows come from the driver's own cursor (:func:`_sqlite_batches`, :func:`_plain_batches`).
    Otherwise (Python's segments query the same connection between batches) they come from a
    server-side cursor.

    (Reading the rows one batch ahead on a thread of their own was tried and measured: no
    gain on either database at a million answers, the reader and SQLite's driver taking the GIL
    in turn for every row.)"""
    if not plain:
        yield from _cursor_batches(connection, query, size)
    elif connection.dialect.name == "postgresql":
        yield from _plain_batches(connection, query, size)
    else:
        yield from _sqlite_batches(connection, query, size)


def _cursor_batches(connection: Connection, query: Select[Any], size: int) -> Iterator[Any]:
    options = connection.execution_options(stream_results=True, yield_per=size)
    found = options.execute(query)
    try:
        yield from found.partitions()
    finally:  # a reader that stops early (a bounded read) closes the cursor
        found.close()


def _sqlite_batches(connection: Connection, query: Select[Any], size: int) -> Iterator[Any]:
    """SQLite's rows of ``query`` as the driver's tuples, read from its cursor.

    SQLite's cursor steps through the result as it is read, so nothing is held; and none of
    the feed's columns has a result processor on SQLite (times come as text, ``_raw``), so the
    driver's tuples are the rows SQLAlchemy would build, without building a ``Row`` for each
    of a million answers (about 2 s of CPU, under the GIL the reader needs)."""
    found = connection.execute(query)
    cursor = found.cursor
    try:
        while batch := cursor.fetchmany(size):
            yield batch
    finally:
        found.close()


def _plain_batches(connection: Connection, query: Select[Any], size: int) -> Iterator[Any]:
    """PostgreSQL's rows of ``query`` from a plain query rather than ``DECLARE CURSOR``.

    A query behind a server-side cursor (SQLAlchemy's ``stream_results``) runs without parallel
    workers and is planned for its first tenth of rows (``cursor_tuple_fraction``): an export
    of a whole store walked the time index with nested loops, 101 s at a million answers where
    the same query run plainly, its joins hashed by three processes, returned every row in
    19 s (EXPLAIN ANALYZE). psycopg's ``stream`` runs it plainly and hands the rows over in
    chunks of ``size`` (libpq's chunked mode) as they arrive: memory stays flat.
    https://www.postgresql.org/docs/current/when-can-parallel-query-be-used.html
    https://www.psycopg.org/psycopg3/docs/api/cursors.html#psycopg.Cursor.stream"""
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    rows = cursor.stream(str(compiled), compiled.params, size=size)
    batch: list[Any] = []
    try:
        for row in rows:
            batch.append(row)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch
    finally:  # a reader that stops early: psycopg cancels the rest of the query
        rows.close()
        cursor.close()
