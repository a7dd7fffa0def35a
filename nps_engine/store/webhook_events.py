"""Webhook de-duplication: vendors deliver at least once (Shopify retries 8 times over 4 hours), so
each delivery id is recorded and a repeat is acknowledged without being applied twice."""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.selectable import Select

from nps_engine.store.database import dialect_of
from nps_engine.store.models import WebhookEvent


def first_delivery(
    session: Session | Connection,
    store: str,
    source: str,
    delivery_id: str,
    topic: str,
    now: datetime,
    event_id: str | None = None,
) -> bool:
    """Record the delivery; True the first time this id is seen, False for a repeat.

    A repeat is the same delivery id, or the same ``event_id`` (Shopify's ``X-Shopify-Event-Id``)
    under another delivery id: a body re-sent with a made-up webhook id is not applied again.

    Call it in the same transaction that applies the webhook, so a crash mid-way leaves the
    delivery unrecorded and the vendor's retry applies it. SQLAlchemy Core only (a session or a
    plain connection): the insert itself is the claim, so two racing deliveries of one id cannot
    both be applied.
    """
    row = {
        "store": store,
        "source": source,
        "delivery_id": delivery_id,
        "event_id": event_id,
        "topic": topic,
        "received_at": now,
    }
    if event_id is not None:
        seen = session.execute(
            _event_seen(), {"store": store, "source": source, "event_id": event_id}
        ).first()
        if seen is not None:
            return False
    # A row back: ours; none: the id was there already (rowcount is not reliable across drivers).
    return session.execute(_claim(dialect_of(session)), row).first() is not None


@functools.cache
def _event_seen() -> Select[str]:
    w = WebhookEvent
    return (
        select(w.delivery_id)
        .where(w.store == bindparam("store"), w.source == bindparam("source"))
        .where(w.event_id == bindparam("event_id"))
        .limit(1)
    )


@functools.cache
def _claim(dialect: str) -> ReturningInsert[str]:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table: Table = WebhookEvent.__table__  # type: ignore[assignment]
    statement = insert(table).on_conflict_do_nothing(
        index_elements=["store", "source", "delivery_id"]
    )
    return statement.returning(table.c.delivery_id)
