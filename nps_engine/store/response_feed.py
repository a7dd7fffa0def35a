"""The answers as a reader sees them: newest first, filtered, with who, what and where it went.

Shared by the dashboard's feed and export and by ``nps responses list``. Pages are cut by keyset
(``responded_at``, ``id``) rather than OFFSET, so page 500 costs what page 1 costs and an export of
a million rows streams in batches with flat memory. Which segments an answer is in comes from the
report's own facts (``report_facts``), so the feed and the report never disagree; a segment filter
is applied to those facts batch by batch, with a bound on how far one page looks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, null, select, true, tuple_

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
from nps_engine.store.facts_reader import FactsReader
from nps_engine.store.models import Customer, Invite, Order, Response, TagState
from nps_engine.store.order_habits import usual_return_days

_r = Response.__table__.c
_c = Customer.__table__.c
_o = Order.__table__.c
_i = Invite.__table__.c
_BATCH = 500
# A rare segment must not make one page read the whole table: after this many answers the page
# ends short, with a link that carries on from where it stopped.
SCAN_LIMIT = 5_000

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

    @classmethod
    def of_store(
        cls,
        database: Database,
        store: str,
        timezone: str,
        segments: SegmentSettings,
        now: datetime,
        habits: StoreHabits | None = None,
    ) -> Feed:
        """The feed under the store's segment settings, read as ``nps report`` reads them
        (the store's usual gap between orders included: ``habits`` when measured as of ``now``
        already, else measured here)."""
        if habits is not None and habits.as_of == now:
            usual = habits.usual_return_days
        else:
            usual = usual_return_days(database, store, now)
        return cls(
            database,
            store,
            timezone,
            enabled_segments(segments, now, usual),
            now,
            segments.support_contacted.window_days,
            optional_facts(segments),
        )

    def page(
        self, filters: ResponseFilters, after: Cursor | None = None, limit: int = 50
    ) -> FeedPage:
        rows: list[FeedRow] = []
        scanned = 0
        cursor = after
        while len(rows) <= limit and scanned < SCAN_LIMIT:
            batch = self._batch(filters, cursor, limit + 1 if not filters.segment else _BATCH)
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

    def rows(self, filters: ResponseFilters, batch_size: int = 5000) -> Iterator[FeedRow]:
        """Every matching answer, newest first, read in batches (exports)."""
        cursor: Cursor | None = None
        while True:
            batch = self._batch(filters, cursor, batch_size)
            if not batch:
                return
            for row in batch:
                if filters.segment is None or filters.segment in row.segments:
                    yield row
            cursor = (batch[-1].responded_at, batch[-1].id)

    def count(self, filters: ResponseFilters) -> int | None:
        """How many answers match (None with a segment filter: that needs every answer's facts)."""
        if filters.segment is not None:
            return None
        query = select(func.count()).select_from(_joined()).where(*self._conditions(filters))
        with self.database.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def _batch(self, filters: ResponseFilters, after: Cursor | None, size: int) -> list[FeedRow]:
        query = (
            _select_rows()
            .where(*self._conditions(filters))
            .order_by(_r.responded_at.desc(), _r.id.desc())
            .limit(size)
        )
        if after is not None:
            at, answer_id = after
            # A row value, not "a < x OR (a = x AND b < y)": both databases then read the
            # (store, responded_at) index from the cursor on instead of scanning and sorting.
            query = query.where(tuple_(_r.responded_at, _r.id) < tuple_(at, answer_id))
        with self.database.engine.connect() as connection:
            found = connection.execute(query).all()
            if not found:
                return []
            memberships = self._memberships(connection, found)
            tags = _pushed_tags(connection, self.store, {r.customer_id for r in found})
        return [_feed_row(row, memberships.get(row.id, ()), tags) for row in found]

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
            conditions.append(
                func.lower(_r.comment).contains(filters.search.lower(), autoescape=True)
            )
        if filters.language is not None:
            conditions.append(func.lower(func.substr(_language(), 1, 2)) == filters.language)
        return conditions

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
    )


def _select_rows() -> Select[Any]:
    return select(
        _r.id, _r.responded_at, _r.kind, _r.source, _r.score, _r.comment, _r.customer_id,
        _r.email, _r.order_id, _r.followup_state, _r.followup_ticket_id,
        _language().label("language"), _c.first_name, _c.last_name, _c.redacted_at,
        _o.name.label("order_name"),
    ).select_from(_joined())  # fmt: skip


def _pushed_tags(
    connection: Any, store: str, customer_ids: set[int | None]
) -> dict[int, dict[str, tuple[str, ...]]]:
    known = [customer for customer in customer_ids if customer is not None]
    if not known:
        return {}
    t = TagState.__table__.c
    query = select(t.customer_id, t.system, t.tags).where(
        t.store == store, t.customer_id.in_(known), t.pushed_at.is_not(None)
    )
    pushed: dict[int, dict[str, tuple[str, ...]]] = {}
    for customer_id, system, tags in connection.execute(query):
        pushed.setdefault(customer_id, {})[system] = tuple(tags or ())
    return pushed


def _feed_row(
    row: Any, segments: tuple[str, ...], tags: dict[int, dict[str, tuple[str, ...]]]
) -> FeedRow:
    name = None
    if row.redacted_at is None:
        name = " ".join(part for part in (row.first_name, row.last_name) if part) or None
    language = row.language[:2].lower() if row.language else None
    return FeedRow(
        id=row.id, responded_at=row.responded_at, kind=row.kind, source=row.source,
        score=row.score, comment=row.comment, language=language, customer_id=row.customer_id,
        customer_name=name, email=row.email, order_id=row.order_id, order_name=row.order_name,
        segments=segments, tags=tags.get(row.customer_id, {}) if row.customer_id else {},
        followup_state=row.followup_state, followup_ticket_id=row.followup_ticket_id,
    )  # fmt: skip
