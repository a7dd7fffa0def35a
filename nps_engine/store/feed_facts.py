"""Which segments a whole batch of the feed's answers is in, read set by set rather than answer by
answer: the export of a million answers and a page of fifty take the same path.

The report's fact query (``fact_query.with_facts``) looks up, for each answer, the latest ticket
before it, the customer's latest order and the first order after the surveyed one: three
correlated subqueries per answer, which made the export read about 3,000 answers a second. Here
the feed's own row already carries the customer and the surveyed order (it joins them to show
them), and one query per batch reads every order and every ticket of the batch's customers
(each a range of the index starting with ``(store, customer_id)``); the three times are then
found by bisection in Python. :func:`facts_of` builds the same :class:`ResponseFacts` that
``facts_reader`` builds from the fact query (a test compares the two on the same store).

Facts only custom rules read (``fact_query.OPTIONAL_FACTS``: the previous score, an open ticket,
imported properties) are not read here: the feed uses the fact query when a rule needs them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, Text, and_, func, select, type_coerce

from nps_engine.records import SurveyKind
from nps_engine.segments import ResponseFacts, customer_key
from nps_engine.store.facts_reader import FactsReader, _utc
from nps_engine.store.models import Order, Response, Ticket

_r = Response.__table__.c
_orders = Order.__table__
_o = _orders.c
_t = Ticket.__table__.c
_ZERO = Decimal(0)
_KINDS = {kind.value: kind for kind in SurveyKind}


@dataclass
class History:
    """The orders (not cancelled) and tickets (not our follow-ups) of a batch's customers: each
    customer's latest order, the first order after each answer's surveyed one, and every ticket
    time, sorted."""

    last_order: dict[int, Any] = field(default_factory=dict)  # by customer
    next_order: dict[int, Any] = field(default_factory=dict)  # by answer: after the surveyed one
    tickets_by_customer: dict[int, list[Any]] = field(default_factory=dict)
    tickets_by_email: dict[str, list[Any]] = field(default_factory=dict)


def read_history(
    connection: Any, store: str, answers: Select[Any], people: Select[Any], emails: Select[Any]
) -> History:
    """``answers``: a query of the batch's answers (id, customer id, order id); ``people``: of its
    customer ids; ``emails``: of the emails of its answers without a customer (their tickets are
    matched by requester email, as in the report)."""
    ours = select(_r.followup_ticket_id).where(
        _r.store == store, _r.followup_ticket_id.is_not(None)
    )
    history = History()
    latest = (
        select(_o.customer_id, _raw(func.max(_o.created_at)))
        .where(_o.store == store, _o.customer_id.in_(people), _o.cancelled_at.is_(None))
        .group_by(_o.customer_id)
    )
    history.last_order = dict(connection.execute(latest).all())
    history.next_order = dict(connection.execute(_next_orders(store, answers.subquery())).all())
    tickets = select(_t.customer_id, _raw(_t.created_at)).where(
        _t.store == store, _t.customer_id.in_(people), _t.id.not_in(ours)
    )
    _collect(connection.execute(tickets), history.tickets_by_customer)
    by_email = select(_t.requester_email, _raw(_t.created_at)).where(
        _t.store == store, _t.requester_email.in_(emails), _t.id.not_in(ours)
    )
    _collect(connection.execute(by_email), history.tickets_by_email)
    return history


def _next_orders(store: str, answers: Any) -> Select[Any]:
    """Each answer's first order (not cancelled) after its surveyed one: one seek of the index
    ``(store, customer_id, created_at, cancelled_at)`` per answer, as ``fact_query._next_order``."""
    surveyed, later = _orders.alias("surveyed"), _orders.alias("later")
    first_later = (
        select(func.min(later.c.created_at))
        .where(later.c.store == store, later.c.customer_id == answers.c.customer_id)
        .where(later.c.created_at > surveyed.c.created_at, later.c.cancelled_at.is_(None))
        .scalar_subquery()
    )
    return (
        select(answers.c.id, _raw(first_later))
        .select_from(answers)
        .join(surveyed, and_(surveyed.c.store == store, surveyed.c.id == answers.c.order_id))
        .where(answers.c.customer_id.is_not(None))
    )


def _collect(result: Any, into: dict[Any, list[Any]]) -> None:
    """Times kept as the driver gives them: UTC text in one format on SQLite (which compares them
    as text in SQL too), datetimes on PostgreSQL. Only the few chosen are parsed."""
    for key, moment in result:
        if key is not None and moment is not None:
            into.setdefault(key, []).append(moment)
    for moments in into.values():
        moments.sort()


def _raw(column: Any) -> Any:
    """Times as the driver gives them, parsed once by ``facts_reader._utc``."""
    return type_coerce(column, Text)


class FactsOfRows:
    """Feed rows (with the customer's and surveyed order's columns) to :class:`ResponseFacts`,
    shared tag sets and all, exactly as ``FactsReader`` would build them."""

    def __init__(self, now: datetime, support_window_days: int) -> None:
        self.now, self.window = now, support_window_days
        # FactsReader's own decoding and cache of tag sets (tags do not depend on the kind)
        self._tags = FactsReader(SurveyKind.TRANSACTIONAL, now, self.window, FactsReader.FIELDS)

    def facts(
        self,
        history: History,
        answer_id: int,
        kind: str,
        customer_id: int | None,
        email: str | None,
        score: int,
        responded_at: object,
        orders_count: int | None,
        total_spent: Decimal | None,
        tags: object,
        country: str | None,
        surveyed_at: object,
        returned: object,
        refunded: object,
    ) -> ResponseFacts:
        """``responded_at`` and ``surveyed_at`` raw, as the driver gives them (see _collect)."""
        survey_kind = _KINDS[kind]
        tickets: Sequence[Any] = ()
        last_order = None
        if customer_id is not None:
            last_order = history.last_order.get(customer_id)
            tickets = history.tickets_by_customer.get(customer_id, ())
        elif email is not None:
            tickets = history.tickets_by_email.get(email, ())
        before = bisect_right(tickets, responded_at)
        next_order = history.next_order.get(answer_id)
        return ResponseFacts(
            customer_key(customer_id, email, answer_id),
            customer_id,
            email,
            score,
            survey_kind,
            _utc(responded_at),
            self.now,
            self.window,
            None,
            bool(returned or refunded),
            _utc(tickets[before - 1]) if before else None,
            False,
            orders_count or 0,
            _ZERO if total_spent is None else total_spent,
            None if last_order is None else _utc(last_order),
            None if surveyed_at is None else _utc(surveyed_at),
            None if next_order is None else _utc(next_order),
            self._tags.tags_of(tags),
            country.upper() if country else None,
            answer_id,
        )
