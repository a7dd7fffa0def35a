"""The :class:`~nps_engine.ports.DiscountDesk` for Shopify: promoters' single-use codes.

``discountCodeBasicCreate`` makes a basic code discount: for one customer only (``context``;
the older ``customerSelection`` is deprecated in 2026-01), once per customer and once in all
(``usageLimit: 1``), on the whole order, from the answer until the end of its validity, with an
optional minimum subtotal. ``codeDiscountNodeByCode`` finds a code again, which is how a run
that lost the mutation's answer learns whether it succeeded
(https://shopify.dev/docs/api/admin-graphql/latest/mutations/discountCodeBasicCreate). Both
need the ``write_discounts`` scope.
"""

from __future__ import annotations

from typing import Any

from connectors.shopify.client import ShopifyClient
from connectors.shopify.errors import SYSTEM, ShopifyRequestRejected
from connectors.shopify.mapping import gid, iso
from connectors.shopify.queries import DISCOUNT_BY_CODE, DISCOUNT_CREATE
from nps_engine.ports import PromoterCode


class ShopifyDiscountDesk:
    def __init__(self, client: ShopifyClient) -> None:
        self.client = client

    def find_code(self, code: str) -> str | None:
        node = self.client.execute(DISCOUNT_BY_CODE, {"code": code}).data.get(
            "codeDiscountNodeByCode"
        )
        return str(node["id"]) if node else None

    def create_code(self, reward: PromoterCode) -> str:
        payload = self.client.execute(DISCOUNT_CREATE, {"discount": discount_input(reward)}).data[
            "discountCodeBasicCreate"
        ]
        errors = payload.get("userErrors") or []
        if any(e.get("code") == "TAKEN" for e in errors):
            # Created by an attempt whose answer we never got.
            found = self.find_code(reward.code)
            if found is not None:
                return found
        if errors or not payload.get("codeDiscountNode"):
            message = "; ".join(str(e.get("message")) for e in errors) or "no discount returned"
            raise ShopifyRequestRejected(f"discount code refused: {message}", system=SYSTEM)
        return str(payload["codeDiscountNode"]["id"])


def discount_input(reward: PromoterCode) -> dict[str, Any]:
    """The ``DiscountCodeBasicInput`` of one promoter's code."""
    if reward.percentage is not None:
        # Shopify takes the share as a fraction: 0.1 is 10%.
        value: dict[str, Any] = {"percentage": float(reward.percentage / 100)}
    else:
        assert reward.fixed_amount is not None
        value = {"discountAmount": {"amount": str(reward.fixed_amount), "appliesOnEachItem": False}}
    discount: dict[str, Any] = {
        "title": f"{reward.title} ({reward.code})",
        "code": reward.code,
        "startsAt": iso(reward.starts_at),
        "endsAt": iso(reward.ends_at),
        "context": {"customers": {"add": [gid("Customer", reward.customer_id)]}},
        "appliesOncePerCustomer": True,
        "usageLimit": 1,
        "customerGets": {"value": value, "items": {"all": True}},
    }
    if reward.minimum_order is not None:
        discount["minimumRequirement"] = {
            "subtotal": {"greaterThanOrEqualToSubtotal": str(reward.minimum_order)}
        }
    return discount
