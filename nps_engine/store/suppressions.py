"""Addresses that must never get a survey again: unsubscribed, bounced, or redacted.

Keyed by normalised address, so a suppression also covers a guest checkout or a second Shopify
customer with the same email. The first reason recorded is kept (an unsubscribe is not turned
into a bounce by a later attempt).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nps_engine.records import SuppressionReason, normalise_email
from nps_engine.store.database import upsert
from nps_engine.store.models import Suppression


def suppress(
    session: Session,
    store: str,
    email: str,
    reason: SuppressionReason,
    now: datetime,
    detail: str | None = None,
) -> None:
    address = normalise_email(email)
    if address is None:
        return
    row = {
        "store": store,
        "email": address,
        "reason": reason.value,
        "detail": detail,
        "created_at": now,
    }
    upsert(session, Suppression, [row], update=[])


def suppressions(session: Session, store: str) -> dict[str, SuppressionReason]:
    rows = session.execute(
        select(Suppression.email, Suppression.reason).where(Suppression.store == store)
    )
    return {email: SuppressionReason(reason) for email, reason in rows}


def is_suppressed(session: Session, store: str, email: str) -> SuppressionReason | None:
    address = normalise_email(email)
    row = session.get(Suppression, (store, address)) if address else None
    return SuppressionReason(row.reason) if row is not None else None
