"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an ``INTEGER PRIMARY KEY``; PostgreSQL wants 64 bits.
AutoId = BigInteger().with_variant(Integer(), "sqlite")
# Every row carries its store (the config's store.id).
StoreKey = String(64)
Money = Numeric(14, 2)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in, timezone-aware UTC datetimes out, on every backend.

    SQLite has no time zone type and hands back naive values; naive values going in are a bug in
    the caller, so they are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use UTC-aware values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
