"""Webhook de-duplication: vendors deliver at least once (Shopify retries 8 times over 4 hours), so
each delivery id is recorded and a repeat is acknowledged without being applied twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nps_engine.store.database import upsert
from nps_engine.store.models import WebhookEvent


def first_delivery(
    session: Session,
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
    delivery unrecorded and the vendor's retry applies it.
    """
    row = {
        "store": store,
        "source": source,
        "delivery_id": delivery_id,
        "event_id": event_id,
        "topic": topic,
        "received_at": now,
    }
    before = session.get(WebhookEvent, (store, source, delivery_id))
    if before is not None:
        return False
    if event_id is not None:
        seen = session.scalar(
            select(WebhookEvent.delivery_id)
            .where(WebhookEvent.store == store, WebhookEvent.source == source)
            .where(WebhookEvent.event_id == event_id)
            .limit(1)
        )
        if seen is not None:
            return False
    upsert(session, WebhookEvent, [row], update=[])
    session.flush()
    return True
