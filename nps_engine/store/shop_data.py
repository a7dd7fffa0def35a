"""Shopify customers and orders in the store.

Sync upserts are idempotent and write only the columns the sync owns: ``redacted_at`` belongs to
``customers/redact`` (:mod:`nps_engine.store.shop_privacy`), and a redacted customer's name and
email are never written back even when Shopify still sends them. Webhook updates (delivered,
refunded, returned) change one fact of an order the sync already brought; the next sync stays the
source of truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.orm import Session

from nps_engine.records import Customer, Order
from nps_engine.store import models
from nps_engine.store.database import upsert

CUSTOMER_COLUMNS = (
    "email", "first_name", "last_name", "locale", "country", "tags", "orders_count",
    "total_spent", "marketing_state", "created_at", "updated_at", "synced_at",
)  # fmt: skip
ORDER_COLUMNS = (
    "name", "customer_id", "email", "created_at", "updated_at", "cancelled_at", "fulfilled_at",
    "delivered_at", "refunded", "returned", "total_price", "currency", "synced_at", "tracked",
    "delivery_status",
)  # fmt: skip


def upsert_customers(
    session: Session, store: str, customers: Sequence[Customer], now: datetime
) -> int:
    if not customers:
        return 0
    redacted = _redacted_ids(session, store, [c.id for c in customers])
    rows = [_customer_row(store, c, now, c.id in redacted) for c in customers]
    upsert(session, models.Customer, rows, update=CUSTOMER_COLUMNS)
    return len(rows)


def upsert_orders(
    session: Session | Connection, store: str, orders: Sequence[Order], now: datetime
) -> int:
    if not orders:
        return 0
    owners = [o.customer_id for o in orders if o.customer_id is not None]
    redacted = _redacted_ids(session, store, owners)
    rows = [_order_row(store, o, now, o.customer_id in redacted) for o in orders]
    upsert(session, models.Order, rows, update=ORDER_COLUMNS)
    return len(rows)


def _redacted_ids(session: Session | Connection, store: str, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    query = select(models.Customer.id).where(
        models.Customer.store == store,
        models.Customer.id.in_(set(ids)),
        models.Customer.redacted_at.is_not(None),
    )
    return set(session.scalars(query))


def _customer_row(store: str, c: Customer, now: datetime, redacted: bool) -> dict[str, Any]:
    return {
        "store": store,
        "id": c.id,
        "email": None if redacted else c.email,
        "first_name": None if redacted else _cut(c.first_name, 255),
        "last_name": None if redacted else _cut(c.last_name, 255),
        "locale": _cut(c.locale, 16),
        "country": _cut(c.country, 2),
        "tags": list(c.tags),
        "orders_count": c.orders_count,
        "total_spent": c.total_spent,
        "marketing_state": _cut(c.marketing_state, 32),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "synced_at": now,
    }


def _order_row(store: str, o: Order, now: datetime, redacted: bool) -> dict[str, Any]:
    return {
        "store": store,
        "id": o.id,
        "name": _cut(o.name, 64) or "",
        "customer_id": o.customer_id,
        "email": None if redacted else o.email,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
        "cancelled_at": o.cancelled_at,
        "fulfilled_at": o.fulfilled_at,
        "delivered_at": o.delivered_at,
        "refunded": o.refunded,
        "returned": o.returned,
        "total_price": o.total_price,
        "currency": _cut(o.currency, 3),
        "synced_at": now,
        "tracked": o.tracked,
        "delivery_status": _cut(o.delivery_status, 32),
    }


def _cut(value: str | None, length: int) -> str | None:
    return value[:length] if value is not None else None


# The webhook facts below are SQLAlchemy Core on a session or a plain connection (the web app's
# receivers use a connection, never the ORM): a statement each, no object loaded.


def record_fulfilled_order(
    session: Session | Connection, store: str, order: Order, now: datetime
) -> None:
    """``orders/fulfilled``: insert the order if the sync has not brought it yet, else only fill
    its fulfilment time; nothing the sync knows better (delivery, returns) is overwritten."""
    o = models.Order
    if not _order_exists(session, store, order.id):
        upsert_orders(session, store, [order], now)
    elif order.fulfilled_at is not None:
        session.execute(
            update(o)
            .where(o.store == store, o.id == order.id, o.fulfilled_at.is_(None))
            .values(fulfilled_at=order.fulfilled_at)
        )


def record_delivery(
    session: Session | Connection, store: str, order_id: int, delivered_at: datetime
) -> bool:
    """The latest delivery of an order wins (several parcels); False when the order is unknown."""
    o = models.Order
    result = session.execute(
        update(o)
        .where(o.store == store, o.id == order_id)
        .where(or_(o.delivered_at.is_(None), o.delivered_at < delivered_at))
        .values(delivered_at=delivered_at)
    )
    return getattr(result, "rowcount", 0) > 0 or _order_exists(session, store, order_id)


def _order_exists(session: Session | Connection, store: str, order_id: int) -> bool:
    o = models.Order
    found = session.execute(select(o.id).where(o.store == store, o.id == order_id)).first()
    return found is not None


def record_refund(session: Session | Connection, store: str, order_id: int) -> bool:
    return _set_flag(session, store, order_id, refunded=True)


def record_return(session: Session | Connection, store: str, order_id: int) -> bool:
    return _set_flag(session, store, order_id, returned=True)


def _set_flag(session: Session | Connection, store: str, order_id: int, **flag: bool) -> bool:
    result = session.execute(
        update(models.Order)
        .where(models.Order.store == store, models.Order.id == order_id)
        .values(**flag)
    )
    return bool(getattr(result, "rowcount", 0))
