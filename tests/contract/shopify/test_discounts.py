"""The promoter discount's mutation and lookup against the real 2026-01 schema and Shopify's
answer shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse
from graphql.execution.values import get_variable_values
from shopify_fakes import ShopifyApi, admin_schema, client, clock, ok, shopify_api

from connectors.shopify.client import ShopifyClient
from connectors.shopify.discounts import ShopifyDiscountDesk, discount_input
from connectors.shopify.errors import ShopifyRequestRejected
from connectors.shopify.queries import DISCOUNT_CREATE
from nps_engine.ports import PromoterCode

__all__ = ["admin_schema", "client", "clock", "shopify_api"]

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PERCENT = PromoterCode(
    code="THANKS-AB3DEF7GHK",
    customer_id=7000000000001,
    title="NPS thank-you",
    starts_at=START,
    ends_at=datetime(2026, 12, 30, 9, 0, tzinfo=UTC),
    percentage=Decimal("10"),
)
FIXED = PromoterCode(
    code="THANKS-ZZ3DEF7GHK",
    customer_id=7000000000002,
    title="NPS thank-you",
    starts_at=START,
    ends_at=datetime(2026, 12, 30, 9, 0, tzinfo=UTC),
    fixed_amount=Decimal("5.00"),
    minimum_order=Decimal("40.00"),
)


@pytest.mark.parametrize("reward", [PERCENT, FIXED], ids=["percentage", "fixed_amount"])
def test_the_variables_are_a_valid_discount_input_for_the_real_schema(
    reward: PromoterCode, admin_schema: GraphQLSchema
) -> None:
    operation = parse(DISCOUNT_CREATE).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(
        admin_schema, operation.variable_definitions, {"discount": discount_input(reward)}
    )
    assert not isinstance(coerced, list), [str(e) for e in coerced]


def test_the_code_is_for_one_customer_once_until_it_ends() -> None:
    made = discount_input(FIXED)
    assert made["context"] == {"customers": {"add": ["gid://shopify/Customer/7000000000002"]}}
    assert (made["usageLimit"], made["appliesOncePerCustomer"]) == (1, True)
    assert (made["startsAt"], made["endsAt"]) == ("2026-11-30T09:00:00Z", "2026-12-30T09:00:00Z")
    assert made["customerGets"]["value"] == {
        "discountAmount": {"amount": "5.00", "appliesOnEachItem": False}
    }
    assert made["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "40.00"}}
    assert discount_input(PERCENT)["customerGets"]["value"] == {"percentage": 0.1}


def test_a_code_already_taken_by_a_lost_attempt_is_adopted(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    taken = {
        "codeDiscountNode": None,
        "userErrors": [
            {
                "field": ["basicCodeDiscount", "code"],
                "message": "Code must be unique. Please try a different code.",
                "code": "TAKEN",
            }
        ],
    }
    shopify_api.reply(ok({"discountCodeBasicCreate": taken}))
    shopify_api.reply(ok({"codeDiscountNodeByCode": {"id": "gid://shopify/DiscountCodeNode/9"}}))
    assert ShopifyDiscountDesk(client).create_code(PERCENT) == "gid://shopify/DiscountCodeNode/9"


def test_another_refusal_is_a_permanent_error_naming_it(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    refused = {
        "codeDiscountNode": None,
        "userErrors": [{"field": ["basicCodeDiscount", "endsAt"], "message": "Ends at is invalid",
                        "code": "INVALID"}],
    }  # fmt: skip
    shopify_api.reply(ok({"discountCodeBasicCreate": refused}))
    with pytest.raises(ShopifyRequestRejected, match="Ends at is invalid"):
        ShopifyDiscountDesk(client).create_code(PERCENT)
