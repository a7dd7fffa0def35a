"""Fixtures for the Shopify simulator tests.

``shopify`` starts a fresh simulator (own world, bucket and traffic log) on a free 127.0.0.1 port
for each test, so tag writes and bucket spending never leak between tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from shopify_support import NOW, GraphQLCaller

from sandbox.generator import generate
from sandbox.shopify import ShopifySimulator
from sandbox.world import World


@pytest.fixture
def shop_world() -> World:
    return generate(400, seed=11, now=NOW)


@pytest.fixture
def shopify(shop_world: World) -> Iterator[ShopifySimulator]:
    with ShopifySimulator(shop_world) as simulator:
        yield simulator


@pytest.fixture
def graphql(shopify: ShopifySimulator) -> Iterator[GraphQLCaller]:
    caller = GraphQLCaller(shopify)
    yield caller
    caller.session.close()


__all__ = ["graphql", "shop_world", "shopify"]
