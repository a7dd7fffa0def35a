"""The query of ``nps check --online`` is valid for the real schema and names a missing scope."""

import pytest
from shopify_fakes import ShopifyApi, admin_schema, client, clock, ok, shopify_api

from connectors.shopify.access import check_access
from connectors.shopify.client import ShopifyClient
from connectors.shopify.errors import ShopifyAuthError

__all__ = ["admin_schema", "client", "clock", "shopify_api"]


def test_a_token_that_reads_orders_and_customers_passes(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(
        ok(
            {
                "shop": {"name": "Maison", "myshopifyDomain": "maison.myshopify.com"},
                "orders": {"nodes": [{"id": "gid://shopify/Order/1"}]},
                "customers": {"nodes": []},
            }
        )
    )
    assert check_access(client) == "Maison (maison.myshopify.com)"


def test_a_missing_scope_is_named(client: ShopifyClient, shopify_api: ShopifyApi) -> None:
    shopify_api.reply(
        {
            "data": None,
            "errors": [
                {
                    "message": "Access denied for orders field.",
                    "path": ["orders"],
                    "extensions": {"code": "ACCESS_DENIED"},
                }
            ],
        }
    )
    with pytest.raises(ShopifyAuthError, match="read_orders"):
        check_access(client)
