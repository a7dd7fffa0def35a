"""The GraphQL client against Shopify's real answers: cost bucket, throttling, faults, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from reference_data import reference_file
from shopify_fakes import (
    ENDPOINT,
    ShopifyApi,
    admin_schema,
    client,
    clock,
    ok,
    shopify_api,
    throttled,
)

from connectors.shopify.client import ShopifyClient, graphql_endpoint
from connectors.shopify.cost import SAFETY_SECONDS
from connectors.shopify.errors import (
    QueryTooCostly,
    ShopifyAuthError,
    ShopifyRateLimited,
    ShopifyRequestRejected,
    ShopifyTransientError,
)
from connectors.shopify.queries import CUSTOMERS_UPDATED
from sandbox.clock import ManualClock

__all__ = ["admin_schema", "client", "clock", "shopify_api"]

PAGE = {"customers": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}}
VARIABLES = {"first": 10, "after": None, "query": "updated_at:<='2026-11-01T00:00:00Z'"}
GATEWAY_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body></body>\r\n</html>\r\n"
)


def sample(name: str) -> Any:
    return json.loads(reference_file(f"shopify/samples/{name}").read_text(encoding="utf-8"))


def test_a_query_is_posted_with_the_token_and_its_variables(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    def expect(payload: dict[str, Any]) -> None:
        assert payload["query"] == CUSTOMERS_UPDATED
        assert payload["variables"] == VARIABLES

    shopify_api.reply(ok(PAGE), expect=expect)
    result = client.execute(CUSTOMERS_UPDATED, VARIABLES)
    assert result.data == PAGE
    assert client.stats.calls == 1
    assert client.stats.actual_cost == 10


def test_the_endpoint_honours_the_api_base_url_and_rejects_bad_versions() -> None:
    assert graphql_endpoint("my-shop", "2026-01") == ENDPOINT
    assert (
        graphql_endpoint("my-shop.myshopify.com", "2025-10", "http://127.0.0.1:8701/")
        == "http://127.0.0.1:8701/admin/api/2025-10/graphql.json"
    )
    with pytest.raises(ValueError, match="api_version"):
        graphql_endpoint("my-shop", "2026-1")


def test_throttled_waits_what_the_bucket_needs_then_succeeds(
    client: ShopifyClient, clock: ManualClock, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(throttled(requested=752, available=666, rate=50.0))
    shopify_api.reply(ok(PAGE))
    assert client.execute(CUSTOMERS_UPDATED, VARIABLES).data == PAGE
    # (752 - 666) / 50 = 1.72 s, and no more: the bucket then pays for the retry.
    assert clock.sleeps == [1.72]
    assert client.stats.throttled == 1
    assert client.stats.calls == 2


def test_the_client_waits_before_sending_a_query_the_bucket_cannot_pay(
    client: ShopifyClient, clock: ManualClock, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(ok(PAGE, requested=900, actual=900, available=100))
    shopify_api.reply(ok(PAGE, requested=900, actual=900, available=100))
    client.execute(CUSTOMERS_UPDATED, {**VARIABLES, "first": 200})
    client.execute(CUSTOMERS_UPDATED, {**VARIABLES, "first": 200})
    # 100 points left, 900 needed at 100/s: 8 s (and a safety margin) before the second request,
    # none before the first.
    assert clock.sleeps == [8.0 + SAFETY_SECONDS]
    assert client.stats.throttled == 0


def test_503_twice_then_200_is_retried_by_the_one_policy(
    client: ShopifyClient, clock: ManualClock, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply({"errors": "unavailable"}, status=503)
    shopify_api.reply({"errors": "unavailable"}, status=503)
    shopify_api.reply(ok(PAGE))
    assert client.execute(CUSTOMERS_UPDATED, VARIABLES).data == PAGE
    assert len(clock.sleeps) == 2
    assert clock.sleeps[0] < clock.sleeps[1]  # exponential backoff


def test_429_with_retry_after_waits_exactly_that_long(
    client: ShopifyClient, clock: ManualClock, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply({"errors": "Too many requests"}, status=429, headers={"Retry-After": "2.0"})
    shopify_api.reply(ok(PAGE))
    client.execute(CUSTOMERS_UPDATED, VARIABLES)
    assert clock.sleeps == [2.0]


def test_an_html_502_page_is_transient_and_retried(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(GATEWAY_502, status=502)
    shopify_api.reply(ok(PAGE))
    assert client.execute(CUSTOMERS_UPDATED, VARIABLES).data == PAGE


def test_a_dead_shop_ends_in_a_transient_error_after_bounded_attempts(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    for _ in range(5):
        shopify_api.reply(GATEWAY_502, status=502)
    with pytest.raises(ShopifyTransientError, match="HTTP 502"):
        client.execute(CUSTOMERS_UPDATED, VARIABLES)
    assert client.stats.calls == 5


def test_internal_server_error_in_a_200_is_retried(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(sample("internal_server_error_http200.json"))
    shopify_api.reply(ok(PAGE))
    assert client.execute(CUSTOMERS_UPDATED, VARIABLES).data == PAGE
    assert client.stats.calls == 2


def test_access_denied_fails_fast_naming_the_scope(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    denied = sample("access_denied_http200.json")["payload"]
    denied["errors"][0]["path"] = ["customers"]
    denied["errors"][0]["message"] = "Access denied for customers field."
    shopify_api.reply(denied)
    with pytest.raises(ShopifyAuthError, match="read_customers"):
        client.execute(CUSTOMERS_UPDATED, VARIABLES)
    assert client.stats.calls == 1


def test_a_refused_token_fails_fast_without_retrying(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(
        {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
        status=401,
    )
    with pytest.raises(ShopifyAuthError, match="access token") as raised:
        client.execute(CUSTOMERS_UPDATED, VARIABLES)
    assert "shpat_test_token" not in str(raised.value)
    assert client.stats.calls == 1


def test_max_cost_exceeded_is_a_refused_request_with_the_cost(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(sample("max_cost_exceeded_http200.json"))
    with pytest.raises(QueryTooCostly) as raised:
        client.execute(CUSTOMERS_UPDATED, VARIABLES)
    assert (raised.value.cost, raised.value.max_cost) == (2003, 1000)


def test_a_validation_error_is_refused_with_shopifys_message(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(sample("graphql_validation_error_undefinedField.json")["response"])
    with pytest.raises(ShopifyRequestRejected, match="Field 'code' doesn't exist"):
        client.execute(CUSTOMERS_UPDATED, VARIABLES)
    assert client.stats.calls == 1


def test_throttling_that_never_ends_gives_up_with_a_rate_limit_error(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    for _ in range(5):
        shopify_api.reply(throttled(requested=100, available=0, rate=50.0))
    with pytest.raises(ShopifyRateLimited):
        client.execute(CUSTOMERS_UPDATED, VARIABLES)
    assert client.stats.throttled == 5
