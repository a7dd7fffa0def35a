"""``ShopifyAccessProbe``: what the Admin API's answer says about the app's access (item 1)."""

from __future__ import annotations

import pytest
import responses

from connectors.errors import ConnectorError
from connectors.shopify.access import ShopifyAccessProbe
from connectors.shopify.client import ShopifyClient

ENDPOINT = "https://my-shop.myshopify.com/admin/api/2026-01/graphql.json"


def probe() -> ShopifyAccessProbe:
    client = ShopifyClient("my-shop.myshopify.com", "shpat_x", retry_options={"max_attempts": 1})
    return ShopifyAccessProbe(client)


@responses.activate
def test_an_answering_admin_api_means_the_app_is_still_installed() -> None:
    responses.post(ENDPOINT, json={"data": {"shop": {"id": "gid://shopify/Shop/1"}}})
    assert probe().admin_api_accepts_us() is True


@pytest.mark.parametrize("status", [401, 402, 404])
@responses.activate
def test_a_refused_token_or_closed_shop_means_access_is_gone(status: int) -> None:
    responses.post(ENDPOINT, status=status, json={"errors": "[API] Invalid API key"})
    assert probe().admin_api_accepts_us() is False


@responses.activate
def test_an_outage_says_nothing_and_raises() -> None:
    responses.post(ENDPOINT, status=500, body="oops")
    with pytest.raises(ConnectorError):
        probe().admin_api_accepts_us()
