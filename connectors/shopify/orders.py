"""Shopify orders (GraphQL ``Order`` nodes and bulk JSONL rows) as :class:`Order` records.

What the product needs from an order, and where Shopify keeps it:

- delivered: ``Fulfillment.deliveredAt`` (null until the carrier reports a delivery; the latest
  one counts when an order ships in several parcels); fulfilled: the first live fulfilment's
  ``createdAt``, the fallback when a carrier never reports delivery. Cancelled fulfilments
  (``status: CANCELLED``) count for neither.
- tracked: a live fulfilment has a ``trackingInfo`` number, so a delivery date will come (the
  fallback is for untracked parcels only); delivery status: the latest live fulfilment's
  ``displayStatus`` (IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED, ...).
- refunded: any ``Refund``; returned: any ``Return`` not declined or cancelled (a requested
  return already says the customer was unhappy), or, where the query reads the order's summary,
  a ``returnStatus`` other than NO_RETURN.
- ``customer`` is null for a guest checkout.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.shopify.mapping import gid_number, money, required_timestamp, timestamp
from nps_engine.records import Order, normalise_email

DEAD_FULFILMENT = {"CANCELLED", "ERROR", "FAILURE"}
DEAD_RETURN = {"DECLINED", "CANCELED"}
# OrderReturnStatus: NO_RETURN once every return was declined or cancelled.
NO_RETURN = {"NO_RETURN"}


def order_from_node(node: Mapping[str, Any]) -> Order:
    """An ``Order`` node of our queries (``returns`` as ``{nodes: [...]}`` or a list)."""
    fulfilments = [
        f for f in node.get("fulfillments") or () if f.get("status") not in DEAD_FULFILMENT
    ]
    price = (node.get("totalPriceSet") or {}).get("shopMoney") or {}
    customer = node.get("customer")
    return Order(
        id=gid_number(node["id"]),
        name=node.get("name") or "",
        customer_id=gid_number(customer["id"]) if customer else None,
        email=normalise_email(node.get("email")),
        created_at=required_timestamp(node.get("createdAt"), "Order.createdAt"),
        updated_at=required_timestamp(node.get("updatedAt"), "Order.updatedAt"),
        cancelled_at=timestamp(node.get("cancelledAt")),
        fulfilled_at=_earliest(timestamp(f.get("createdAt")) for f in fulfilments),
        delivered_at=_latest(timestamp(f.get("deliveredAt")) for f in fulfilments),
        refunded=bool(node.get("refunds")),
        returned=_returned(node),
        total_price=money(price.get("amount")),
        currency=price.get("currencyCode"),
        tracked=any(_tracking_numbers(f) for f in fulfilments),
        delivery_status=_latest_status(fulfilments),
    )


def _tracking_numbers(fulfilment: Mapping[str, Any]) -> list[str]:
    return [t["number"] for t in fulfilment.get("trackingInfo") or () if t.get("number")]


def _latest_status(fulfilments: list[Mapping[str, Any]]) -> str | None:
    dated = [(f.get("createdAt") or "", f.get("displayStatus")) for f in fulfilments]
    statuses = [status for _at, status in sorted(dated) if status]
    return statuses[-1] if statuses else None


def _returned(node: Mapping[str, Any]) -> bool:
    status = node.get("returnStatus")
    if status is not None:
        return status not in NO_RETURN
    return any(r.get("status") not in DEAD_RETURN for r in _returns(node))


def _returns(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    returns = node.get("returns") or ()
    if isinstance(returns, Mapping):
        return list(returns.get("nodes") or ())
    return list(returns)


def _earliest(moments: Any) -> datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def _latest(moments: Any) -> datetime | None:
    present = [m for m in moments if m is not None]
    return max(present) if present else None
