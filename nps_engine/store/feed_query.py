"""The feed's one query: the answers a reader asked for, newest first, each with every column the
feed and its exports show and the segments it is in, all computed by the database.

The segments are the report's own conditions (``segment_sql``) over the same facts
(``fact_sql.fact_columns``: the surveyed order, the customer, and a seek on an index starting
with ``(store, customer_id)`` per looked-up fact), so the feed, its exports and the report never
disagree. The facts sit in a subquery fenced with ``OFFSET 0``: each is computed once per answer,
however many segments read it; the outer query turns the conditions into one bit mask per answer
and applies the segment filter. An export of a million answers is this query streamed, with
nothing left for Python but formatting cells.

A custom rule reading an imported answer's ``property`` has no SQL (``segment_sql``): its bit
is set in Python (:class:`PythonSegments`), from the report's fact query, and only when a
configured rule reads a property.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    false,
    func,
    null,
    select,
    true,
    tuple_,
    type_coerce,
)

from nps_engine.records import SurveyKind
from nps_engine.segments import Segment, SegmentChoices, enabled_segments, optional_facts
from nps_engine.store.fact_query import with_facts
from nps_engine.store.fact_sql import fact_columns
from nps_engine.store.facts_reader import FactsReader
from nps_engine.store.models import CommentTheme, Customer, Invite, Order, Response, TagState
from nps_engine.store.segment_sql import (
    AnswerFacts,
    Condition,
    facts_needed,
    segment_conditions,
    segment_mask,
)

_r = Response.__table__.c
_c = Customer.__table__.c
_o = Order.__table__.c
_i = Invite.__table__.c
_ct = CommentTheme.__table__.c
_tag_state = TagState.__table__

# Positions of the query's columns (read a million times in an export, by position).
(ID, RESPONDED_AT, KIND, SOURCE, SCORE, COMMENT, CUSTOMER_ID, EMAIL, ORDER_ID, FOLLOWUP_STATE,
 FOLLOWUP_TICKET_ID, LANGUAGE, FIRST_NAME, LAST_NAME, REDACTED_AT, ORDER_NAME, THEME_ID,
 THEME_ASSIGNED_AT, SHOPIFY_TAGS, ZENDESK_TAGS, SEGMENT_MASK) = range(21)  # fmt: skip
Cursor = tuple[datetime, int]


def language() -> ColumnElement[Any]:
    return func.coalesce(_i.locale, _c.locale)


def joined() -> Any:
    """The answers with their invite, customer, surveyed order and comment theme (the feed's
    filters are conditions on these tables)."""
    return (
        Response.__table__.outerjoin(Invite.__table__, and_(_i.id == _r.invite_id))
        .outerjoin(Customer.__table__, and_(_c.store == _r.store, _c.id == _r.customer_id))
        .outerjoin(Order.__table__, and_(_o.store == _r.store, _o.id == _r.order_id))
        .outerjoin(CommentTheme.__table__, and_(_ct.store == _r.store, _ct.response_id == _r.id))
    )


@dataclass(frozen=True)
class FeedQuery:
    """The feed's query for one store, its segments read at ``now``."""

    store: str
    choices: SegmentChoices
    now: datetime
    usual_return_days: float | None
    support_window_days: int
    dialect: str
    # Whether the store's comments were ever sorted into themes: if not, no answer shows one,
    # and leaving its columns out lets both databases drop the join (one seek per answer).
    themed: bool = True

    @cached_property
    def segments(self) -> tuple[Segment, ...]:
        return enabled_segments(self.choices, self.now, self.usual_return_days)

    @cached_property
    def python_segments(self) -> PythonSegments | None:
        """The segments left to Python (None: every one is in SQL, the usual case)."""
        every = select(*self._columns()).select_from(joined()).subquery()
        conditions = self._conditions(every)
        apart = tuple(i for i, condition in enumerate(conditions) if condition is None)
        return PythonSegments(self, apart) if apart else None

    def in_sql(self, segment: str) -> bool:
        """Whether the filter on ``segment`` is a condition of the query (else Python's)."""
        python = self.python_segments
        names = [s.name for s in self.segments]
        return python is None or segment not in names or names.index(segment) not in python.apart

    def select(
        self,
        conditions: Sequence[ColumnElement[bool]],
        segment: str | None = None,
        after: Cursor | None = None,
    ) -> Select[Any]:
        """The answers matching ``conditions`` (on the tables of :func:`joined`) and in
        ``segment`` (when it has SQL), newer than ``after`` excluded, newest first."""
        answers = (
            select(*self._columns())
            .select_from(joined())
            .where(*conditions)
            .order_by(_r.responded_at.desc(), _r.id.desc())
        )
        if after is not None:
            at, answer_id = after
            # A row value, not "a < x OR (a = x AND b < y)": both databases then read the
            # (store, responded_at) index from the cursor on instead of scanning and sorting.
            answers = answers.where(tuple_(_r.responded_at, _r.id) < tuple_(at, answer_id))
        fenced = answers.offset(0).subquery("feed_answers")
        segment_of = self._conditions(fenced)
        f = fenced.c
        query = select(
            *(f[name] for name in _SHOWN), segment_mask(segment_of).label("segment_mask")
        ).select_from(fenced)
        if segment is not None and self.in_sql(segment):
            names = [s.name for s in self.segments]
            wanted = segment_of[names.index(segment)] if segment in names else false()
            query = query.where(wanted if wanted is not None else true())
        if self.dialect == "sqlite":
            # SQLite runs the fenced subquery as a co-routine and hands its rows over in its
            # order; an ORDER BY here would make it sort the whole result again (a temp B-tree)
            # before the first row. PostgreSQL sees the subquery's order and sorts nothing.
            return query
        return query.order_by(f.responded_at.desc(), f.id.desc())

    def select_themed(self, conditions: Sequence[ColumnElement[bool]]) -> Select[Any]:
        """The answers matching ``conditions`` that have a comment theme row (assigned or
        waiting), in no order, each as (``THEMED`` columns..., segment mask): what the themes
        part needs of them, the segments computed as for the feed. The theme's columns are
        read even where no theme has a name yet (a comment waiting for ``nps themes``)."""
        # "Has a theme row" as IN (its ids), not a condition on the joined row: SQLite then
        # looks up the themed answers by their key, where it read every answer of the period
        # (its customer and order too) before the theme's row told it to drop most of them:
        # 0.82-0.86 against 2.83-2.87 s for 95,644 themed answers of a period of 319,284.
        themed = _r.id.in_(select(_ct.response_id).where(_ct.store == self.store))
        answers = (
            select(*self._columns(THEMED, themed=True))
            .select_from(joined())
            .where(*conditions, themed)
            .offset(0)
            .subquery("themed_answers")
        )
        f = answers.c
        mask = segment_mask(self._conditions(answers)).label("segment_mask")
        return select(*(f[name] for name in THEMED), mask).select_from(answers)

    def _columns(
        self, names: Sequence[str] = (), *, themed: bool | None = None
    ) -> list[ColumnElement[Any]]:
        """The facts the segments read and the columns ``names`` (default: ``_SHOWN``);
        ``themed``: whether to read the comment theme's columns (default: ``self.themed``)."""
        themed = self.themed if themed is None else themed
        needs = facts_needed(self.choices, self.usual_return_days)
        facts = fact_columns(
            self.store, _r.kind, Response.__table__, Order.__table__, needs,
            self.support_window_days,
        )  # fmt: skip
        shown = {
            "id": _r.id, "responded_at": _raw(_r.responded_at), "kind": _r.kind,
            "source": _r.source, "score": _r.score, "comment": _r.comment,
            "customer_id": _r.customer_id, "email": _r.email, "order_id": _r.order_id,
            "followup_state": _r.followup_state, "followup_ticket_id": _r.followup_ticket_id,
            "language": language(), "first_name": _c.first_name, "last_name": _c.last_name,
            "redacted_at": _raw(_c.redacted_at), "order_name": _o.name,
            "theme_id": _ct.theme_id if themed else null(),
            "theme_assigned_at": _raw(_ct.assigned_at) if themed else null(),
            "shopify_tags": self._pushed_tags("shopify"),
            "zendesk_tags": self._pushed_tags("zendesk"),
        }  # fmt: skip
        chosen = {name: shown[name] for name in names or _SHOWN}
        return [column.label(name) for name, column in (facts | chosen).items()]

    def _conditions(self, row: Any) -> list[Condition | None]:
        """Each segment's condition on a row of :meth:`_columns` (None: tested in Python)."""
        facts = AnswerFacts(row, self.dialect)
        return segment_conditions(self.choices, facts, self.now, self.usual_return_days)

    def _pushed_tags(self, system: str) -> Any:
        """The tags last pushed to ``system`` (JSON text; NULL when never pushed): one seek of
        the primary key (store, system, customer_id)."""
        t = _tag_state.c
        return (
            select(func.coalesce(cast(t.tags, Text), "[]"))
            .where(t.store == self.store, t.system == system, t.customer_id == _r.customer_id)
            .where(t.pushed_at.is_not(None))
            .scalar_subquery()
        )


_SHOWN = (
    "id", "responded_at", "kind", "source", "score", "comment", "customer_id", "email",
    "order_id", "followup_state", "followup_ticket_id", "language", "first_name", "last_name",
    "redacted_at", "order_name", "theme_id", "theme_assigned_at", "shopify_tags", "zendesk_tags",
)  # fmt: skip

# The columns of :meth:`FeedQuery.select_themed`, the segment mask after them. ``id`` and
# ``kind`` sit where they sit in the feed's rows (ID, KIND), which :class:`PythonSegments` reads.
THEMED = ("id", "responded_at", "kind", "score", "theme_id", "theme_assigned_at")


def _raw(column: Any) -> Any:
    """A time as the driver gives it (text on SQLite), parsed only where shown."""
    return type_coerce(column, Text)


class PythonSegments:
    """The segments whose rule reads an imported answer's ``property``, tested in Python on the
    facts the report would build for each answer of a batch (``fact_query.with_facts``)."""

    def __init__(self, query: FeedQuery, apart: tuple[int, ...]) -> None:
        self.query, self.apart = query, apart
        self.optional = optional_facts(query.choices)
        # built once per kind, the batch's ids bound at each run: building the fact query
        # costs more than running it on a batch
        self._statements: dict[SurveyKind, Select[Any]] = {}

    def bits(self, connection: Any, rows: Sequence[Any]) -> dict[int, int]:
        """Each answer's mask bits of these segments, by answer id."""
        segments = self.query.segments
        result: dict[int, int] = {}
        for kind in {row[KIND] for row in rows}:
            ids = [row[ID] for row in rows if row[KIND] == kind]
            for facts in self._facts(connection, SurveyKind(kind), ids):
                held = [1 << i for i in self.apart if segments[i].matches(facts)]
                result[facts.response_id] = sum(held)
        return result

    def _facts(self, connection: Any, kind: SurveyKind, ids: Sequence[int]) -> Iterator[Any]:
        statement = self._statements.get(kind)
        if statement is None:
            statement = self._statements[kind] = self._statement(kind)
        result = connection.execute(statement, {"ids": list(ids)})
        reader = FactsReader(
            kind, self.query.now, self.query.support_window_days, list(result.keys())
        )
        for row in result:
            yield reader.facts(row)

    def _statement(self, kind: SurveyKind) -> Select[Any]:
        store = self.query.store
        answers = (
            select(
                _r.id, _r.customer_id, _r.email, _r.order_id, _r.score, _r.responded_at,
                null().label("month"), true().label("chosen"), false().label("month_latest"),
            )
            .where(_r.store == store, _r.id.in_(bindparam("ids", expanding=True)))
            .subquery("feed_answers")
        )  # fmt: skip
        return with_facts(store, kind, answers, self.optional)


def tuned_for_page(connection: Connection) -> None:
    """PostgreSQL's planner settings for reading one page of the feed, for the transaction of
    ``connection`` (a no-op on SQLite).

    The page's LIMIT sits outside the fenced subquery (:meth:`FeedQuery.select`), so PostgreSQL
    plans that subquery for every answer of the store: hash joins of all answers with all
    orders, then a sort, before the first row (200 ms at 100,000 answers, growing with the
    store). Without hash joins, merge joins and sorts it walks the time index from the cursor
    with nested loops and stops after the page: 6 ms. JIT is off as for the report."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "SELECT set_config('jit', 'off', true), set_config('enable_hashjoin', 'off', true),"
            " set_config('enable_mergejoin', 'off', true), set_config('enable_sort', 'off', true)"
        )
