"""The answers as a reader sees them: newest first, filtered, with who, what and where it went.

Shared by the dashboard's feed and export and by ``nps responses list``. Pages are cut by keyset
(``responded_at``, ``id``) rather than OFFSET, so page 500 costs what page 1 costs and an export of
a million rows streams in batches with flat memory. Which segments an answer is in comes from the
report's own facts (``report_facts``), so the feed and the report never disagree; a segment filter
is applied to those facts batch by batch, with a bound on how far one page looks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Select,
    Text,
    and_,
    any_,
    false,
    func,
    literal,
    null,
    select,
    true,
    tuple_,
    type_coerce,
)

from nps_engine.config.settings import SegmentSettings
from nps_engine.records import SurveyKind
from nps_engine.response_filters import SCORE_RANGES, ResponseFilters
from nps_engine.response_view import FeedRow
from nps_engine.segments import (
    ResponseFacts,
    Segment,
    StoreHabits,
    enabled_segments,
    optional_facts,
)
from nps_engine.store.database import Database

# The report's own fact query and reader: the feed and the report never disagree on segments.
from nps_engine.store.fact_query import OPTIONAL_FACTS, with_facts
from nps_engine.store.facts_reader import FactsReader, _utc
from nps_engine.store.feed_facts import FactsOfRows, History, read_history
from nps_engine.store.feed_themes import FeedThemes
from nps_engine.store.models import CommentTheme, Customer, Invite, Order, Response, TagState
from nps_engine.store.order_habits import usual_return_days
from nps_engine.store.segment_conditions import SegmentSql

_r = Response.__table__.c
_c = Customer.__table__.c
_o = Order.__table__.c
_i = Invite.__table__.c
_ct = CommentTheme.__table__.c
_BATCH = 500
# A rare segment must not make one page read the whole table: after this many answers the page
# ends short, with a link that carries on from where it stopped.
SCAN_LIMIT = 5_000
_BY_ID = 200  # batches up to this size name their answers by id (see Feed._in_batch)

Cursor = tuple[datetime, int]


@dataclass(frozen=True, slots=True)
class FeedPage:
    rows: list[FeedRow]
    next_cursor: Cursor | None  # None on the last page
    scanned_out: bool = False  # the page stopped at SCAN_LIMIT, not at the end


@dataclass(frozen=True)
class Feed:
    """One store's answers under its segment definitions, read at ``now``."""

    database: Database
    store: str
    timezone: str
    segments: Sequence[Segment]
    now: datetime
    support_window_days: int = 90
    optional: frozenset[str] = OPTIONAL_FACTS
    # The built-in segments as SQL (None: every segment filter scans, checked in Python).
    segment_sql: SegmentSql | None = None
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
        usual_gap: Callable[[Database, str, datetime], float | None] = usual_return_days,
    ) -> Feed:
        """The feed under the store's segment settings, read as ``nps report`` reads them
        (the store's usual gap between orders included: ``habits`` when measured as of ``now``
        already, else ``usual_gap``, which may be a cache's)."""
        if habits is not None and habits.as_of == now:
            usual = habits.usual_return_days
        else:
            usual = usual_gap(database, store, now)
        dialect = database.engine.dialect.name
        return cls(
            database,
            store,
            timezone,
            enabled_segments(segments, now, usual),
            now,
            segments.support_contacted.window_days,
            optional_facts(segments),
            SegmentSql(store, segments, now, usual, dialect),
            FeedThemes.of_store(database, store),
        )

    def page(
        self, filters: ResponseFilters, after: Cursor | None = None, limit: int = 50
    ) -> FeedPage:
        rows: list[FeedRow] = []
        scanned = 0
        cursor = after
        exact_in_sql = filters.segment is None or self._segment_condition(filters) is not None
        while len(rows) <= limit and scanned < SCAN_LIMIT:
            batch = self._batch(filters, cursor, limit + 1 if exact_in_sql else _BATCH)
            if not batch:
                return FeedPage(rows[:limit], None)
            scanned += len(batch)
            cursor = (batch[-1].responded_at, batch[-1].id)
            for row in batch:
                if filters.segment is None or filters.segment in row.segments:
                    rows.append(row)
                    if len(rows) > limit:
                        last = rows[limit - 1]
                        return FeedPage(rows[:limit], (last.responded_at, last.id))
        if len(rows) > limit:
            last = rows[limit - 1]
            return FeedPage(rows[:limit], (last.responded_at, last.id))
        return FeedPage(rows, cursor, scanned_out=True)

    def rows(self, filters: ResponseFilters, batch_size: int = 2000) -> Iterator[FeedRow]:
        """Every matching answer, newest first (exports): one query streamed from the database
        (a server-side cursor on PostgreSQL), its rows completed ``batch_size`` at a time."""
        facts = FactsOfRows(self.now, self.support_window_days)
        with self.database.engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=batch_size)
            found = result.execute(self._query(filters))
            try:
                for batch in found.partitions():
                    for row in self._complete(connection, filters, batch, facts):
                        if filters.segment is None or filters.segment in row.segments:
                            yield row
            finally:  # a reader that stops early (a bounded read) closes the server-side cursor
                found.close()

    def count(self, filters: ResponseFilters) -> int | None:
        """How many answers match (None with a segment filter: that needs every answer's facts)."""
        if filters.segment is not None:
            return None
        query = select(func.count()).select_from(_joined()).where(*self._conditions(filters))
        with self.database.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def _query(self, filters: ResponseFilters, after: Cursor | None = None) -> Select[Any]:
        query = _select_rows().where(*self._conditions(filters))
        if after is not None:
            at, answer_id = after
            # A row value, not "a < x OR (a = x AND b < y)": both databases then read the
            # (store, responded_at) index from the cursor on instead of scanning and sorting.
            query = query.where(tuple_(_r.responded_at, _r.id) < tuple_(at, answer_id))
        return query.order_by(_r.responded_at.desc(), _r.id.desc())

    def _batch(self, filters: ResponseFilters, after: Cursor | None, size: int) -> list[FeedRow]:
        facts = FactsOfRows(self.now, self.support_window_days)
        with self.database.reads.connect() as connection:
            found = connection.execute(self._query(filters, after).limit(size)).all()
            return self._complete(connection, filters, found, facts)

    def _complete(
        self, connection: Any, filters: ResponseFilters, found: Sequence[Any], facts: FactsOfRows
    ) -> list[FeedRow]:
        """Rows of :meth:`_query` (consecutive, newest first) with their segments and tags."""
        if not found:
            return []
        people = select(_r.customer_id).where(_r.store == self.store, *self._in_batch(found))
        if self.optional:  # a custom rule reads facts only the report's fact query has
            memberships = self._memberships(connection, found)
        else:
            emails = people.with_only_columns(_r.email).where(_r.customer_id.is_(None))
            answers = people.with_only_columns(_r.id, _r.customer_id, _r.order_id)
            history = read_history(connection, self.store, answers, people, emails)
            memberships = self._memberships_of(history, found, facts)
        tags = _pushed_tags(connection, self.store, people)
        themes = self.themes
        return [_feed_row(row, memberships.get(row[0], ()), tags, themes) for row in found]

    def _in_batch(self, found: Sequence[Any]) -> list[ColumnElement[bool]]:
        """The batch's answers, for the queries that read their customers' history: a page's
        few by id; an export's thousands by their range of the feed's order (a superset when
        filters leave answers out, and no list of thousands of ids to send)."""
        if len(found) <= _BY_ID:
            ids = [row[0] for row in found]
            if self.database.dialect == "postgresql":
                # One array parameter, not one per id: each query's text is then the same on
                # every page, so psycopg converts it once and PostgreSQL prepares it (after five
                # runs on a connection) instead of parsing and planning it again.
                return [_r.id == any_(literal(ids, ARRAY(BigInteger)))]
            return [_r.id.in_(ids)]
        newest, oldest = found[0], found[-1]
        return [
            tuple_(_r.responded_at, _r.id) <= tuple_(_utc(newest[1]), newest[0]),
            tuple_(_r.responded_at, _r.id) >= tuple_(_utc(oldest[1]), oldest[0]),
        ]

    def _memberships_of(
        self, history: History, found: Sequence[Any], facts: FactsOfRows
    ) -> dict[int, tuple[str, ...]]:
        """Each answer's segments, from facts built set by set (``feed_facts``)."""
        segments = self.segments
        result: dict[int, tuple[str, ...]] = {}
        for row in found:
            fact = facts.facts(history, row[0], row[2], row[6], row[7], row[4], row[1],
                               *row[_FACTS_AT:])  # fmt: skip
            result[row[0]] = tuple([s.name for s in segments if s.matches(fact)])
        return result

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
            conditions.append(_r.comment.icontains(filters.search.lower(), autoescape=True))
        if filters.language is not None:
            conditions.append(func.lower(func.substr(_language(), 1, 2)) == filters.language)
        if filters.theme is not None:
            conditions.append(self.themes.condition(filters.theme))
        segment = self._segment_condition(filters)
        if segment is not None:
            conditions.append(segment)
        return conditions

    def _segment_condition(self, filters: ResponseFilters) -> ColumnElement[bool] | None:
        """The SQL superset of a built-in segment (the rows are still checked in Python)."""
        if filters.segment is None or self.segment_sql is None:
            return None
        return self.segment_sql.condition(filters.segment)

    def _memberships(self, connection: Any, found: Sequence[Any]) -> dict[int, tuple[str, ...]]:
        """Each answer's segments, from the facts the report would build for it."""
        result: dict[int, tuple[str, ...]] = {}
        for kind in {row.kind for row in found}:
            ids = [row.id for row in found if row.kind == kind]
            survey_kind = SurveyKind(kind)
            for facts in _facts_of_answers(self, connection, survey_kind, ids):
                result[facts.response_id] = tuple(s.name for s in self.segments if s.matches(facts))
        return result


def _facts_of_answers(
    feed: Feed, connection: Any, kind: SurveyKind, ids: Sequence[int]
) -> Iterator[ResponseFacts]:
    answers = (
        select(
            _r.id, _r.customer_id, _r.email, _r.order_id, _r.score, _r.responded_at,
            null().label("month"), true().label("chosen"), false().label("month_latest"),
        )
        .where(_r.store == feed.store, _r.id.in_(ids))
        .subquery("feed_answers")
    )  # fmt: skip
    result = connection.execute(with_facts(feed.store, kind, answers, feed.optional))
    reader = FactsReader(kind, feed.now, feed.support_window_days, list(result.keys()))
    for row in result:
        yield reader.facts(row)


def _language() -> ColumnElement[Any]:
    return func.coalesce(_i.locale, _c.locale)


def _joined() -> Any:
    return (
        Response.__table__.outerjoin(Invite.__table__, and_(_i.id == _r.invite_id))
        .outerjoin(Customer.__table__, and_(_c.store == _r.store, _c.id == _r.customer_id))
        .outerjoin(Order.__table__, and_(_o.store == _r.store, _o.id == _r.order_id))
        .outerjoin(CommentTheme.__table__, and_(_ct.store == _r.store, _ct.response_id == _r.id))
    )


def _select_rows() -> Select[Any]:
    """The feed's columns, read by position (a million times in an export): the answer and
    its customer and order to show, then from ``_FACTS_AT`` on what ``FactsOfRows.facts``
    takes after the answer's own columns."""
    return select(
        _r.id, _raw(_r.responded_at).label("responded_at"), _r.kind, _r.source, _r.score,
        _r.comment, _r.customer_id, _r.email, _r.order_id, _r.followup_state,
        _r.followup_ticket_id, _language().label("language"), _c.first_name, _c.last_name,
        _raw(_c.redacted_at).label("redacted_at"), _o.name.label("order_name"), _ct.theme_id,
        _raw(_ct.assigned_at).label("theme_assigned_at"),
        # facts (_FACTS_AT on)
        _c.orders_count, _c.total_spent, _raw(_c.tags).label("tags"), _c.country,
        _raw(_o.created_at).label("surveyed_at"), _o.returned, _o.refunded,
    ).select_from(_joined())  # fmt: skip


_FACTS_AT = 18


def _raw(column: Any) -> Any:
    """As the driver gives it (parsed by ``facts_reader._utc`` only where needed)."""
    return type_coerce(column, Text)


def _pushed_tags(
    connection: Any, store: str, people: Select[Any]
) -> dict[int, dict[str, tuple[str, ...]]]:
    """The tags last pushed for ``people`` (a query of customer ids), by system."""
    t = TagState.__table__.c
    query = select(t.customer_id, t.system, t.tags).where(
        t.store == store, t.customer_id.in_(people), t.pushed_at.is_not(None)
    )
    pushed: dict[int, dict[str, tuple[str, ...]]] = {}
    for customer_id, system, tags in connection.execute(query):
        pushed.setdefault(customer_id, {})[system] = tuple(tags or ())
    return pushed


_NO_TAGS: dict[str, tuple[str, ...]] = {}


def _feed_row(
    row: Sequence[Any],
    segments: tuple[str, ...],
    tags: dict[int, dict[str, tuple[str, ...]]],
    themes: FeedThemes,
) -> FeedRow:
    (answer_id, responded_at, kind, source, score, comment, customer_id, email, order_id,
     followup_state, followup_ticket_id, language, first_name, last_name, redacted_at,
     order_name, theme_id, theme_assigned_at) = row[:_FACTS_AT]  # fmt: skip
    name = None
    if redacted_at is None:
        name = " ".join(part for part in (first_name, last_name) if part) or None
    # Positional, in FeedRow's field order: this runs once per exported answer.
    return FeedRow(
        answer_id, _utc(responded_at), kind, source, score, comment,
        language[:2].lower() if language else None, customer_id, name, email, order_id,
        order_name, segments, tags.get(customer_id, _NO_TAGS) if customer_id else {},
        followup_state, followup_ticket_id, themes.label(theme_id, theme_assigned_at),
    )  # fmt: skip
