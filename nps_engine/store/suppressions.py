"""Addresses that must never get a survey again: unsubscribed, bounced, or redacted.

Keyed by the hash of the normalised address (``records.email_digest``), so a suppression also
covers a guest checkout or a second Shopify customer with the same email, and the list itself
holds no address (after ``customers/redact`` nothing readable of the customer is left). The first
reason recorded is kept (an unsubscribe is not turned into a bounce by a later attempt).
"""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from nps_engine.records import SuppressionReason, email_digest, normalise_email
from nps_engine.store.models import Suppression


def suppress(
    session: Session | Connection,
    store: str,
    email: str,
    reason: SuppressionReason,
    now: datetime,
    detail: str | None = None,
) -> None:
    if normalise_email(email) is None:
        return
    row = {
        "store": store,
        "email_hash": email_digest(email),
        "reason": reason.value,
        "detail": detail,
        "created_at": now,
    }
    dialect = session.dialect if isinstance(session, Connection) else session.get_bind().dialect
    session.execute(_first_reason_kept(dialect.name), row)


@functools.cache
def _first_reason_kept(dialect: str) -> Insert:
    """Built once: the unsubscribe page writes it on a plain connection, without the ORM."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # On the Table, not the mapped class: a plain Core statement even inside an ORM session.
    table: Table = Suppression.__table__  # type: ignore[assignment]
    return insert(table).on_conflict_do_nothing(index_elements=["store", "email_hash"])


def suppressions(session: Session, store: str) -> dict[str, SuppressionReason]:
    """Every suppression of the store, by ``email_digest`` of the address."""
    rows = session.execute(
        select(Suppression.email_hash, Suppression.reason).where(Suppression.store == store)
    )
    return {digest: SuppressionReason(reason) for digest, reason in rows}


def is_suppressed(session: Session, store: str, email: str) -> SuppressionReason | None:
    if normalise_email(email) is None:
        return None
    row = session.get(Suppression, (store, email_digest(email)))
    return SuppressionReason(row.reason) if row is not None else None
