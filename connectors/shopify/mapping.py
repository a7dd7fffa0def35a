"""Shopify's JSON scalars as Python values: GIDs, UnsignedInt64 strings, DateTimes, Money.

Shopify sends ids as ``gid://shopify/Order/123`` (JSONL escapes the slashes, which ``json``
undoes), ``UnsignedInt64`` fields such as ``numberOfOrders`` as JSON strings (``"13"``), DateTimes
as ISO 8601 in UTC with ``Z`` (webhooks, REST shapes, carry offsets such as ``-05:00``) and money
as decimal strings (``"11884.9"``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def gid_number(gid: str | int) -> int:
    """``gid://shopify/Customer/9522206933298`` -> ``9522206933298`` (plain numbers pass)."""
    if isinstance(gid, int):
        return gid
    tail = str(gid).rsplit("/", 1)[-1].split("?", 1)[0]
    if not tail.isdigit():
        raise ValueError(f"not a Shopify id: {gid!r}")
    return int(tail)


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def timestamp(value: str | None) -> datetime | None:
    """An aware UTC datetime, or None for a missing one."""
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value!r}")
    return moment.astimezone(UTC)


def required_timestamp(value: str | None, what: str) -> datetime:
    moment = timestamp(value)
    if moment is None:
        raise ValueError(f"{what} is missing")
    return moment


# Order totals are stored as NUMERIC(14, 2)-sized amounts; nothing real comes near this.
MAX_AMOUNT = Decimal(10) ** 12


def money(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)) if value is not None else Decimal("0")
    except InvalidOperation:
        raise ValueError(f"not an amount: {str(value)[:40]!r}") from None
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise ValueError(f"not an amount: {str(value)[:40]!r}")
    return amount


def unsigned(value: Any) -> int:
    """``UnsignedInt64`` arrives as a JSON string (``"13"``); be lenient with a number too."""
    if value is None:
        return 0
    return int(str(value))


def iso(moment: datetime) -> str:
    """Our timestamps in Shopify's search syntax: UTC, seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
