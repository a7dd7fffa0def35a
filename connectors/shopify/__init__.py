"""Shopify Admin GraphQL: the client, the order source (sync, backfill), the tag writer, and
webhook parsing. Built from plain values; ``jobs/bootstrap.py`` maps the settings::

    client = ShopifyClient(shop, token, api_version="2026-01", api_base_url=None, timeout=30)
    source = ShopifyOrderSource(client)      # nps_engine.ports.OrderSource
    writer = ShopifyTagWriter(client)        # nps_engine.ports.TagWriter
"""

from connectors.shopify.client import ShopifyClient
from connectors.shopify.source import ShopifyOrderSource, shopify_source
from connectors.shopify.tags import ShopifyTagWriter

__all__ = ["ShopifyClient", "ShopifyOrderSource", "ShopifyTagWriter", "shopify_source"]
