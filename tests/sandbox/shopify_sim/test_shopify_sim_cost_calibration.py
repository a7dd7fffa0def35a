"""The simulator charges what Shopify really charged for the recorded queries (within 25%), so
the sandbox rewards a client that learns real costs, not one that trusts the published formula."""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphql import (
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
)
from graphql.execution.values import get_variable_values
from reference_data import reference_file, shopify_admin_schema

from sandbox.shopify.cost import CostWalker

TOLERANCE = 0.25


def real_schema() -> GraphQLSchema:
    return shopify_admin_schema()


def recorded(name: str, case: str | None) -> tuple[dict[str, Any], int]:
    document = json.loads(reference_file(f"shopify/samples/{name}").read_text(encoding="utf-8"))
    exchange = document[case] if case else document
    response = exchange["response"].get("payload", exchange["response"])
    return exchange["request"], int(response["extensions"]["cost"]["requestedQueryCost"])


@pytest.mark.parametrize(
    ("sample", "case"),
    [
        ("customers_page.json", None),  # real 8, the published formula 17
        ("order_returns_lifecycle.json", "readAfterFirstRequest"),  # real 157, formula 933
        ("order_fulfillments_events_detail.json", None),  # real 39, named fragments
    ],
)
def test_the_simulator_charges_what_shopify_charged(sample: str, case: str | None) -> None:
    request, real = recorded(sample, case)
    schema = real_schema()
    document = parse(request["query"])
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    variables = get_variable_values(
        schema, operation.variable_definitions or (), request.get("variables") or {}
    )
    assert not isinstance(variables, list)
    ours = CostWalker(schema, fragments, variables).requested(operation)
    assert abs(ours - real) <= TOLERANCE * real, f"simulator {ours}, Shopify {real}"
