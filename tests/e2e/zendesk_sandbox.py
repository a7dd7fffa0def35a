"""The Zendesk simulator with a generated world, our client pointed at it, and the store seeded
with the world's Shopify customers (imported by the Zendesk end-to-end tests)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from unittest import mock

import pytest

from connectors.zendesk.client import ZendeskClient
from nps_engine.records import normalise_email
from nps_engine.store import models
from nps_engine.store.database import Database, upsert
from sandbox.generator import generate
from sandbox.traffic import FaultPlan, Traffic
from sandbox.world import World
from sandbox.zendesk.account import ZendeskOptions
from sandbox.zendesk.simulator import ZendeskSimulator, credentials

WORLD_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
FAULTS = FaultPlan(error_rate=0.08, reset_rate=0.03, seed=11)
# Generous limits: these tests are about correctness under faults; bench/ measures the limits.
FAST = ZendeskOptions(requests_per_minute=100_000, export_requests_per_minute=100_000)


@pytest.fixture(name="world")
def world_fixture() -> World:
    return generate(customers=80, seed=5, now=WORLD_NOW)


@pytest.fixture(name="simulator")
def simulator_fixture(world: World) -> Iterator[ZendeskSimulator]:
    with ZendeskSimulator(
        world, FAST, traffic=Traffic(FAULTS), clock=lambda: WORLD_NOW
    ) as simulator:
        yield simulator


@pytest.fixture(name="client")
def client_fixture(simulator: ZendeskSimulator) -> Iterator[ZendeskClient]:
    given = credentials(simulator)
    with mock.patch("zenpy.lib.api.sleep"):
        yield ZendeskClient(
            subdomain=given["subdomain"],
            email=given["email"],
            api_token=given["api_token"],
            base_url=given["base_url"],
            timeout=5.0,
            sleep=lambda _seconds: None,
        )


def seed_customers(database: Database, store_id: str, world: World) -> None:
    rows = [
        {"store": store_id, "id": c.id, "email": normalise_email(c.email),
         "first_name": c.first_name, "last_name": c.last_name, "tags": []}
        for c in world.customers.values()
    ]  # fmt: skip
    with database.session() as session:
        upsert(session, models.Customer, rows)
