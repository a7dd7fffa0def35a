"""The report's fact query, built with SQLAlchemy Core so it runs the same on SQLite and
PostgreSQL.

The period's answers are read in one pass: a window over each customer's answers (newest first)
marks the customer's latest answer of the period and the latest answer of each month, and only
those rows come back. For them, correlated subqueries (each a seek on an index starting with
``(store, customer_id)``) find the previous score, the last ticket before the answer, an open
ticket, the last order and the first order after the surveyed one.

A customer is the Shopify customer when the answer has one, else the answer's email (imports of
people who never became Shopify customers), else the answer alone.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from sqlalchemy.engine import Connection
from sqlalchemy.sql import FromClause, Subquery
from sqlalchemy.sql.elements import BindParameter

from nps_engine.records import SurveyKind
from nps_engine.report import Basis, Month
from nps_engine.store.customer_ranges import EVERYONE, CustomerRange, id_within, within
from nps_engine.store.models import Customer, Order, Response, Ticket
from nps_engine.store.types import UtcDateTime

# A store id, or a bound parameter standing for one: a statement built with the parameter is
# built once and run for every store (the tag push runs it for each store, each time).
StoreRef = str | BindParameter[str]

_responses = Response.__table__
_customers = Customer.__table__
_orders = Order.__table__
_tickets = Ticket.__table__

# Zendesk ticket statuses nobody works on any more (new, open, pending and hold still have an
# agent on them): https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
_DONE_STATUSES = ("solved", "closed", "deleted")


def tuned_for_report(connection: Connection) -> None:
    """Settings of PostgreSQL for the report's queries, for the transaction of ``connection``
    (a no-op on SQLite), in one round trip:

    - JIT off. PostgreSQL compiles a query to machine code when its estimated cost passes
      ``jit_above_cost``; the estimate of the report's queries counts every correlated subquery
      once per answer, so even a small store passes it, and compiling their long expressions
      took 12 s of a 14 s query at 150,000 answers (bench/report.py) to save milliseconds.
      https://www.postgresql.org/docs/current/jit-decision.html
    - ``work_mem`` 64 MB rather than the server's default 4 MB. The report sorts a period's
      answers for its window, hashes the store's orders and groups its customers' orders: at
      a million answers each is tens of MB, and with 4 MB each spilled to temporary files.
      It is memory per sort or hash of this one query, given back when the query ends.
      https://www.postgresql.org/docs/current/runtime-config-resource.html#GUC-WORK-MEM"""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)"
        )


def answer_columns() -> tuple[ColumnElement[Any], ...]:
    r = _responses.c
    return (r.id, r.customer_id, r.email, r.order_id, r.score, r.responded_at)


def who_answered() -> tuple[ColumnElement[Any], ...]:
    """PARTITION BY terms grouping one customer's answers (see the module docstring)."""
    r = _responses.c
    without_customer = r.customer_id.is_(None)
    return (
        r.customer_id,
        case((without_customer, r.email), else_=null()),
        case((and_(without_customer, r.email.is_(None)), r.id), else_=null()),
    )


def period_answers(
    store: StoreRef,
    kind: SurveyKind,
    months: Sequence[Month],
    basis: Basis,
    *,
    joined: bool = False,
    customers: CustomerRange = EVERYONE[0],
) -> Select[Any]:
    """The period's answers with their month (store time zone) and, on the customers basis,
    whether each is its customer's latest of the period (``chosen``) and of its month.

    ``joined``: each answer also carries its customer's columns (``JOINED_CUSTOMER``), joined
    before the window. PostgreSQL runs what lies under the window (the read of the period, its
    sort, and so this join) in parallel workers, and nothing above it: joined there, hashing
    the customers is shared out, for the 8% more answers the window has not left out yet.
    The surveyed order is not joined here (``segment_sql.AnswerFacts.of_report`` looks it up
    for the counted answers): hashing all the store's orders, in each range's query, cost more
    than a seek per counted answer.

    ``customers``: only the answers of those customers (``customer_ranges``)."""
    r = _responses.c
    calendar = _calendar(months)
    columns: list[ColumnElement[Any]] = [*answer_columns(), calendar.c.label.label("month")]
    customer = _customers.alias("customer")
    if joined:
        columns += [customer.c[name] for name in JOINED_CUSTOMER]
    if basis == "customers":
        newest_first: dict[str, Any] = {
            "partition_by": who_answered(),
            "order_by": (r.responded_at.desc(), r.id.desc()),
        }
        # One window, two readings: row 1 is the latest of the period; a row whose newer
        # neighbour lies in another month (or that has none) is the latest of its month.
        # (one lag(), its default '' for the newest answer: each call is a window function of
        # its own to the database)
        newer_month = func.lag(calendar.c.label, 1, "").over(**newest_first)
        columns += [
            (func.row_number().over(**newest_first) == 1).label("chosen"),
            (newer_month != calendar.c.label).label("month_latest"),
        ]
    else:
        columns += [true().label("chosen"), true().label("month_latest")]
    # Joining a small table of months (rather than a CASE over the boundaries, which cost more
    # than the whole index read) gives each answer its month while the database reads each month
    # as one range of the covering index ix_responses_report (store, kind, responded_at, ...).
    query = (
        select(*columns)
        .select_from(calendar)
        .join(
            _responses,
            and_(r.responded_at >= calendar.c.start, r.responded_at < calendar.c.end),
        )
        .where(r.store == store, r.kind == kind.value)
    )
    if customers != EVERYONE[0]:
        query = query.where(within(customers))
    if joined:
        # The customer joined is the answer's own, so it lies in the answers' range too: said
        # in the join, the range's query hashes that range's customers instead of all of them
        # (PostgreSQL does not carry a range across an equality).
        same_customer = and_(customer.c.store == store, customer.c.id == r.customer_id)
        if customers != EVERYONE[0]:
            same_customer = and_(same_customer, id_within(customer.c.id, customers))
        query = query.outerjoin(customer, same_customer)
    return query


# The columns ``period_answers(joined=True)`` adds, under their own names.
JOINED_CUSTOMER = ("orders_count", "total_spent", "tags", "country")


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


OPTIONAL_FACTS = frozenset({"previous_score", "open_ticket", "properties"})


def with_facts(
    store: StoreRef, kind: SurveyKind, answers: Subquery, optional: frozenset[str] = OPTIONAL_FACTS
) -> Select[Any]:
    """``answers`` with what segments need, each column labelled with its name in
    :func:`fact_columns`; the subqueries run only for answers the report counts (its customer's
    latest of the period, ``chosen``, or of its month, ``month_latest``).

    ``optional``: which of :data:`OPTIONAL_FACTS` to look up. Only custom rules read them (the
    score drop, an open ticket); when none does, each is a constant and its correlated subquery
    is not run at all."""
    columns = fact_columns(store, kind, answers, optional)
    a, c = answers.c, _customers.c
    surveyed = _orders.alias("surveyed")
    needed = or_(a.chosen, a.month_latest)
    columns |= {
        "returned": surveyed.c.returned,
        "refunded": surveyed.c.refunded,
        "surveyed_at": _raw(surveyed.c.created_at),
        "next_order_at": _raw(_only(needed, _next_order(store, answers, surveyed.c.created_at))),
    }
    return (
        select(*(column.label(name) for name, column in columns.items()))
        .select_from(answers)
        .outerjoin(_customers, and_(c.store == store, c.id == a.customer_id, needed))
        .outerjoin(surveyed, and_(surveyed.c.store == store, surveyed.c.id == a.order_id, needed))
    )


def fact_columns(
    store: StoreRef, kind: SurveyKind, answers: Subquery, optional: frozenset[str] = OPTIONAL_FACTS
) -> dict[str, Any]:
    """The fact query's columns by name: the SELECT labels them with these names and
    ``facts_reader`` reads them by the same names (the surveyed order's four are added by
    :func:`with_facts`, which joins it)."""
    a, c = answers.c, _customers.c
    needed = or_(a.chosen, a.month_latest)
    return {
        "month": a.month,
        "month_latest": a.month_latest,
        "chosen": a.chosen,
        "score": a.score,
        "answer_id": a.id,
        "customer_id": a.customer_id,
        "email": a.email,
        "responded_at": _raw(a.responded_at),
        "previous_score": (
            _only(needed, _previous_score(store, kind, answers))
            if "previous_score" in optional
            else null()
        ),
        "ticket_at": _raw(_only(needed, _last_ticket(store, answers))),
        "open_ticket": (
            _only(needed, _open_ticket(store, answers)) if "open_ticket" in optional else false()
        ),
        "last_order_at": _raw(_only(needed, _last_order(store, answers))),
        "orders_count": c.orders_count,
        "total_spent": c.total_spent,
        "tags": type_coerce(c.tags, Text),
        "country": c.country,
        # Imported answers' columns (Delighted's Notes, Tags, properties), for property rules.
        "properties": (
            _only(needed, _properties(store, answers)) if "properties" in optional else null()
        ),
    }


def _properties(store: StoreRef, answers: Subquery) -> Any:
    """The answer's own ``properties`` (JSON), looked up by its key only when a rule reads it
    (the covering index of the period's answers does not carry it)."""
    own = _responses.alias("own")
    return type_coerce(
        select(own.c.properties)
        .where(own.c.store == store, own.c.id == answers.c.id)
        .scalar_subquery(),
        Text,
    )


def _only(needed: ColumnElement[bool], value: Any) -> Any:
    return case((needed, value), else_=null())


def _raw(column: Any) -> Any:
    """A time handed over as the driver gives it, parsed by :func:`_utc` only when present
    (the column type's converter would run on every one of a million NULLs)."""
    return type_coerce(column, Text)


def _previous_score(
    store: StoreRef, kind: SurveyKind | ColumnElement[str], answers: FromClause
) -> Any:
    """The same customer's answer of the same kind just before this one, at any time."""
    a, p = answers.c, _responses.alias("previous")
    # one kind for the report; the answer's own (a column) for the feed, which mixes them
    kind_value = kind.value if isinstance(kind, SurveyKind) else kind
    # Time as an expression, not the bare column: SQLite's planner would otherwise walk the
    # (store, responded_at) index over every earlier answer of the store, for each customer,
    # which made the tag push quadratic (4,000 customers 2.8 s, 20,000 over a minute). Without
    # a usable time index it seeks the customer's (or the email's) own answers and sorts those
    # few; PostgreSQL plans it the same way.
    at = func.coalesce(p.c.responded_at, p.c.responded_at)

    def before(same_customer: ColumnElement[bool]) -> Any:
        return (
            select(p.c.score)
            .where(p.c.store == store, p.c.kind == kind_value, same_customer)
            .where(at <= a.responded_at)
            .where(or_(at < a.responded_at, p.c.id < a.id))
            .order_by(at.desc(), p.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    return case(
        (a.customer_id.is_not(None), before(p.c.customer_id == a.customer_id)),
        (a.email.is_not(None), before(p.c.email == a.email)),
        else_=null(),
    )


def _last_ticket(store: StoreRef, answers: FromClause) -> Any:
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


def _not_our_followup(store: StoreRef, ticket_id: ColumnElement[int]) -> ColumnElement[bool]:
    """Leave out the follow-up tickets we opened for detractors: a customer we wrote to has not
    "contacted support", and our own open follow-up is not their open ticket."""
    # Never correlated: the feed's query reads these facts straight from ``responses``.
    ours = (
        select(_responses.c.followup_ticket_id)
        .where(_responses.c.store == store, _responses.c.followup_ticket_id.is_not(None))
        .correlate(None)
    )
    return ticket_id.not_in(ours)


def _open_ticket(store: StoreRef, answers: FromClause) -> Any:
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


def _next_order(store: StoreRef, answers: FromClause, surveyed_at: Any) -> Any:
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


def _last_order(store: StoreRef, answers: FromClause) -> Any:
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
