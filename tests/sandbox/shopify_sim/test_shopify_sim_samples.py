"""The simulator answers the recorded real queries with the shape of the recorded real answers."""

from __future__ import annotations

from typing import Any

from shopify_support import GraphQLCaller, assert_same_shape, sample

from sandbox.shopify import ShopifySimulator
from sandbox.shopify.cost import LeakyBucket
from sandbox.shopify.errors import max_cost_exceeded
from sandbox.traffic import Fault
from sandbox.world import World

ORDERS_PAGE = """
query Page($first: Int!, $query: String) {
  recent: orders(first: $first, query: $query, sortKey: CREATED_AT, reverse: true) {
    nodes {
      id name createdAt updatedAt displayFinancialStatus displayFulfillmentStatus tags email
      currentTotalPriceSet { shopMoney { amount currencyCode } }
    }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def _cost_shape(body: dict[str, Any]) -> None:
    real = sample("docs_success_with_cost.json")["extensions"]
    assert_same_shape(body["extensions"], real)


def test_customers_page_has_the_recorded_shape(graphql: GraphQLCaller) -> None:
    recorded = sample("customers_page.json")
    body = graphql(recorded["request"]["query"], recorded["request"]["variables"])
    assert_same_shape(body, recorded["response"])
    customers = body["data"]["customers"]["edges"]
    assert customers[0]["node"]["numberOfOrders"].isdigit()  # UnsignedInt64 is a JSON string
    assert customers[0]["node"]["legacyResourceId"].isdigit()


def test_orders_page_has_the_recorded_shape_and_money_as_strings(graphql: GraphQLCaller) -> None:
    recorded = sample("orders_connection_pages.json")["response"]["data"]
    body = graphql(ORDERS_PAGE, {"first": 2})
    real = {
        "nodes": recorded["seedCatalog"]["nodes"],
        "pageInfo": recorded["recent"]["pageInfo"],
    }
    assert_same_shape(body["data"]["recent"], real)
    amount = body["data"]["recent"]["nodes"][0]["currentTotalPriceSet"]["shopMoney"]["amount"]
    assert isinstance(amount, str)
    assert "." in amount
    _cost_shape(body)


def test_an_empty_page_has_null_cursors_exactly_like_shopify(graphql: GraphQLCaller) -> None:
    recorded = sample("orders_connection_pages.json")["response"]["data"]["byIdMiss"]
    body = graphql(ORDERS_PAGE, {"first": 1, "query": "id:999999999999999999"})
    assert body["data"]["recent"] == recorded


def test_dates_are_iso_utc_with_z(graphql: GraphQLCaller) -> None:
    body = graphql(ORDERS_PAGE, {"first": 1})
    created = body["data"]["recent"]["nodes"][0]["createdAt"]
    assert created.endswith("Z")
    assert len(created) == len("2026-06-22T22:34:00Z")


def test_unknown_customer_tags_answer_exactly_like_the_recording(graphql: GraphQLCaller) -> None:
    for case, root in (("customerAdd", "tagsAdd"), ("customerRemove", "tagsRemove")):
        recorded = sample("tagsAdd_tagsRemove_customer_not_found.json")[case]
        body = graphql(recorded["request"]["query"], recorded["request"]["variables"])
        real = recorded["response"]["payload"]
        assert body["data"] == real["data"], root
        assert_same_shape(body["extensions"], real["extensions"])
        assert body["extensions"]["cost"]["requestedQueryCost"] == 10


def test_tags_add_success_has_the_recorded_shape(graphql: GraphQLCaller, shop_world: World) -> None:
    recorded = sample("tagsAdd_customer_success.json")
    customer = next(iter(shop_world.customers.values()))
    query = """mutation TagsAdd($id: ID!, $tags: [String!]!) {
      tagsAdd(id: $id, tags: $tags) {
        node { __typename ... on Customer { id email displayName tags } }
        userErrors { field message }
      }
    }"""
    body = graphql(query, {"id": f"gid://shopify/Customer/{customer.id}", "tags": ["nps:9"]})
    assert_same_shape(body, recorded["response"])
    assert body["extensions"]["cost"]["actualQueryCost"] == 10


def test_tag_normalisation_follows_the_recorded_cases(
    graphql: GraphQLCaller, shop_world: World
) -> None:
    cases = sample("tagsAdd_customer_normalization_cases.json")
    customer = next(c for c in shop_world.customers.values() if not c.tags)
    customer.tags.append("Red")
    gid = f"gid://shopify/Customer/{customer.id}"
    mutation = """mutation($id: ID!, $tags: [String!]!) {
      %s(id: $id, tags: $tags) { node { ... on Customer { tags } } userErrors { field message } }
    }"""
    steps = [
        ("commaStringAdd", "tagsAdd", None),
        (
            "caseVariantRemove",
            "tagsRemove",
            ["blue-customer-1781386735737", "green-customer-1781386735737"],
        ),
        ("commaListElementAdd", "tagsAdd", None),
        (
            "caseVariantRemove",
            "tagsRemove",
            ["blue-customer-1781386735737", "green-customer-1781386735737"],
        ),
        ("caseVariantAdd", "tagsAdd", None),
        ("caseVariantRemove", "tagsRemove", None),
    ]
    for name, root, override in steps:
        variables = {"id": gid, "tags": override or cases[name]["variables"]["tags"]}
        body = graphql(mutation % root, variables)
        if override is None:
            expected = cases[name]["response"]["data"][root]["node"]["tags"]
            assert body["data"][root]["node"]["tags"] == expected, name


def test_undefined_field_gets_shopifys_validation_error(graphql: GraphQLCaller) -> None:
    recorded = sample("graphql_validation_error_undefinedField.json")["response"]
    query = """#graphql
  mutation TagsAddCodeSelection($id: ID!, $tags: [String!]!) {
    tagsAdd(id: $id, tags: $tags) {
      node {
        id
      }
      userErrors {
        field
        message
        code
      }
    }
  }
"""
    body = graphql(query, {"id": "gid://shopify/Customer/1", "tags": ["a"]})
    assert_same_shape(body, recorded)
    error, real = body["errors"][0], recorded["errors"][0]
    assert error["message"] == real["message"]
    assert error["extensions"] == real["extensions"]
    assert error["path"] == ["mutation TagsAddCodeSelection", "tagsAdd", "userErrors", "code"]
    assert error["locations"] == [{"line": 10, "column": 9}]
    assert "extensions" not in body or "cost" not in body.get("extensions", {})


def test_throttled_answer_is_http_200_exactly_as_shopify_sends_it(shop_world: World) -> None:
    recorded = sample("throttled_response.json")
    bucket = LeakyBucket(1000.0, 50.0, clock=lambda: 0.0)
    assert bucket.try_spend(334)  # 666 left, as in the recording
    with ShopifySimulator(shop_world, bucket=bucket) as simulator:
        caller = GraphQLCaller(simulator)
        # Any query charged 752, as the recorded one was: 752 objects by id.
        ids = [f"gid://shopify/Order/{n}" for n in range(752)]
        body = caller("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    assert body["errors"] == recorded["errors"]
    assert "data" not in body
    assert body["extensions"]["cost"]["requestedQueryCost"] == 752
    assert body["extensions"]["cost"] == recorded["extensions"]["cost"]


def test_max_cost_exceeded_matches_the_documented_body() -> None:
    assert max_cost_exceeded(2003, 1000) == sample("max_cost_exceeded_http200.json")


def test_a_query_above_1000_points_is_refused_without_spending(
    graphql: GraphQLCaller, shopify: ShopifySimulator
) -> None:
    ids = [f"gid://shopify/Customer/{n}" for n in range(1100)]
    body = graphql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"] == 1100
    assert set(body) == {"errors"}
    assert shopify.bucket.available() == 2000


def test_input_arrays_above_250_get_max_input_size_exceeded(graphql: GraphQLCaller) -> None:
    recorded = sample("max_input_size_exceeded_http200.json")
    query = (
        "mutation($id: ID!, $tags: [String!]!) "
        "{ tagsAdd(id: $id, tags: $tags) { userErrors { message } } }"
    )
    body = graphql(query, {"id": "gid://shopify/Customer/1", "tags": [f"t{i}" for i in range(251)]})
    assert_same_shape(body, recorded)
    assert body["errors"][0]["message"] == recorded["errors"][0]["message"]
    assert body["errors"][0]["path"] == ["tagsAdd", "tags"]


def test_scripted_third_call_is_throttled(
    shopify: ShopifySimulator, graphql: GraphQLCaller
) -> None:
    from sandbox.shopify.simulator import GRAPHQL_ROUTE

    shopify.traffic.script(GRAPHQL_ROUTE, 3, Fault.signal("throttled"))
    answers = [graphql("{ shop { name } }") for _ in range(4)]
    assert [("errors" in a) for a in answers] == [False, False, True, False]
    assert answers[2]["errors"][0]["extensions"]["code"] == "THROTTLED"
    snapshot = shopify.traffic.snapshot()
    assert snapshot.calls == 4
    assert snapshot.throttled == 1
    assert snapshot.cost == 3
