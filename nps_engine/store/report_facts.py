"""Loading the facts the report and the tag push need, with the heavy lifting done in SQL.

One query per need, written in SQLAlchemy Core so it runs the same on SQLite and PostgreSQL:
window functions pick each customer's latest answer and the answer before it, correlated
subqueries (each a seek on an index of ``(store, customer_id, ...)``) find the last ticket before
the answer, an open ticket, the last order and the first order after the surveyed one. Python only
receives one row per answer it reports on.

A customer is the Shopify customer when the answer has one, else the answer's email (imports of
people who never became Shopify customers), else the answer alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.engine import Row

from nps_engine.records import SurveyKind
from nps_engine.report import Basis, Month
from nps_engine.segments import ResponseFacts, customer_key
from nps_engine.statistics import Tally
from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Order, Response, Ticket

_responses = Response.__table__
_customers = Customer.__table__
_orders = Order.__table__
_tickets = Ticket.__table__

# Zendesk statuses of tickets nobody works on any more (https://developer.zendesk.com/api-reference/
# ticketing/tickets/tickets/ "status": new, open, pending, hold, solved, closed).
_DONE_STATUSES = ("solved", "closed", "deleted")
_BATCH = 20_000


def _who() -> tuple[ColumnElement[Any], ...]:
    """PARTITION BY terms grouping one customer's answers (see the module docstring)."""
    r = _responses.c
    without_customer = r.customer_id.is_(None)
    return (
        r.customer_id,
        case((without_customer, r.email), else_=null()),
        case((and_(without_customer, r.email.is_(None)), r.id), else_=null()),
    )


def _ranked(
    store: str, kind: SurveyKind, end: datetime | None, *, customers_only: bool = False
) -> Select[Any]:
    """Every answer of ``kind`` before ``end`` with the customer's previous score and a recency
    rank (1 = the customer's latest answer before ``end``)."""
    r = _responses.c
    who = _who()
    query = select(
        r.id,
        r.customer_id,
        r.email,
        r.order_id,
        r.score,
        r.responded_at,
        func.lag(r.score).over(partition_by=who, order_by=(r.responded_at, r.id)).label("previous"),
        func.row_number()
        .over(partition_by=who, order_by=(r.responded_at.desc(), r.id.desc()))
        .label("recency"),
    ).where(r.store == store, r.kind == kind.value)
    if end is not None:
        query = query.where(r.responded_at < end)
    if customers_only:
        query = query.where(r.customer_id.is_not(None))
    return query


def _facts_query(store: str, chosen: Any) -> Select[Any]:
    """The answers in ``chosen`` joined with what segments need about their customer."""
    a = chosen.c
    surveyed = _orders.alias("surveyed")
    later, anyorder = _orders.alias("later"), _orders.alias("anyorder")
    t = _tickets.alias("t")
    last_ticket_by_customer = (
        select(func.max(t.c.created_at))
        .where(t.c.store == store, t.c.customer_id == a.customer_id)
        .where(t.c.created_at <= a.responded_at)
        .scalar_subquery()
    )
    last_ticket_by_email = (
        select(func.max(t.c.created_at))
        .where(t.c.store == store, t.c.requester_email == a.email)
        .where(t.c.created_at <= a.responded_at)
        .scalar_subquery()
    )
    open_ticket = exists().where(
        _tickets.c.store == store,
        _tickets.c.customer_id == a.customer_id,
        _tickets.c.status.not_in(_DONE_STATUSES),
    )
    next_order = (
        select(func.min(later.c.created_at))
        .where(later.c.store == store, later.c.customer_id == a.customer_id)
        .where(later.c.created_at > surveyed.c.created_at, later.c.cancelled_at.is_(None))
        .scalar_subquery()
    )
    last_order = (
        select(func.max(anyorder.c.created_at))
        .where(anyorder.c.store == store, anyorder.c.customer_id == a.customer_id)
        .where(anyorder.c.cancelled_at.is_(None))
        .scalar_subquery()
    )
    c = _customers.c
    return (
        select(
            a.id,
            a.customer_id,
            a.email,
            a.score,
            a.responded_at,
            a.previous,
            case(
                (a.customer_id.is_(None), last_ticket_by_email), else_=last_ticket_by_customer
            ).label("last_ticket_at"),
            open_ticket.label("open_ticket"),
            func.coalesce(surveyed.c.returned, False).label("returned"),
            func.coalesce(surveyed.c.refunded, False).label("refunded"),
            surveyed.c.created_at.label("surveyed_order_at"),
            case((surveyed.c.id.is_(None), None), else_=next_order).label("next_order_at"),
            last_order.label("last_order_at"),
            func.coalesce(c.orders_count, literal(0, Integer)).label("orders_count"),
            c.total_spent,
            c.tags,
            c.country,
        )
        .select_from(chosen)
        .outerjoin(_customers, and_(c.store == store, c.id == a.customer_id))
        .outerjoin(surveyed, and_(surveyed.c.store == store, surveyed.c.id == a.order_id))
    )


def load_response_facts(
    database: Database,
    store: str,
    *,
    start: datetime,
    end: datetime,
    kind: SurveyKind,
    basis: Basis,
    now: datetime,
    support_window_days: int,
) -> list[ResponseFacts]:
    """The answers of ``kind`` in ``[start, end)`` on ``basis``, with their facts as of ``now``."""
    ranked = _ranked(store, kind, end).subquery("ranked")
    chosen_query = select(ranked).where(ranked.c.responded_at >= start)
    if basis == "customers":
        chosen_query = chosen_query.where(ranked.c.recency == 1)
    query = _facts_query(store, chosen_query.subquery("chosen"))
    return list(_read_facts(database, query, kind, now, support_window_days))


def latest_facts_per_customer(
    database: Database,
    store: str,
    now: datetime,
    *,
    kind: SurveyKind = SurveyKind.TRANSACTIONAL,
    support_window_days: int = 90,
) -> list[ResponseFacts]:
    """Each Shopify customer's latest answer of ``kind`` (any time), for the tag push."""
    ranked = _ranked(store, kind, None, customers_only=True).subquery("ranked")
    chosen = select(ranked).where(ranked.c.recency == 1).subquery("chosen")
    return list(_read_facts(database, _facts_query(store, chosen), kind, now, support_window_days))


def _read_facts(
    database: Database, query: Select[Any], kind: SurveyKind, now: datetime, window: int
) -> Iterator[ResponseFacts]:
    tags_of = _TagCache()
    with database.engine.connect() as connection:
        result = connection.execution_options(yield_per=_BATCH).execute(query)
        for row in result:
            yield _facts_of(row, kind, now, window, tags_of)


def _facts_of(
    row: Row[Any], kind: SurveyKind, now: datetime, window: int, tags_of: _TagCache
) -> ResponseFacts:
    return ResponseFacts(
        customer_key=customer_key(row.customer_id, row.email, row.id),
        customer_id=row.customer_id,
        email=row.email,
        score=row.score,
        kind=kind,
        responded_at=row.responded_at,
        as_of=now,
        support_window_days=window,
        previous_score=row.previous,
        returned=bool(row.returned) or bool(row.refunded),
        last_ticket_before_response_at=row.last_ticket_at,
        open_ticket=bool(row.open_ticket),
        orders_count=row.orders_count,
        total_spent=Decimal(0) if row.total_spent is None else row.total_spent,
        last_order_at=row.last_order_at,
        surveyed_order_at=row.surveyed_order_at,
        next_order_after_surveyed_at=row.next_order_at,
        tags=tags_of(row.tags),
        country=row.country.upper() if row.country else None,
    )


class _TagCache:
    """Lowercase tag sets, shared between customers with the same tags (most stores use a few
    dozen combinations), which keeps a few hundred thousand facts small."""

    def __init__(self) -> None:
        self._seen: dict[object, frozenset[str]] = {}

    def __call__(self, raw: object) -> frozenset[str]:
        if isinstance(raw, str):  # the JSON text, when the driver does not decode it
            raw = json.loads(raw)
        key = tuple(raw) if isinstance(raw, list) else ()
        tags = self._seen.get(key)
        if tags is None:
            tags = self._seen[key] = frozenset(str(tag).strip().lower() for tag in key)
        return tags


def load_monthly_tallies(
    database: Database, store: str, *, months: Sequence[Month], kind: SurveyKind, basis: Basis
) -> Mapping[str, Tally]:
    """Each month's promoters, passives and detractors, counted in SQL (see
    :func:`nps_engine.report.monthly_tallies` for the same rule in Python)."""
    if not months:
        return {}
    r = _responses.c
    month = case(*[(r.responded_at < m.end, m.label) for m in months[:-1]], else_=months[-1].label)
    recency = (
        func.row_number().over(
            partition_by=(month, *_who()), order_by=(r.responded_at.desc(), r.id.desc())
        )
        if basis == "customers"
        else literal(1, Integer)
    )
    answers = select(month.label("month"), r.score, recency.label("recency"))
    answers = answers.where(r.store == store, r.kind == kind.value)
    answers = answers.where(r.responded_at >= months[0].start, r.responded_at < months[-1].end)
    inner = answers.subquery("answers")
    query = (
        select(
            inner.c.month,
            func.sum(case((inner.c.score >= 9, 1), else_=0)),
            func.sum(case((and_(inner.c.score >= 7, inner.c.score <= 8), 1), else_=0)),
            func.sum(case((inner.c.score <= 6, 1), else_=0)),
        )
        .where(inner.c.recency == 1)
        .group_by(inner.c.month)
    )
    with database.engine.connect() as connection:
        rows = connection.execute(query).all()
    return {row[0]: Tally(int(row[1]), int(row[2]), int(row[3])) for row in rows}
