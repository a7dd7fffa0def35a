"""Loading what the report and the tag push need, with the heavy lifting done in SQL.

SQLAlchemy Core, so it runs the same on SQLite and PostgreSQL. The report reads the period's
answers in one pass: a window over each customer's answers (newest first) marks the customer's
latest answer of the period and the latest answer of each month, and only those rows come back.
For the latest answers, correlated subqueries (each a seek on an index starting with
``(store, customer_id)``) find the previous score, the last ticket before the answer, an open
ticket, the last order and the first order after the surveyed one. Python then builds one
:class:`ResponseFacts` per reported answer and adds up the months.

A customer is the Shopify customer when the answer has one, else the answer's email (imports of
people who never became Shopify customers), else the answer alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    and_,
    case,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.sql import Subquery

from nps_engine.records import SurveyKind
from nps_engine.report import Basis, Month
from nps_engine.segments import NO_PROPERTIES, ResponseFacts, customer_key
from nps_engine.statistics import Tally
from nps_engine.store.answer_properties import answer_properties
from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Order, Response, Ticket
from nps_engine.store.types import UtcDateTime

_responses = Response.__table__
_customers = Customer.__table__
_orders = Order.__table__
_tickets = Ticket.__table__

# Zendesk ticket statuses nobody works on any more (new, open, pending and hold still have an
# agent on them): https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
_DONE_STATUSES = ("solved", "closed", "deleted")
_BATCH = 20_000


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """The reported answers with their facts, and each month's tally on the same basis."""

    facts: list[ResponseFacts]
    trend: dict[str, Tally]


def load_report_inputs(
    database: Database,
    store: str,
    *,
    months: Sequence[Month],
    kind: SurveyKind,
    basis: Basis,
    now: datetime,
    support_window_days: int,
    part: tuple[int, int] = (0, 1),
    with_properties: bool = False,
) -> ReportInputs:
    """Answers of ``kind`` from the first month's start to the last month's end.

    ``part=(k, n)`` reads only the k-th of n disjoint shares of the customers (Shopify customer id
    modulo n; answers without one go to share 0), so a big store can be read by n processes.
    """
    if not months:
        return ReportInputs([], {})
    answers = _period_answers(store, kind, months, basis).where(_share(*part))
    period = answers.subquery("period_answers")
    wanted = or_(period.c.chosen, period.c.month_latest) if basis == "customers" else true()
    query = _with_facts(store, kind, period).where(wanted)
    reader = _FactsReader(kind, now, support_window_days)
    if with_properties:
        reader.properties = answer_properties(
            database, store, kind, months[0].start, months[-1].end
        )
    trend = {month.label: [0, 0, 0] for month in months}
    facts = []
    with database.engine.connect() as connection:
        for row in connection.execution_options(yield_per=_BATCH).execute(query):
            if row[1]:  # the latest answer of its month
                trend[row[0]][_SLOT_OF_SCORE[row[3]]] += 1
            if row[2]:  # the answer this report is about
                facts.append(reader.facts(row))
    return ReportInputs(facts, {label: Tally(*counts) for label, counts in trend.items()})


def latest_facts_per_customer(
    database: Database,
    store: str,
    now: datetime,
    *,
    kind: SurveyKind = SurveyKind.TRANSACTIONAL,
    support_window_days: int = 90,
) -> list[ResponseFacts]:
    """Each Shopify customer's latest answer of ``kind`` (any time), for the tag push."""
    r = _responses.c
    latest = (
        select(
            *_answer_columns(),
            func.row_number()
            .over(partition_by=r.customer_id, order_by=(r.responded_at.desc(), r.id.desc()))
            .label("recency"),
        )
        .where(r.store == store, r.kind == kind.value, r.customer_id.is_not(None))
        .subquery("latest")
    )
    answers = select(
        latest,
        null().label("month"),
        (latest.c.recency == 1).label("chosen"),
        false().label("month_latest"),
    ).subquery("answers")
    query = _with_facts(store, kind, answers).where(answers.c.chosen)
    reader = _FactsReader(kind, now, support_window_days)
    with database.engine.connect() as connection:
        rows = connection.execution_options(yield_per=_BATCH).execute(query)
        return [reader.facts(row) for row in rows]


_SLOT_OF_SCORE = (2,) * 7 + (1,) * 2 + (0,) * 2  # Tally order: promoters, passives, detractors


def _answer_columns() -> tuple[ColumnElement[Any], ...]:
    r = _responses.c
    return (r.id, r.customer_id, r.email, r.order_id, r.score, r.responded_at)


def _who() -> tuple[ColumnElement[Any], ...]:
    """PARTITION BY terms grouping one customer's answers (see the module docstring)."""
    r = _responses.c
    without_customer = r.customer_id.is_(None)
    return (
        r.customer_id,
        case((without_customer, r.email), else_=null()),
        case((and_(without_customer, r.email.is_(None)), r.id), else_=null()),
    )


def _share(index: int, parts: int) -> ColumnElement[bool]:
    if parts == 1:
        return true()
    customer_id = _responses.c.customer_id
    share = customer_id % parts == index
    return or_(customer_id.is_(None), share) if index == 0 else share


def _period_answers(
    store: str, kind: SurveyKind, months: Sequence[Month], basis: Basis
) -> Select[Any]:
    """The period's answers with their month (store time zone) and, on the customers basis,
    whether each is its customer's latest of the period (``chosen``) and of its month."""
    r = _responses.c
    calendar = _calendar(months)
    columns: list[ColumnElement[Any]] = [*_answer_columns(), calendar.c.label.label("month")]
    if basis == "customers":
        newest_first: dict[str, Any] = {
            "partition_by": _who(),
            "order_by": (r.responded_at.desc(), r.id.desc()),
        }
        # One window, two readings: row 1 is the latest of the period; a row whose newer
        # neighbour lies in another month (or that has none) is the latest of its month.
        newer_month = func.lag(calendar.c.label).over(**newest_first)
        columns += [
            (func.row_number().over(**newest_first) == 1).label("chosen"),
            or_(newer_month.is_(None), newer_month != calendar.c.label).label("month_latest"),
        ]
    else:
        columns += [true().label("chosen"), true().label("month_latest")]
    # Joining a small table of months (rather than a CASE over the boundaries, which cost more
    # than the whole index read) gives each answer its month while the database reads each month
    # as one range of the covering index ix_responses_report (store, kind, responded_at, ...).
    return (
        select(*columns)
        .select_from(calendar)
        .join(
            _responses,
            and_(r.responded_at >= calendar.c.start, r.responded_at < calendar.c.end),
        )
        .where(r.store == store, r.kind == kind.value)
    )


def _calendar(months: Sequence[Month]) -> Subquery:
    """The months as rows (label, start, end), in SQL every backend accepts."""
    rows = [
        select(
            literal(month.label, String(7)).label("label"),
            literal(month.start, UtcDateTime()).label("start"),
            literal(month.end, UtcDateTime()).label("end"),
        )
        for month in months
    ]
    return union_all(*rows).subquery("calendar")


def _with_facts(store: str, kind: SurveyKind, answers: Subquery) -> Select[Any]:
    """``answers`` with what segments need; the subqueries run only for ``chosen`` answers."""
    a = answers.c
    surveyed = _orders.alias("surveyed")
    c = _customers.c

    def only_chosen(value: Any) -> Any:
        return case((a.chosen, value), else_=null())

    return (
        select(
            a.month,
            a.month_latest,
            a.chosen,
            a.score,
            a.id,
            a.customer_id,
            a.email,
            _raw(a.responded_at),
            only_chosen(_previous_score(store, kind, answers)),
            _raw(only_chosen(_last_ticket(store, answers))),
            only_chosen(_open_ticket(store, answers)),
            surveyed.c.returned,
            surveyed.c.refunded,
            _raw(surveyed.c.created_at),
            _raw(only_chosen(_next_order(store, answers, surveyed.c.created_at))),
            _raw(only_chosen(_last_order(store, answers))),
            c.orders_count,
            c.total_spent,
            type_coerce(c.tags, Text),
            c.country,
        )
        .select_from(answers)
        .outerjoin(_customers, and_(c.store == store, c.id == a.customer_id, a.chosen))
        .outerjoin(surveyed, and_(surveyed.c.store == store, surveyed.c.id == a.order_id, a.chosen))
    )


def _raw(column: Any) -> Any:
    """A time handed over as the driver gives it, parsed by :func:`_utc` only when present
    (the column type's converter would run on every one of a million NULLs)."""
    return type_coerce(column, Text)


def _previous_score(store: str, kind: SurveyKind, answers: Subquery) -> Any:
    """The same customer's answer of the same kind just before this one, at any time."""
    a, p = answers.c, _responses.alias("previous")

    def before(same_customer: ColumnElement[bool]) -> Any:
        return (
            select(p.c.score)
            .where(p.c.store == store, p.c.kind == kind.value, same_customer)
            .where(p.c.responded_at <= a.responded_at)
            .where(or_(p.c.responded_at < a.responded_at, p.c.id < a.id))
            .order_by(p.c.responded_at.desc(), p.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    return case(
        (a.customer_id.is_not(None), before(p.c.customer_id == a.customer_id)),
        (a.email.is_not(None), before(p.c.email == a.email)),
        else_=null(),
    )


def _last_ticket(store: str, answers: Subquery) -> Any:
    """The latest Zendesk ticket opened at or before the answer (by customer, else by email)."""
    a, t = answers.c, _tickets.alias("ticket")

    def latest(same_person: ColumnElement[bool]) -> Any:
        return (
            select(func.max(t.c.created_at))
            .where(t.c.store == store, same_person, t.c.created_at <= a.responded_at)
            .where(_not_our_followup(store, t.c.id))
            .scalar_subquery()
        )

    return case(
        (a.customer_id.is_not(None), latest(t.c.customer_id == a.customer_id)),
        (a.email.is_not(None), latest(t.c.requester_email == a.email)),
        else_=null(),
    )


def _not_our_followup(store: str, ticket_id: ColumnElement[int]) -> ColumnElement[bool]:
    """Leave out the follow-up tickets we opened for detractors: a customer we wrote to has not
    "contacted support", and our own open follow-up is not their open ticket."""
    ours = select(_responses.c.followup_ticket_id).where(
        _responses.c.store == store, _responses.c.followup_ticket_id.is_not(None)
    )
    return ticket_id.not_in(ours)


def _open_ticket(store: str, answers: Subquery) -> Any:
    """Whether the customer (else the email) has a ticket an agent is still working on."""
    a, t = answers.c, _tickets.alias("open_ticket")

    def any_open(same_person: ColumnElement[bool]) -> Any:
        # select the status, not "*", so SQLite answers from the index alone
        still_open = t.c.status.not_in(_DONE_STATUSES)
        return (
            select(t.c.status)
            .where(t.c.store == store, same_person, still_open, _not_our_followup(store, t.c.id))
            .exists()
        )

    return case(
        (a.customer_id.is_not(None), any_open(t.c.customer_id == a.customer_id)),
        (a.email.is_not(None), any_open(t.c.requester_email == a.email)),
        else_=false(),
    )


def _next_order(store: str, answers: Subquery, surveyed_at: Any) -> Any:
    """The customer's first order after the surveyed one (read from the index alone)."""
    later = _orders.alias("later")
    return (
        select(later.c.created_at)
        .where(later.c.store == store, later.c.customer_id == answers.c.customer_id)
        .where(later.c.created_at > surveyed_at, later.c.cancelled_at.is_(None))
        .order_by(later.c.created_at)
        .limit(1)
        .scalar_subquery()
    )


def _last_order(store: str, answers: Subquery) -> Any:
    """The customer's latest order that was not cancelled (read from the index alone)."""
    any_order = _orders.alias("any_order")
    return (
        select(any_order.c.created_at)
        .where(any_order.c.store == store, any_order.c.customer_id == answers.c.customer_id)
        .where(any_order.c.cancelled_at.is_(None))
        .order_by(any_order.c.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )


class _FactsReader:
    """Rows of :func:`_with_facts` to :class:`ResponseFacts`. Lowercase tag sets are shared between
    customers with the same tags (stores use a few dozen combinations), which keeps a million
    facts small and skips decoding the same JSON again and again."""

    def __init__(self, kind: SurveyKind, now: datetime, support_window_days: int) -> None:
        self.kind, self.now, self.window = kind, now, support_window_days
        self._tag_sets: dict[object, frozenset[str]] = {}
        self.properties: Mapping[int, Mapping[str, str]] = {}

    def facts(self, row: Sequence[Any]) -> ResponseFacts:
        (_month, _month_latest, _chosen, score, answer_id, customer_id, email, responded_at,
         previous, ticket_at, open_ticket, returned, refunded, surveyed_at, next_order_at,
         last_order_at, orders_count, total_spent, tags, country) = row  # fmt: skip
        # Positional, in field order: this runs once per reported answer (a million times in
        # bench/report.py), where keyword passing and helper calls show up in the profile.
        return ResponseFacts(
            customer_key(customer_id, email, answer_id),
            customer_id,
            email,
            score,
            self.kind,
            _utc(responded_at),
            self.now,
            self.window,
            previous,
            bool(returned or refunded),
            None if ticket_at is None else _utc(ticket_at),
            bool(open_ticket),
            orders_count or 0,
            _ZERO if total_spent is None else total_spent,
            None if last_order_at is None else _utc(last_order_at),
            None if surveyed_at is None else _utc(surveyed_at),
            None if next_order_at is None else _utc(next_order_at),
            self._tags(tags),
            country.upper() if country else None,
            answer_id,
            self.properties.get(answer_id, NO_PROPERTIES),
        )

    def _tags(self, raw: object) -> frozenset[str]:
        key = raw if isinstance(raw, str | None) else json.dumps(raw)
        tags = self._tag_sets.get(key)
        if tags is None:
            decoded = json.loads(raw) if isinstance(raw, str) else raw
            listed = decoded if isinstance(decoded, list) else []
            tags = self._tag_sets[key] = frozenset(str(tag).strip().lower() for tag in listed)
        return tags


_ZERO = Decimal(0)


def _utc(value: object) -> datetime:
    """SQLite hands over UTC text ('2026-03-01 09:30:00.000000'), PostgreSQL a datetime.

    Parsing the text with its offset appended is three times faster than ``replace(tzinfo=)``,
    which matters a million times over."""
    if isinstance(value, str):
        return _parse_time(value + "+00:00")
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_parse_time = datetime.fromisoformat
