"""Calculated query cost and the leaky bucket, offline with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse
from graphql.execution.values import get_variable_values

from sandbox.clock import ManualClock
from sandbox.shopify.cost import CostWalker, InputTooLarge, LeakyBucket, PageTooLarge
from sandbox.shopify.schema import build


def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 15, tzinfo=UTC), monotonic_start=100.0)


def walker_for(
    query: str, variables: dict[str, object] | None = None
) -> tuple[CostWalker, OperationDefinitionNode]:
    document = parse(query)
    definitions = document.definitions
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operation = next(d for d in definitions if isinstance(d, OperationDefinitionNode))
    coerced = get_variable_values(build(), operation.variable_definitions or (), variables or {})
    assert not isinstance(coerced, list)
    return CostWalker(build(), fragments, coerced), operation


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        # A connection of one object with scalars only is 2 + 1.
        ("{ orders(first: 1) { edges { node { name } } } }", 3),
        ("{ shop { name } }", 1),
        # 10 nodes count as ceil(log2(11)) = 4.
        ("{ orders(first: 10) { nodes { id customer { id } } } }", 2 + 4 * 2),
        # pageInfo 1; a list field costs one element whatever its first.
        (
            "{ orders(first: 5) { pageInfo { hasNextPage } "
            "nodes { fulfillments(first: 3) { id } } } }",
            2 + 1 + 3 * (1 + 1),
        ),
        (
            "{ customers(first: 2) { nodes { orders(first: 4) { nodes { id } } } } }",
            2 + 2 * (1 + (2 + 3 * 1)),
        ),
        # Values without an id inside a resource cost nothing (money, an email address).
        (
            "{ orders(first: 1) { nodes { totalPriceSet { shopMoney { amount } } "
            "customer { defaultEmailAddress { emailAddress } } } } }",
            2 + 1 * (1 + 0 + 1 + 0),
        ),
        (
            # Fragments on an interface: only the dearest possible type counts.
            '{ node(id: "gid://shopify/Order/1") { id ... on Order { customer { id } } '
            "... on Customer { lastOrder { customer { id } } } } }",
            1 + 2,
        ),
        ('{ nodes(ids: ["a", "b", "c"]) { id } }', 3),
        (
            'mutation { a: tagsAdd(id: "x", tags: ["t"]) { node { id } } '
            'b: tagsRemove(id: "x", tags: ["t"]) { node { id } } }',
            20,
        ),
    ],
)
def test_requested_cost_follows_the_calibrated_rules(query: str, cost: int) -> None:
    walker, operation = walker_for(query)
    assert walker.requested(operation) == cost


def test_variables_set_the_page_size() -> None:
    walker, operation = walker_for(
        "query($n: Int) { orders(first: $n) { nodes { id } } }", {"n": 50}
    )
    assert walker.requested(operation) == 2 + 6  # 50 nodes count as ceil(log2(51)) = 6


def test_actual_cost_counts_what_came_back() -> None:
    walker, operation = walker_for("{ orders(first: 50) { nodes { id customer { id } } } }")
    data = {
        "orders": {"nodes": [{"id": "1", "customer": None}, {"id": "2", "customer": {"id": "c"}}]}
    }
    assert walker.actual(operation, data) == 2 + 1 + 2


def test_a_page_above_250_is_refused_before_running() -> None:
    walker, operation = walker_for("{ customers(first: 251) { nodes { id } } }")
    with pytest.raises(PageTooLarge, match="251"):
        walker.requested(operation)


def test_an_input_array_above_250_is_refused() -> None:
    walker, operation = walker_for(
        'mutation($t: [String!]!) { tagsAdd(id: "x", tags: $t) { node { id } } }',
        {"t": [f"t{i}" for i in range(251)]},
    )
    with pytest.raises(InputTooLarge, match="input array size of 251"):
        walker.requested(operation)


def test_bucket_starts_full_and_spends() -> None:
    bucket = LeakyBucket(2000, 100, clock=clock().monotonic)
    assert bucket.try_spend(1500)
    assert bucket.throttle_status() == {
        "maximumAvailable": 2000,
        "currentlyAvailable": 500,
        "restoreRate": 100,
    }


def test_bucket_refuses_more_than_it_holds_and_takes_nothing() -> None:
    bucket = LeakyBucket(1000, 50, clock=clock().monotonic)
    assert bucket.try_spend(900)
    assert not bucket.try_spend(101)
    assert bucket.available() == 100


def test_bucket_restores_at_the_restore_rate_up_to_its_maximum() -> None:
    time = clock()
    bucket = LeakyBucket(2000, 100, clock=time.monotonic)
    bucket.try_spend(2000)
    time.advance(2.5)
    assert bucket.available() == 250
    time.advance(60)
    assert bucket.available() == 2000


def test_refund_returns_unused_points_without_overflowing() -> None:
    time = clock()
    bucket = LeakyBucket(2000, 100, clock=time.monotonic)
    bucket.try_spend(502)
    bucket.refund(400)
    assert bucket.available() == 1898
    bucket.refund(5000)
    assert bucket.available() == 2000


def test_float_configuration_is_echoed_like_the_docs_sample() -> None:
    bucket = LeakyBucket(1000.0, 50.0, clock=clock().monotonic)
    bucket.try_spend(3)
    assert bucket.throttle_status() == {
        "maximumAvailable": 1000.0,
        "currentlyAvailable": 997,
        "restoreRate": 50.0,
    }


def test_bucket_rejects_nonsense_configuration() -> None:
    with pytest.raises(ValueError, match="positive"):
        LeakyBucket(0, 100)
