"""The built-in segments as SQL conditions on an answer, so the feed's segment filter is a query
that reads indexes instead of building every answer's facts in Python.

Each condition is a *superset* of the segment: the feed still checks each row it shows with the
segment's own Python rule (``nps_engine.segments``), so a boundary that SQL cannot express the
same way on both databases (sub-second times, the support window) is widened a little here and
made exact there. What is read, per answer, is the same as the report's fact query
(``fact_query``): the surveyed order, the customer's tickets (not our own follow-ups), later and
latest orders, each a seek on an index starting with ``(store, customer_id)`` or the primary key.

Custom segments have no SQL here (their rules can read anything): the feed scans for them with a
bound (``response_feed.SCAN_LIMIT``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, and_, exists, func, literal, or_, select

from nps_engine.config.settings import SegmentSettings
from nps_engine.store.models import Customer, Order, Response, Ticket
from nps_engine.store.types import UtcDateTime

_r = Response.__table__.c
_tickets = Ticket.__table__
_orders = Order.__table__
_customers = Customer.__table__
# Widening of the support window in SQL (see the module docstring): a day covers any rounding.
_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class SegmentSql:
    """Builds the condition of one built-in segment for a store, read at ``now``."""

    store: str
    settings: SegmentSettings
    now: datetime
    usual_return_days: float | None
    dialect: str  # "sqlite" or "postgresql": only the support window's arithmetic differs

    def condition(self, name: str) -> ColumnElement[bool] | None:
        """The SQL superset of segment ``name``; None for a custom segment."""
        if name == "returned":
            return self.returned()
        if name == "support_contacted":
            return self.support_contacted()
        if name == "churn_risk":
            return self.churn_risk()
        return None

    def returned(self) -> ColumnElement[bool]:
        o = _orders.alias("segment_order")
        return exists(
            select(o.c.id).where(
                o.c.store == self.store,
                o.c.id == _r.order_id,
                or_(o.c.returned, o.c.refunded),
            )
        )

    def support_contacted(self) -> ColumnElement[bool]:
        t = _tickets.alias("segment_ticket")
        days = self.settings.support_contacted.window_days
        ours = select(_r.followup_ticket_id).where(
            _r.store == self.store, _r.followup_ticket_id.is_not(None)
        )

        def ticket(same_person: ColumnElement[bool]) -> ColumnElement[bool]:
            return exists(
                select(t.c.id).where(
                    t.c.store == self.store,
                    same_person,
                    t.c.created_at <= _r.responded_at,
                    t.c.created_at >= self._days_before(_r.responded_at, days),
                    t.c.id.not_in(ours),
                )
            )

        by_customer = and_(_r.customer_id.is_not(None), ticket(t.c.customer_id == _r.customer_id))
        by_email = and_(
            _r.customer_id.is_(None),
            _r.email.is_not(None),
            ticket(t.c.requester_email == _r.email),
        )
        return or_(by_customer, by_email)

    def churn_risk(self) -> ColumnElement[bool]:
        """Returned, contacted support, or went quiet (``segments.is_churn_risk``)."""
        rules = self.settings.churn_risk
        parts = [self.returned(), self.support_contacted()]
        usual = self.usual_return_days
        if usual is not None:
            if usual < rules.no_repeat_days:
                parts.append(self._no_repeat_order(timedelta(days=rules.no_repeat_days)))
            parts.append(self._lapsed_repeat_buyer(usual))
        return or_(*parts)

    def _no_repeat_order(self, limit: timedelta) -> ColumnElement[bool]:
        """No order after the surveyed one for longer than ``limit`` (after the latest order
        when the answer names none)."""
        surveyed = _orders.alias("segment_surveyed")
        later = _orders.alias("segment_later")
        cutoff = literal(self.now - limit, UtcDateTime())
        nothing_later = ~exists(
            select(later.c.id).where(
                later.c.store == self.store,
                later.c.customer_id == _r.customer_id,
                later.c.created_at > surveyed.c.created_at,
                later.c.cancelled_at.is_(None),
            )
        )
        quiet_since_surveyed = exists(
            select(surveyed.c.id).where(
                surveyed.c.store == self.store,
                surveyed.c.id == _r.order_id,
                surveyed.c.created_at <= cutoff,
                nothing_later,
            )
        )
        named_order = exists(
            select(surveyed.c.id).where(
                surveyed.c.store == self.store,
                surveyed.c.id == _r.order_id,
                surveyed.c.created_at.is_not(None),
            )
        )
        quiet_since_last = and_(~named_order, self._last_order_before(cutoff))
        return or_(quiet_since_surveyed, quiet_since_last)

    def _lapsed_repeat_buyer(self, usual: float) -> ColumnElement[bool]:
        """Two orders or more and ``days_since_last_order > 2 * usual``: whole days, so the
        last order is at least ``floor(2 * usual) + 1`` days old."""
        c = _customers.alias("segment_customer")
        days = math.floor(2 * usual) + 1
        cutoff = literal(self.now - timedelta(days=days), UtcDateTime())
        repeat_buyer = exists(
            select(c.c.id).where(
                c.c.store == self.store, c.c.id == _r.customer_id, c.c.orders_count >= 2
            )
        )
        return and_(repeat_buyer, self._last_order_before(cutoff))

    def _last_order_before(self, cutoff: Any) -> ColumnElement[bool]:
        """The customer's latest order that was not cancelled is at or before ``cutoff``."""
        o = _orders.alias("segment_last")
        latest = (
            select(func.max(o.c.created_at))
            .where(
                o.c.store == self.store,
                o.c.customer_id == _r.customer_id,
                o.c.cancelled_at.is_(None),
            )
            .scalar_subquery()
        )
        return and_(_r.customer_id.is_not(None), latest <= cutoff)

    def _days_before(self, moment: Any, days: int) -> Any:
        """``moment`` minus ``days`` (plus a day of slack), in the database's own arithmetic."""
        if self.dialect == "sqlite":
            # SQLite keeps UTC times as 'YYYY-MM-DD HH:MM:SS.ffffff' text; datetime() drops the
            # fraction, which the day of slack covers.
            return func.datetime(moment, f"-{days + _SLACK.days} days")
        return moment - literal(timedelta(days=days) + _SLACK, Interval())
