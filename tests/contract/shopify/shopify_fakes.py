"""Shared pieces of the Shopify contract tests, imported by each test module: a fake clock, a
client wired to ``responses``, reply bodies in the shape of the recorded samples, and the real
Admin schema to validate every document we send (skipped when ../shared is absent)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from graphql import GraphQLSchema, parse, validate
from reference_data import shopify_admin_schema
from responses.registries import OrderedRegistry

from connectors.shopify.client import ShopifyClient
from sandbox.clock import ManualClock

ENDPOINT = "https://my-shop.myshopify.com/admin/api/2026-01/graphql.json"
TOKEN = "shpat_test_token"


def cost(
    requested: int = 10,
    actual: int | None = 10,
    available: float = 1990,
    maximum: float = 2000,
    rate: float = 100,
) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": maximum,
                "currentlyAvailable": available,
                "restoreRate": rate,
            },
        }
    }


def ok(data: Mapping[str, Any], **cost_args: Any) -> dict[str, Any]:
    return {"data": dict(data), "extensions": cost(**cost_args)}


def throttled(requested: int = 752, available: float = 666, rate: float = 50.0) -> dict[str, Any]:
    """The THROTTLED body exactly as Shopify sends it (HTTP 200, no data)."""
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": cost(requested, None, available, 1000.0, rate),
    }


@pytest.fixture(scope="session")
def admin_schema() -> GraphQLSchema:
    return shopify_admin_schema()


@pytest.fixture
def clock() -> ManualClock:
    """Time that only moves when the code under test sleeps."""
    return ManualClock(datetime(2026, 1, 15, tzinfo=UTC))


@pytest.fixture
def client(clock: ManualClock) -> ShopifyClient:
    return ShopifyClient("my-shop", TOKEN, clock=clock.monotonic, sleep=clock.sleep)


@pytest.fixture
def shopify_api(admin_schema: GraphQLSchema) -> Iterator[ShopifyApi]:
    with responses.RequestsMock(registry=OrderedRegistry) as mock:
        yield ShopifyApi(mock, admin_schema)


class ShopifyApi:
    """Scripted replies, in order; every request is checked for endpoint and headers, and its
    document validated against the real schema, before its reply is given."""

    def __init__(self, mock: responses.RequestsMock, schema: GraphQLSchema) -> None:
        self.mock = mock
        self.schema = schema
        self.sent: list[dict[str, Any]] = []

    def reply(
        self,
        body: Mapping[str, Any] | str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        expect: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        def callback(request: Any) -> tuple[int, dict[str, str], str]:
            assert request.headers["X-Shopify-Access-Token"] == TOKEN
            assert request.headers["Content-Type"] == "application/json"
            assert request.headers["User-Agent"].startswith("nps-loop/")
            payload = json.loads(request.body)
            assert set(payload) == {"query", "variables", "operationName"}
            errors = validate(self.schema, parse(payload["query"]))
            assert not errors, [e.message for e in errors]
            self.sent.append(payload)
            if expect is not None:
                expect(payload)
            text = body if isinstance(body, str) else json.dumps(body)
            kind = "text/html" if isinstance(body, str) else "application/json"
            return status, {"Content-Type": kind, **(headers or {})}, text

        self.mock.add_callback(responses.POST, ENDPOINT, callback=callback)
