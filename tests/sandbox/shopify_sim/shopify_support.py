"""Helpers for the Shopify simulator tests: recorded samples, a plain HTTP caller, shape checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import requests
from reference_data import reference_file

from sandbox.shopify import DEFAULT_ACCESS_TOKEN, ShopifySimulator

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def sample(name: str) -> Any:
    """A recorded real Shopify answer from ../shared/reference/shopify/samples (or skip)."""
    return json.loads(reference_file(f"shopify/samples/{name}").read_text(encoding="utf-8"))


class GraphQLCaller:
    """Posts GraphQL to a simulator as a plain HTTP client would."""

    def __init__(self, simulator: ShopifySimulator) -> None:
        self.simulator = simulator
        self.session = requests.Session()

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        version: str = "2026-01",
        token: str = DEFAULT_ACCESS_TOKEN,
    ) -> requests.Response:
        body = {"query": query, "variables": variables, "operationName": None}
        return self.session.post(
            self.simulator.graphql_url(version),
            data=json.dumps(body),
            headers={"X-Shopify-Access-Token": token, "Content-Type": "application/json"},
            timeout=10,
        )

    def __call__(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        response = self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()


def assert_same_shape(ours: Any, real: Any, path: str = "$") -> None:
    """Same keys everywhere and same leaf types where both sides are non-null (a nullable object
    may be null on one side: a customer without phone has ``defaultPhoneNumber: null``)."""
    if ours is None or real is None:
        return
    if isinstance(real, dict):
        assert isinstance(ours, dict), f"{path}: expected an object, got {ours!r}"
        assert set(ours) == set(real), f"{path}: keys {sorted(ours)} != real {sorted(real)}"
        for key in real:
            assert_same_shape(ours[key], real[key], f"{path}.{key}")
    elif isinstance(real, list):
        assert isinstance(ours, list), f"{path}: expected a list, got {ours!r}"
        if ours and real:
            assert_same_shape(ours[0], real[0], f"{path}[0]")
    else:
        kind = _kind(real)
        assert _kind(ours) == kind, f"{path}: {ours!r} is not a {kind}"


def _kind(value: Any) -> str:
    """JSON's leaf kinds: 2000 and 2000.0 are both numbers (Shopify sends either)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__
