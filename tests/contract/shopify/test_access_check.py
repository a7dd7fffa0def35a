"""The query of ``nps check --online`` is valid for the real schema and names a missing scope."""

import pytest
from shopify_fakes import ShopifyApi, admin_schema, client, clock, ok, shopify_api

from connectors.shopify.access import check_access
from connectors.shopify.client import ShopifyClient
from connectors.shopify.errors import ShopifyAuthError
from connectors.shopify.scopes import REQUIRED_SCOPES, needed_scopes

__all__ = ["admin_schema", "client", "clock", "shopify_api"]


def test_a_token_that_reads_orders_and_customers_passes(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(
        ok(
            {
                "shop": {"name": "Maison", "myshopifyDomain": "maison.myshopify.com"},
                "currentAppInstallation": {
                    "accessScopes": [{"handle": s} for s in REQUIRED_SCOPES]
                },
                "orders": {"nodes": [{"id": "gid://shopify/Order/1"}]},
                "customers": {"nodes": []},
            }
        )
    )
    report = check_access(client, needed_scopes(rewards=False))
    assert report.shop == "Maison (maison.myshopify.com)"
    assert report.kind.startswith("legacy admin app token")
    assert report.missing == ()


def test_a_scope_the_installation_lacks_is_named_missing(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    granted = ["write_orders", "write_customers", "read_fulfillments", "read_returns"]
    shopify_api.reply(
        ok(
            {
                "shop": {"name": "Maison", "myshopifyDomain": "maison.myshopify.com"},
                "currentAppInstallation": {"accessScopes": [{"handle": s} for s in granted]},
                "orders": {"nodes": []},
                "customers": {"nodes": []},
            }
        )
    )
    report = check_access(client, needed_scopes(rewards=True))
    # write_orders implies read_orders; read_all_orders and write_discounts are not granted.
    assert report.missing == ("read_all_orders", "write_discounts")
    assert "MISSING: read_all_orders, write_discounts" in report.describe()


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
        check_access(client, REQUIRED_SCOPES)
