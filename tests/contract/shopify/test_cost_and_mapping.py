"""Pure pieces: the cost estimate and page size, the bucket arithmetic, Shopify's scalars."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.shopify.cost import (
    SAFETY_SECONDS,
    CostBucket,
    estimated_cost,
    page_size,
    throttled_wait,
)
from connectors.shopify.mapping import gid_number, money, timestamp, unsigned
from connectors.shopify.queries import CUSTOMERS_UPDATED, ORDERS_UPDATED, tag_mutations


@pytest.mark.parametrize(
    ("document", "first", "expected"),
    [
        # connection 2 + first x (customer 1 + email 1 + amountSpent 1 + address 1)
        (CUSTOMERS_UPDATED, 10, 2 + 10 * 4),
        # order 1 + price 2 + customer 1 + 5 fulfilments with 1 tracking info each + 1 refund
        # (returnStatus is free)
        (ORDERS_UPDATED, 10, 2 + 10 * 15),
        (ORDERS_UPDATED, 0, 2),
    ],
)
def test_requested_cost_follows_shopifys_published_rules(
    document: str, first: int, expected: int
) -> None:
    assert estimated_cost(document, {"first": first}) == expected


def test_each_mutation_field_costs_ten_points() -> None:
    assert estimated_cost(tag_mutations(("tagsRemove", "tagsAdd", "tagsAdd"))) == 30


@pytest.mark.parametrize("document", [ORDERS_UPDATED, CUSTOMERS_UPDATED])
def test_a_page_is_as_large_as_fits_under_1000_points(document: str) -> None:
    size = page_size(document, {})
    assert 1 <= size <= 250
    assert estimated_cost(document, {"first": size}) <= 1000
    assert size == 250 or estimated_cost(document, {"first": size + 1}) > 1000


@given(st.integers(min_value=20, max_value=5000))
def test_page_size_never_exceeds_the_budget(budget: int) -> None:
    size = page_size(ORDERS_UPDATED, {}, budget=budget)
    assert size == 1 or estimated_cost(ORDERS_UPDATED, {"first": size}) <= budget


@pytest.mark.parametrize(
    ("available", "elapsed", "cost", "wait"),
    [
        (1990, 0.0, 100, 0.0),
        (100, 0.0, 900, 8.0 + SAFETY_SECONDS),
        (100, 3.0, 900, 5.0 + SAFETY_SECONDS),
        (0, 30.0, 2500, 0.0),  # a cost above the bucket waits for a full bucket only
    ],
)
def test_the_bucket_says_how_long_to_wait_before_a_query(
    available: float, elapsed: float, cost: int, wait: float
) -> None:
    bucket = CostBucket()
    status = {"maximumAvailable": 2000, "currentlyAvailable": available, "restoreRate": 100}
    bucket.observe(status, now=50.0)
    assert bucket.wait_before(cost, now=50.0 + elapsed) == pytest.approx(wait)


def test_an_unknown_bucket_never_waits() -> None:
    assert CostBucket().wait_before(999, now=0.0) == 0.0


def test_throttled_wait_reads_floats_and_ints_alike() -> None:
    status = {"maximumAvailable": 1000.0, "currentlyAvailable": 666, "restoreRate": 50.0}
    assert throttled_wait({"requestedQueryCost": 752, "throttleStatus": status}) == 1.72


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("gid://shopify/Customer/9522206933298", 9522206933298),
        ("gid://shopify/Order/8837991727410?from=bulk", 8837991727410),
        (191167, 191167),
    ],
)
def test_gids_become_numbers(raw: str | int, number: int) -> None:
    assert gid_number(raw) == number


def test_a_malformed_gid_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="gid://shopify/Customer/abc"):
        gid_number("gid://shopify/Customer/abc")


def test_scalars_are_parsed_as_shopify_sends_them() -> None:
    assert timestamp("2026-04-25T22:28:39Z") == datetime(2026, 4, 25, 22, 28, 39, tzinfo=UTC)
    assert timestamp("2021-01-25T16:32:23-05:00") == datetime(2021, 1, 25, 21, 32, 23, tzinfo=UTC)
    assert timestamp(None) is None
    assert money("11884.9") == Decimal("11884.9")
    assert unsigned("13") == 13
