"""The first guess counts named fragments; later pages follow what Shopify really charged."""

from __future__ import annotations

import pytest
from fakes import FakeQueryCostMemory

from connectors.shopify.cost import CostBucket, estimated_cost
from connectors.shopify.paging import PageSizer
from connectors.shopify.queries import ORDERS_UPDATED

INLINE = """
query Inline($id: ID!) {
  order(id: $id) { id fulfillments(first: 5) { id location { id } trackingInfo(first: 1) { url } } }
}
"""
NAMED = """
fragment Shipment on Fulfillment { id location { id } trackingInfo(first: 1) { url } }
query Named($id: ID!) { order(id: $id) { id fulfillments(first: 5) { ...Shipment } } }
"""


def test_named_fragments_count_as_the_fields_they_hold() -> None:
    assert estimated_cost(NAMED) == estimated_cost(INLINE) > 1 + 5


def test_a_query_never_seen_starts_from_the_estimate_then_follows_real_costs() -> None:
    sizer = PageSizer(FakeQueryCostMemory())
    first = sizer.first("OrdersUpdated", ORDERS_UPDATED, {"query": ""})
    per_node_estimate = estimated_cost(ORDERS_UPDATED, {"first": 1}) - estimated_cost(
        ORDERS_UPDATED, {"first": 0}
    )
    assert first == (900 - 3) // per_node_estimate
    sizer.learn("OrdersUpdated", first, requested_cost=first * 3)  # Shopify charged 3 a node
    assert sizer.first("OrdersUpdated", ORDERS_UPDATED, {"query": ""}) == 250
    sizer.learn("OrdersUpdated", 250, requested_cost=250 * 6)  # then 6 a node
    assert sizer.first("OrdersUpdated", ORDERS_UPDATED, {"query": ""}) == 900 // 6
    assert sizer.expected_cost("OrdersUpdated", 150) == 900


def test_max_cost_exceeded_resizes_from_the_reported_cost_not_by_halving() -> None:
    sizer = PageSizer()
    assert sizer.refused("OrdersUpdated", 200, reported_cost=4000) == 45  # 20 a node: 900 / 20
    assert sizer.refused("Unknown", 200, reported_cost=0) == 100  # no figure: halve


def test_a_low_bucket_asks_for_what_it_can_pay_but_not_tiny_pages() -> None:
    sizer = PageSizer()
    sizer.learn("OrdersUpdated", 100, requested_cost=200)  # 2 a node
    bucket = CostBucket()
    bucket.observe({"maximumAvailable": 2000, "currentlyAvailable": 400, "restoreRate": 100}, 0.0)
    assert sizer.first("OrdersUpdated", ORDERS_UPDATED, {}, bucket, 0.0) == 200  # 400 / 2
    bucket.observe({"maximumAvailable": 2000, "currentlyAvailable": 10, "restoreRate": 100}, 0.0)
    assert sizer.first("OrdersUpdated", ORDERS_UPDATED, {}, bucket, 0.0) == 112  # 225 / 2
    assert sizer.first("OrdersUpdated", ORDERS_UPDATED, {}, bucket, 30.0) == 250  # refilled


@pytest.mark.parametrize(("change", "writes"), [(1.05, 1), (1.5, 2)])
def test_the_store_is_written_only_when_the_learned_cost_moves(change: float, writes: int) -> None:
    memory = FakeQueryCostMemory()
    sizer = PageSizer(memory)
    sizer.learn("CustomersUpdated", 100, requested_cost=300)
    sizer.learn("CustomersUpdated", 100, requested_cost=300 * change)
    assert memory.writes == writes


def test_the_next_run_starts_from_what_the_store_remembers() -> None:
    sizer = PageSizer(FakeQueryCostMemory({"OrdersUpdated": 4.5}))
    assert sizer.first("OrdersUpdated", ORDERS_UPDATED, {"query": ""}) == 200  # 900 / 4.5
