"""Ticket sync against the Zendesk simulator with faults on: complete, linked, and resumable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from unittest import mock

import pytest
from sqlalchemy import select
from zendesk_sandbox import (  # noqa: F401
    WORLD_NOW,
    client_fixture,
    seed_customers,
    simulator_fixture,
    world_fixture,
)

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.tickets import ZendeskTicketSource
from jobs import sync_zendesk as sync_module
from jobs.sync_zendesk import CURSOR_NAME, sync_zendesk
from nps_engine.ports import TicketPage
from nps_engine.records import normalise_email
from nps_engine.store import models
from nps_engine.store.cursors import read_cursor
from nps_engine.store.database import Database
from sandbox.traffic import Fault
from sandbox.world import World
from sandbox.zendesk.account import ZendeskOptions
from sandbox.zendesk.simulator import ZendeskSimulator, credentials


class Crash(Exception):
    """The process dying at a chosen line."""


class CrashingSource:
    """Yields ``pages`` pages, then dies when asked for the next one."""

    def __init__(self, source: ZendeskTicketSource, pages: int) -> None:
        self.source, self.pages = source, pages
        self.seen: list[TicketPage] = []

    def ticket_pages(self, cursor: str | None, start_time: datetime) -> Iterator[TicketPage]:
        for page in self.source.ticket_pages(cursor, start_time):
            if len(self.seen) == self.pages:
                raise Crash
            self.seen.append(page)
            yield page


def stored_tickets(database: Database, store_id: str) -> dict[int, int | None]:
    with database.session() as session:
        rows = session.execute(
            select(models.Ticket.id, models.Ticket.customer_id).where(
                models.Ticket.store == store_id
            )
        )
        return {row[0]: row[1] for row in rows}


def test_sync_under_faults_stores_every_ticket_linked_to_its_customer(
    database: Database,
    store_id: str,
    world: World,
    client: ZendeskClient,
    simulator: ZendeskSimulator,
) -> None:
    seed_customers(database, store_id, world)
    export = "GET /api/v2/incremental/tickets/cursor.json"
    simulator.traffic.script(export, 2, Fault.gateway_error(503))
    simulator.traffic.script(export, 4, Fault.reset())
    summary = sync_zendesk(
        database,
        store_id,
        ZendeskTicketSource(client, per_page=5),
        WORLD_NOW,
        full=True,
        backfill_days=3650,
    )
    assert summary.complete
    assert simulator.traffic.snapshot().faults > 0  # the run really went through faults
    stored = stored_tickets(database, store_id)
    assert set(stored) == set(world.tickets)
    by_email = {normalise_email(c.email): c.id for c in world.customers.values() if c.email}
    for ticket in world.tickets.values():
        requester = world.zendesk_users.get(ticket.requester_id)
        expected = by_email.get(normalise_email(requester.email) if requester else None)
        assert stored[ticket.id] == expected
    assert any(stored.values())  # the world has matching customers: the check above bites


def test_a_crash_between_pages_resumes_at_the_next_page_without_rereading(
    database: Database, store_id: str, world: World, client: ZendeskClient
) -> None:
    source = ZendeskTicketSource(client, per_page=10)
    crashing = CrashingSource(source, pages=2)
    with pytest.raises(Crash):
        sync_zendesk(database, store_id, crashing, WORLD_NOW, backfill_days=3650)
    first_run = {t.id for page in crashing.seen for t in page.tickets}
    assert set(stored_tickets(database, store_id)) == first_run
    with database.session() as session:
        assert read_cursor(session, store_id, CURSOR_NAME) == crashing.seen[-1].after_cursor

    resumed = CrashingSource(source, pages=10_000)
    summary = sync_zendesk(database, store_id, resumed, WORLD_NOW, backfill_days=3650)
    second_run = {t.id for page in resumed.seen for t in page.tickets}
    assert summary.resumed
    assert summary.complete
    assert not first_run & second_run  # nothing read twice
    assert first_run | second_run == set(world.tickets)  # nothing lost


def test_a_crash_while_saving_a_page_keeps_neither_its_tickets_nor_its_cursor(
    database: Database, store_id: str, world: World, client: ZendeskClient
) -> None:
    source = ZendeskTicketSource(client, per_page=10)
    real_save = sync_module.save_cursor
    calls = {"n": 0}

    def save_then_die(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash
        real_save(*args, **kwargs)  # type: ignore[arg-type]

    recorder = CrashingSource(source, pages=10_000)
    with mock.patch.object(sync_module, "save_cursor", save_then_die), pytest.raises(Crash):
        sync_zendesk(database, store_id, recorder, WORLD_NOW, backfill_days=3650)
    assert set(stored_tickets(database, store_id)) == {t.id for t in recorder.seen[0].tickets}
    with database.session() as session:
        assert read_cursor(session, store_id, CURSOR_NAME) == recorder.seen[0].after_cursor
    sync_zendesk(database, store_id, source, WORLD_NOW, backfill_days=3650)
    assert set(stored_tickets(database, store_id)) == set(world.tickets)


def test_a_spent_rate_limit_budget_ends_the_sync_cleanly_and_the_next_run_resumes(
    database: Database, store_id: str, world: World
) -> None:
    clock = {"now": 0.0}
    options = ZendeskOptions(export_requests_per_minute=2, requests_per_minute=1000)
    with ZendeskSimulator(
        world, options, clock=lambda: WORLD_NOW, monotonic=lambda: clock["now"]
    ) as simulator, mock.patch("zenpy.lib.api.sleep"):  # fmt: skip
        given = credentials(simulator)
        client = ZendeskClient(
            subdomain=given["subdomain"], email=given["email"], api_token=given["api_token"],
            base_url=given["base_url"], ratelimit_budget_seconds=5, sleep=lambda _s: None,
        )  # fmt: skip
        source = ZendeskTicketSource(client, per_page=5)
        first = sync_zendesk(database, store_id, source, WORLD_NOW, backfill_days=3650)
        assert first.stopped is not None
        assert "rate limited" in first.stopped
        assert (first.pages, first.complete) == (2, False)
        with database.session() as session:
            saved = read_cursor(session, store_id, CURSOR_NAME)
        assert len(stored_tickets(database, store_id)) == 10

        clock["now"] += 60 * 30  # the next scheduled run, half an hour later
        client = ZendeskClient(
            subdomain=given["subdomain"], email=given["email"], api_token=given["api_token"],
            base_url=given["base_url"], ratelimit_budget_seconds=5, sleep=lambda _s: None,
        )  # fmt: skip
        second = sync_zendesk(
            database, store_id, ZendeskTicketSource(client, per_page=5), WORLD_NOW,
            backfill_days=3650,
        )  # fmt: skip
        assert second.resumed
        assert saved is not None
        assert second.pages == 2  # two more pages, then the limit again: and so on, run by run
    assert len(stored_tickets(database, store_id)) == 20
