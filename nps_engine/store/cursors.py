"""Incremental cursors: read at the start of a sync, saved in the same transaction as the data
they cover, so a crash never moves a cursor past uncommitted rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nps_engine.store.database import upsert
from nps_engine.store.models import Cursor


def read_cursor(session: Session, store: str, name: str) -> str | None:
    return session.scalar(select(Cursor.value).where(Cursor.store == store, Cursor.name == name))


def save_cursor(session: Session, store: str, name: str, value: str, now: datetime) -> None:
    """Stage the new cursor value; it lands when the caller's transaction commits."""
    upsert(session, Cursor, [{"store": store, "name": name, "value": value, "updated_at": now}])
