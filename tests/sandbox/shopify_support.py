"""Fixtures and helpers for the Shopify simulator tests (imported by the test_shopify_* modules).

``shopify`` starts a fresh simulator (own world, bucket and traffic log) on a free 127.0.0.1 port
for each test, so tag writes and bucket spending never leak between tests.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.generator import generate
from sandbox.shopify import DEFAULT_ACCESS_TOKEN, ShopifySimulator
from sandbox.world import World

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _root_conftest_reference_file() -> Callable[[str], Path]:
    """tests/conftest.py's ``reference_file`` (this folder's own conftest shadows the name)."""
    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("nps_tests_root_conftest", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: Callable[[str], Path] = module.reference_file
    return found


reference_file = _root_conftest_reference_file()


def sample(name: str) -> Any:
    """A recorded real Shopify answer from ../shared/reference/shopify/samples (or skip)."""
    return json.loads(reference_file(f"shopify/samples/{name}").read_text(encoding="utf-8"))


@pytest.fixture
def shop_world() -> World:
    return generate(400, seed=11, now=NOW)


@pytest.fixture
def shopify(shop_world: World) -> Iterator[ShopifySimulator]:
    with ShopifySimulator(shop_world) as simulator:
        yield simulator


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


@pytest.fixture
def graphql(shopify: ShopifySimulator) -> Iterator[GraphQLCaller]:
    caller = GraphQLCaller(shopify)
    yield caller
    caller.session.close()


def assert_same_shape(ours: Any, real: Any, path: str = "$") -> None:
    """Same keys everywhere and same leaf types where both sides are non-null."""
    if isinstance(real, dict):
        assert isinstance(ours, dict), f"{path}: expected an object, got {ours!r}"
        assert set(ours) == set(real), f"{path}: keys {sorted(ours)} != real {sorted(real)}"
        for key in real:
            assert_same_shape(ours[key], real[key], f"{path}.{key}")
    elif isinstance(real, list):
        assert isinstance(ours, list), f"{path}: expected a list, got {ours!r}"
        if ours and real:
            assert_same_shape(ours[0], real[0], f"{path}[0]")
    elif real is not None and ours is not None:
        assert type(ours) is type(real), f"{path}: {ours!r} is not a {type(real).__name__}"
