"""Loopback simulator of Shopify's Admin GraphQL API (see :mod:`sandbox.shopify.simulator`)."""

from sandbox.shopify.cost import LeakyBucket
from sandbox.shopify.simulator import DEFAULT_ACCESS_TOKEN, DEFAULT_API_VERSION, ShopifySimulator

__all__ = ["DEFAULT_ACCESS_TOKEN", "DEFAULT_API_VERSION", "LeakyBucket", "ShopifySimulator"]
