"""Loopback simulator of Shopify's Admin GraphQL API (see :mod:`sandbox.shopify.simulator`)."""

from sandbox.shopify.bucket import LeakyBucket
from sandbox.shopify.simulator import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_API_VERSION,
    DEFAULT_WEBHOOK_SECRET,
    ShopifySimulator,
)
from sandbox.shopify.webhooks import ShopifyWebhookSender

__all__ = [
    "DEFAULT_ACCESS_TOKEN",
    "DEFAULT_API_VERSION",
    "DEFAULT_WEBHOOK_SECRET",
    "LeakyBucket",
    "ShopifySimulator",
    "ShopifyWebhookSender",
]
