"""What "usual" means for one store's customers, read from its orders (for the churn-risk
segment): how many days a repeat customer usually waits between two orders.

One grouped query returns, per customer with two orders or more (cancelled ones left out), the
first and last order times and the count; their average gap is ``(last - first) / (count - 1)``
and the store's usual gap is the median of those averages over its repeat customers. Only
tallies-sized data leaves the database (one row per repeat customer), and no answer or score is
read: the segment this feeds must not depend on the score.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

from sqlalchemy import func, select

from nps_engine.store.database import Database
from nps_engine.store.models import Order

_orders = Order.__table__


def usual_return_days(database: Database, store: str, now: datetime) -> float | None:
    """The median, over customers with two orders or more placed before ``now``, of their
    average days between orders; None when no customer has ordered twice."""
    o = _orders.c
    query = (
        select(func.min(o.created_at), func.max(o.created_at), func.count())
        .where(o.store == store, o.customer_id.is_not(None), o.cancelled_at.is_(None))
        .where(o.created_at <= now)
        .group_by(o.customer_id)
        .having(func.count() >= 2)
    )
    with database.engine.connect() as connection:
        gaps = [
            (_utc(last) - _utc(first)).total_seconds() / 86_400 / (count - 1)
            for first, last, count in connection.execute(query)
        ]
    return statistics.median(gaps) if gaps else None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
