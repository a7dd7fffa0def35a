"""Shopify ``Customer`` nodes as :class:`Customer` records.

The email comes from ``defaultEmailAddress`` (``Customer.email`` is deprecated since 2025), with
its ``marketingState`` (SUBSCRIBED, NOT_SUBSCRIBED, UNSUBSCRIBED, PENDING, REDACTED, INVALID)
lowercased; ``numberOfOrders`` is an UnsignedInt64, sent as a JSON string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.shopify.mapping import gid_number, money, timestamp, unsigned
from nps_engine.records import Customer, normalise_email


def customer_from_node(node: Mapping[str, Any]) -> Customer:
    address = node.get("defaultEmailAddress") or {}
    state = address.get("marketingState")
    country = (node.get("defaultAddress") or {}).get("countryCodeV2")
    return Customer(
        id=gid_number(node["id"]),
        email=normalise_email(address.get("emailAddress")),
        first_name=node.get("firstName"),
        last_name=node.get("lastName"),
        locale=node.get("locale"),
        country=country,
        tags=tuple(node.get("tags") or ()),
        orders_count=unsigned(node.get("numberOfOrders")),
        total_spent=money((node.get("amountSpent") or {}).get("amount")),
        marketing_state=state.lower() if isinstance(state, str) else None,
        created_at=timestamp(node.get("createdAt")),
        updated_at=timestamp(node.get("updatedAt")),
    )
