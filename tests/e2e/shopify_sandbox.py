"""The Shopify simulator with a generated world, and our client pointed at it (imported by the
Shopify end-to-end tests)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.shopify.client import ShopifyClient
from connectors.shopify.source import ShopifyOrderSource
from sandbox.generator import generate
from sandbox.shopify.cost import LeakyBucket
from sandbox.shopify.simulator import DEFAULT_ACCESS_TOKEN, ShopifySimulator
from sandbox.traffic import FaultPlan
from sandbox.world import World

WORLD_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
FAULTS = FaultPlan(error_rate=0.08, reset_rate=0.03, seed=11)


@pytest.fixture
def world() -> World:
    return generate(customers=80, seed=5, now=WORLD_NOW)


@pytest.fixture
def simulator(world: World) -> Iterator[ShopifySimulator]:
    # A bucket that refills in a second keeps the tests fast; the waits are real.
    simulator = ShopifySimulator(
        world,
        faults=FAULTS,
        bucket=LeakyBucket(2000, 2000),
        clock=lambda: WORLD_NOW,
        bulk_polls_to_complete=2,
    )
    with simulator:
        yield simulator


@pytest.fixture
def client(world: World, simulator: ShopifySimulator) -> ShopifyClient:
    return ShopifyClient(
        world.shop_domain,
        DEFAULT_ACCESS_TOKEN,
        api_base_url=simulator.base_url,
        timeout=5.0,
    )


@pytest.fixture
def source(client: ShopifyClient) -> ShopifyOrderSource:
    return ShopifyOrderSource(client, bulk_poll_seconds=0.01)
