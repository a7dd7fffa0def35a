"""What Shopify derives from an order's or a customer's facts, shared by GraphQL and webhooks.

An order refunded in full is ``REFUNDED``, in part ``PARTIALLY_REFUNDED``, a cancelled unpaid one
``VOIDED``; ``returnStatus`` summarises the returns as in the recorded lifecycle; money is a
``MoneyV2``/``MoneyBag``; tags come back sorted case-insensitively, as Shopify returns them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.world import Order

COUNTRY_NAMES = {
    "US": "United States", "GB": "United Kingdom", "CA": "Canada", "AU": "Australia",
    "IE": "Ireland", "FR": "France", "BE": "Belgium", "CH": "Switzerland", "DE": "Germany",
    "AT": "Austria", "ES": "Spain", "MX": "Mexico", "AR": "Argentina",
}  # fmt: skip


def money(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currencyCode": currency}


def money_bag(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"shopMoney": money(amount, currency), "presentmentMoney": money(amount, currency)}


def shop_tags(tags: list[str]) -> list[str]:
    return sorted(tags, key=str.lower)


def financial_status(order: Order) -> str:
    refunded = order.refunded_amount
    if refunded >= order.total_price:
        return "REFUNDED"
    if refunded > 0:
        return "PARTIALLY_REFUNDED"
    return "VOIDED" if order.cancelled_at else "PAID"


def return_status(order: Order) -> str:
    """The order's summary of its returns (recorded lifecycle: a declined return next to an open
    one leaves ``IN_PROGRESS``; a closed one makes the order ``RETURNED``)."""
    statuses = {r.status for r in order.returns}
    if "CLOSED" in statuses:
        return "RETURNED"
    if "OPEN" in statuses:
        return "IN_PROGRESS"
    if "REQUESTED" in statuses:
        return "RETURN_REQUESTED"
    return "NO_RETURN"


def shop_email(email: str | None) -> str | None:
    """An address as Shopify stores it: surrounding spaces gone (its validation strips them),
    capitals kept (the recorded ``Russel.winfield@example.com`` shows they are)."""
    return email.strip() if email else None
