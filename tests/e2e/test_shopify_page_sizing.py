"""Page sizes learned from Shopify's real costs, against the calibrated simulator: the second page
is sized from the first answer, and the next run starts from what the store remembers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from shopify_sandbox import WORLD_NOW, world

from connectors.shopify.client import GraphQLResult, ShopifyClient
from connectors.shopify.cost import MAX_PAGE_SIZE, estimated_cost
from connectors.shopify.paging import PageSizer
from connectors.shopify.queries import ORDERS_UPDATED
from connectors.shopify.source import ShopifyOrderSource
from jobs.sync_shopify import sync_shopify
from nps_engine.store.database import Database
from nps_engine.store.query_costs import StoredQueryCosts
from sandbox.shopify.cost import LeakyBucket
from sandbox.shopify.simulator import DEFAULT_ACCESS_TOKEN, ShopifySimulator
from sandbox.world import World

__all__ = ["world"]

NOW = WORLD_NOW + timedelta(minutes=5)


class Recording(ShopifyClient):
    """Notes the ``first`` and the real requested cost of every orders page."""

    pages: list[tuple[int, int]]

    def execute(
        self,
        document: str,
        variables: Mapping[str, Any] | None = None,
        *,
        expected_cost: int | None = None,
    ) -> GraphQLResult:
        result = super().execute(document, variables, expected_cost=expected_cost)
        if document == ORDERS_UPDATED and variables:
            self.pages.append((int(variables["first"]), int(result.cost["requestedQueryCost"])))
        return result


@pytest.fixture
def simulator(world: World) -> Iterator[ShopifySimulator]:
    with ShopifySimulator(world, bucket=LeakyBucket(2000, 2000), clock=lambda: WORLD_NOW) as sim:
        yield sim


def _client(world: World, simulator: ShopifySimulator) -> Recording:
    client = Recording(world.shop_domain, DEFAULT_ACCESS_TOKEN, api_base_url=simulator.base_url)
    client.pages = []
    return client


def test_the_second_page_is_sized_from_the_first_answers_real_cost(
    sqlite_database: Database, store_id: str, world: World, simulator: ShopifySimulator
) -> None:
    client = _client(world, simulator)
    sizer = PageSizer(StoredQueryCosts(sqlite_database, store_id), max_query_cost=200)
    sync_shopify(sqlite_database, store_id, ShopifyOrderSource(client, sizer=sizer), NOW)
    (first, first_cost), (second, _cost) = client.pages[:2]
    # The first page trusted the formula, which overcharges: it asked for few orders...
    per_node_estimate = estimated_cost(ORDERS_UPDATED, {"first": 1}) - estimated_cost(
        ORDERS_UPDATED, {"first": 0}
    )
    assert first <= 180 // per_node_estimate + 1
    # ...and the second page fills 90% of the limit at the real cost per node.
    assert second == min(MAX_PAGE_SIZE, int(180 / (first_cost / first)))
    assert second > 2 * first


def test_the_next_run_starts_at_the_size_learned_by_the_last(
    sqlite_database: Database, store_id: str, world: World, simulator: ShopifySimulator
) -> None:
    memory = StoredQueryCosts(sqlite_database, store_id)
    first_run = _client(world, simulator)
    source = ShopifyOrderSource(first_run, sizer=PageSizer(memory, max_query_cost=200))
    sync_shopify(sqlite_database, store_id, source, NOW)
    learned = memory.node_cost("OrdersUpdated")
    assert learned is not None
    next_run = _client(world, simulator)
    source = ShopifyOrderSource(next_run, sizer=PageSizer(memory, max_query_cost=200))
    sync_shopify(sqlite_database, store_id, source, NOW, full=False)
    if next_run.pages:  # nothing changed: the incremental run may read no page at all
        assert next_run.pages[0][0] == min(MAX_PAGE_SIZE, int(180 / learned))
    # A run on a new source with the same memory sizes its first page from it.
    fresh = PageSizer(memory, max_query_cost=200)
    assert fresh.first("OrdersUpdated", ORDERS_UPDATED, {"query": ""}) == min(
        MAX_PAGE_SIZE, int(180 / learned)
    )
    assert fresh.first("OrdersUpdated", ORDERS_UPDATED, {"query": ""}) > first_run.pages[0][0]
