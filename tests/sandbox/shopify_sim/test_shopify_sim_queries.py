"""Reading through the simulator: pagination, filters, sort keys, nested objects, node lookups,
transport errors and faults, and ShopifyAPI's own GraphQL client."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import shopify as shopify_api
from shopify_support import GraphQLCaller

from sandbox.shopify import DEFAULT_ACCESS_TOKEN, ShopifySimulator
from sandbox.shopify.simulator import GRAPHQL_ROUTE
from sandbox.traffic import Fault
from sandbox.world import World

SINCE = datetime(2026, 7, 1, tzinfo=UTC)

ORDERS = """
query Orders(
  $first: Int!, $after: String, $query: String, $sortKey: OrderSortKeys, $reverse: Boolean
) {
  orders(first: $first, after: $after, query: $query, sortKey: $sortKey, reverse: $reverse) {
    pageInfo { hasNextPage hasPreviousPage endCursor }
    nodes { id legacyResourceId updatedAt createdAt }
  }
}
"""


def all_pages(graphql: GraphQLCaller, **variables: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = graphql(ORDERS, {"first": 50, "after": after, **variables})["data"]["orders"]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def test_updated_since_pages_return_exactly_the_matching_orders_once(
    graphql: GraphQLCaller, shop_world: World
) -> None:
    since = SINCE.isoformat().replace("+00:00", "Z")
    nodes = all_pages(graphql, query=f"updated_at:>'{since}'", sortKey="UPDATED_AT")
    expected = sorted(
        (o.updated_at, o.id) for o in shop_world.orders.values() if o.updated_at > SINCE
    )
    assert [int(n["legacyResourceId"]) for n in nodes] == [order_id for _, order_id in expected]
    assert len(nodes) > 50  # several pages were needed


def test_created_at_and_id_filters_combine(graphql: GraphQLCaller, shop_world: World) -> None:
    pivot = sorted(shop_world.orders)[len(shop_world.orders) // 2]
    nodes = all_pages(graphql, query=f"created_at:>='2026-01-01' id:>{pivot}", sortKey="ID")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    expected = [o.id for o in shop_world.orders.values() if o.created_at >= start and o.id > pivot]
    assert [int(n["legacyResourceId"]) for n in nodes] == sorted(expected)


def test_reverse_created_at_order_is_newest_first(graphql: GraphQLCaller) -> None:
    nodes = all_pages(
        graphql, sortKey="CREATED_AT", reverse=True, query="updated_at:<='2025-09-01'"
    )
    created = [n["createdAt"] for n in nodes]
    assert created == sorted(created, reverse=True)
    assert nodes


def test_second_page_reports_a_previous_page(graphql: GraphQLCaller) -> None:
    first = graphql(ORDERS, {"first": 3, "sortKey": "ID"})["data"]["orders"]
    after = first["pageInfo"]["endCursor"]
    second = graphql(ORDERS, {"first": 3, "after": after, "sortKey": "ID"})["data"]["orders"]
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert int(second["nodes"][0]["legacyResourceId"]) > int(first["nodes"][-1]["legacyResourceId"])


def test_a_connection_without_first_or_last_is_a_bad_request(graphql: GraphQLCaller) -> None:
    body = graphql("{ customers { nodes { id } } }")
    assert body["errors"][0]["message"] == "you must provide one of first or last"
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_first_above_250_is_rejected(graphql: GraphQLCaller) -> None:
    body = graphql("{ orders(first: 251) { nodes { id } } }")
    assert "250" in body["errors"][0]["message"]
    assert "data" not in body


def test_unknown_search_fields_come_back_as_warnings(graphql: GraphQLCaller) -> None:
    body = graphql('{ orders(first: 1, query: "colour:blue") { nodes { id } } }')
    warning = body["extensions"]["search"][0]
    assert warning["path"] == ["orders"]
    assert warning["warnings"][0]["field"] == "colour"


def test_nested_customer_fulfilments_refunds_and_returns(
    graphql: GraphQLCaller, shop_world: World
) -> None:
    order = next(o for o in shop_world.orders.values() if o.returns and o.refunds and o.customer_id)
    query = """query($id: ID!) { order(id: $id) {
        name returnStatus displayFinancialStatus
        customer { id numberOfOrders defaultEmailAddress { emailAddress } }
        fulfillments(first: 5) { name displayStatus deliveredAt trackingInfo { number } }
        refunds(first: 5) { totalRefundedSet { shopMoney { amount currencyCode } } }
        returns(first: 5) { nodes { name status order { name } } }
    } }"""
    body = graphql(query, {"id": f"gid://shopify/Order/{order.id}"})["data"]["order"]
    customer = shop_world.customers[order.customer_id or 0]
    assert body["customer"]["id"] == f"gid://shopify/Customer/{customer.id}"
    assert body["customer"]["numberOfOrders"] == str(
        len(shop_world.orders_by_customer[customer.id])
    )
    assert body["fulfillments"][0]["name"] == f"{order.name}-F1"
    assert body["returns"]["nodes"][0]["order"]["name"] == order.name
    assert body["refunds"][0]["totalRefundedSet"]["shopMoney"]["currencyCode"] == "EUR"


def test_guest_orders_have_a_null_customer_and_untracked_ones_no_delivery_date(
    graphql: GraphQLCaller, shop_world: World
) -> None:
    guest = next(o for o in shop_world.orders.values() if o.customer_id is None)
    untracked = next(
        o
        for o in shop_world.orders.values()
        if o.fulfillments and not o.fulfillments[0].tracking_number
    )
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Order {
        customer { id }
        fulfillments(first: 1) { displayStatus deliveredAt trackingInfo { number } }
    } } }"""
    ids = [f"gid://shopify/Order/{guest.id}", f"gid://shopify/Order/{untracked.id}"]
    nodes = graphql(query, {"ids": ids})["data"]["nodes"]
    assert nodes[0]["customer"] is None
    assert nodes[1]["fulfillments"][0] == {
        "displayStatus": "FULFILLED",
        "deliveredAt": None,
        "trackingInfo": [],
    }


def test_node_resolves_every_kind_and_unknown_ids_to_null(
    graphql: GraphQLCaller, shop_world: World
) -> None:
    order = next(o for o in shop_world.orders.values() if o.refunds and o.fulfillments)
    ids = [
        f"gid://shopify/Order/{order.id}",
        f"gid://shopify/Customer/{next(iter(shop_world.customers))}",
        f"gid://shopify/Fulfillment/{order.fulfillments[0].id}",
        f"gid://shopify/Refund/{order.refunds[0].id}",
        "gid://shopify/Order/1",
    ]
    body = graphql("query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }", {"ids": ids})
    kinds = [None if n is None else n["__typename"] for n in body["data"]["nodes"]]
    assert kinds == ["Order", "Customer", "Fulfillment", "Refund", None]


def test_wrong_token_gets_401(graphql: GraphQLCaller) -> None:
    response = graphql.post("{ shop { name } }", token="shpat_wrong")
    assert response.status_code == 401
    assert response.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }


def test_unknown_version_path_is_404_and_missing_query_is_400(shopify: ShopifySimulator) -> None:
    headers = {"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN}
    bad_version = requests.post(
        f"{shopify.base_url}/admin/api/latest/graphql.json",
        json={"query": "{ shop { name } }"},
        headers=headers,
        timeout=5,
    )
    assert bad_version.status_code == 404
    no_query = requests.post(
        shopify.graphql_url(), json={"variables": {}}, headers=headers, timeout=5
    )
    assert no_query.status_code == 400
    assert no_query.json() == {"errors": {"query": "Required parameter missing or invalid"}}


def test_every_answer_names_the_api_version_and_a_request_id(graphql: GraphQLCaller) -> None:
    response = graphql.post("{ shop { name } }", version="2025-10")
    assert response.headers["X-Shopify-API-Version"] == "2025-10"
    assert response.headers["X-Request-Id"]


def test_gateway_502_comes_as_html_and_is_counted(
    shopify: ShopifySimulator, graphql: GraphQLCaller
) -> None:
    shopify.traffic.script(GRAPHQL_ROUTE, 1, Fault.gateway_error(502))
    response = graphql.post("{ shop { name } }")
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"502 Bad Gateway" in response.content
    assert graphql("{ shop { name } }")["data"]["shop"]["name"]
    assert shopify.traffic.snapshot().calls_by_status == {502: 1, 200: 1}


def test_a_reset_connection_raises_on_the_client(
    shopify: ShopifySimulator, graphql: GraphQLCaller
) -> None:
    shopify.traffic.script(GRAPHQL_ROUTE, 1, Fault.reset())
    with pytest.raises(requests.ConnectionError):
        graphql.post("{ shop { name } }")


def test_cost_and_calls_are_counted(shopify: ShopifySimulator, graphql: GraphQLCaller) -> None:
    graphql(ORDERS, {"first": 10})
    graphql("{ shop { name } }")
    snapshot = shopify.traffic.snapshot()
    assert snapshot.calls_to(GRAPHQL_ROUTE) == 2
    # 10 orders with only scalars: 2 + pageInfo 1 + ceil(log2(11)) = 4; the shop 1.
    assert snapshot.cost == (2 + 1 + 4) + 1


def test_shopify_python_api_talks_to_the_simulator(
    shopify: ShopifySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ShopifyAPI 12.7 as shopify-notes.md 1.1 (option A) points it at 127.0.0.1."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    session = shopify_api.Session("nps-sandbox.myshopify.com", "2026-01", DEFAULT_ACCESS_TOKEN)
    session.protocol = "http"
    session.url = shopify.base_url.removeprefix("http://")
    shopify_api.ShopifyResource.activate_session(session)
    try:
        raw = shopify_api.GraphQL().execute(
            "query($n: Int!) { customers(first: $n) { nodes { id numberOfOrders } } }", {"n": 2}
        )
    finally:
        shopify_api.ShopifyResource.clear_session()
    import json

    body = json.loads(raw)
    assert len(body["data"]["customers"]["nodes"]) == 2
    assert body["extensions"]["cost"]["actualQueryCost"] == 2 + 2


def test_emails_come_back_trimmed_but_with_their_capitals(
    graphql: GraphQLCaller, shop_world: World
) -> None:
    typed = [c for c in shop_world.customers.values() if c.email and c.email != c.email.strip()]
    capitals = [c for c in shop_world.customers.values() if c.email and c.email != c.email.lower()]
    query = "query($id: ID!) { customer(id: $id) { email defaultEmailAddress { emailAddress } } }"
    for customer in (typed[0], capitals[0]):
        body = graphql(query, {"id": f"gid://shopify/Customer/{customer.id}"})["data"]["customer"]
        assert customer.email is not None
        assert body["email"] == customer.email.strip()
        assert body["defaultEmailAddress"]["emailAddress"] == customer.email.strip()


def test_signals_answer_429_with_retry_after_and_internal_error_over_200(
    shopify: ShopifySimulator, graphql: GraphQLCaller
) -> None:
    shopify.traffic.script_sequence(
        GRAPHQL_ROUTE, [Fault.signal("rate_limited"), Fault.signal("internal_error")]
    )
    limited = graphql.post("{ shop { name } }")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2.0"
    failed = graphql("{ shop { name } }")
    assert failed["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert failed["errors"][0]["extensions"]["requestId"] in failed["errors"][0]["message"]
    assert shopify.traffic.snapshot().rate_limited == 1
