"""The Zendesk simulator with a generated world, our client pointed at it, and the store seeded
with the world's Shopify customers (imported by the Zendesk end-to-end tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest

from connectors.zendesk.client import ZendeskClient
from nps_engine.records import normalise_email
from nps_engine.store import models
from nps_engine.store.database import Database, upsert
from sandbox.generator import generate
from sandbox.loopback import Request, Response
from sandbox.traffic import FaultPlan, Traffic
from sandbox.world import World
from sandbox.zendesk import simulator as simulator_module
from sandbox.zendesk import tickets as sim_tickets
from sandbox.zendesk.account import Account, ZendeskOptions
from sandbox.zendesk.render import ticket_json
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
    with (
        with_external_ids(),
        ZendeskSimulator(
            world, FAST, traffic=Traffic(FAULTS), clock=lambda: WORLD_NOW
        ) as simulator,
    ):
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


# The simulator does not serve "List Tickets by external_id" yet (GET /api/v2/tickets.json
# ?external_id=, which real Zendesk does): this shim adds it for the follow-up tests.
_EXTERNAL_IDS: dict[int, str] = {}


def _create_keeping_external_id(account: Account, request: Request) -> Response:
    answer = sim_tickets.create(account, request)
    if answer.status == 201:
        sent = request.json()["ticket"]
        created = json.loads(answer.body)["ticket"]
        if sent.get("external_id"):
            _EXTERNAL_IDS[created["id"]] = sent["external_id"]
    return answer


def _list_by_external_id(account: Account, request: Request) -> Response:
    wanted = request.arg("external_id")
    found: list[dict[str, Any]] = []
    with account.world.lock:
        for ticket in account.world.tickets.values():
            if wanted and _EXTERNAL_IDS.get(ticket.id) == wanted:
                found.append({**ticket_json(ticket, request.base_url), "external_id": wanted})
    body = {"tickets": found, "next_page": None, "previous_page": None, "count": len(found)}
    return Response.json(200, body)


def with_external_ids() -> Any:
    endpoints = [
        (m, p, n, _create_keeping_external_id if e is sim_tickets.create else e)
        for m, p, n, e in simulator_module._ENDPOINTS
    ]
    endpoints.append(("GET", r"/api/v2/tickets(?:\.json)?", "/api/v2/tickets.json",
                      _list_by_external_id))  # fmt: skip
    _EXTERNAL_IDS.clear()
    return mock.patch.object(simulator_module, "_ENDPOINTS", endpoints)
