"""The clients consult the rate budget the bootstrap hands them (a shared one in distributed
mode): Shopify pays each query's cost into it and reports every ``throttleStatus``; Zendesk takes
one request from it before each call and reports each answer's rate-limit headers."""

from __future__ import annotations

import responses
from fakes import FakeRequestBudget, FakeShopifyCostBudget

from connectors.shopify.client import ShopifyClient
from connectors.zendesk import ZendeskClient

SHOPIFY = "https://my-shop.myshopify.com/admin/api/2026-01/graphql.json"
STATUS = {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}


@responses.activate
def test_the_shopify_client_pays_into_the_injected_bucket_and_reports_the_answer() -> None:
    responses.post(SHOPIFY, json={
        "data": {"shop": {"name": "My shop"}},
        "extensions": {"cost": {"requestedQueryCost": 1, "actualQueryCost": 1,
                                "throttleStatus": STATUS}},
    })  # fmt: skip
    bucket = FakeShopifyCostBudget()
    client = ShopifyClient("my-shop", "shpat_token", bucket=bucket)
    result = client.execute("query { shop { name } }")
    assert result.data == {"shop": {"name": "My shop"}}
    assert bucket.asked == [1]
    assert bucket.observed == [STATUS]
    assert bucket.known


@responses.activate
def test_the_zendesk_client_takes_each_request_from_the_injected_budget() -> None:
    headers = {"ratelimit-limit": "400", "ratelimit-remaining": "399", "ratelimit-reset": "42"}
    responses.get("https://acme.zendesk.com/api/v2/tickets.json", json={"tickets": []},
                  headers=headers)  # fmt: skip
    budget = FakeRequestBudget()
    client = ZendeskClient(subdomain="acme", email="agent@example.com", api_token="t",
                           budget=budget)  # fmt: skip
    client.call("list tickets", lambda _z: client.send("GET", "tickets.json"))
    client.call("list tickets", lambda _z: client.send("GET", "tickets.json"))
    assert budget.acquired == 2
    assert [status for status, _ in budget.observed] == [200, 200]
    assert budget.observed[0][1]["ratelimit-remaining"] == "399"
