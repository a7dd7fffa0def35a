"""NPS written back to the Zendesk simulator (faults on): user tags and fields, open tickets,
nothing sent twice, stale tags removed, other apps' tags kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from zendesk_sandbox import (  # noqa: F401
    WORLD_NOW,
    client_fixture,
    seed_customers,
    simulator_fixture,
    world_fixture,
)

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.tag_writer import ZendeskTagWriter
from connectors.zendesk.tickets import ZendeskTicketSource
from jobs.push_tags import PushSummary, push_tags
from jobs.sync_zendesk import sync_zendesk
from nps_engine.config.settings import TagSettings
from nps_engine.records import normalise_email
from nps_engine.store import models
from nps_engine.store.database import Database
from nps_engine.store.support import SupportDirectory
from sandbox.world import World

ZENDESK_TAGS = TagSettings().zendesk


def answer(
    database: Database, store_id: str, customer_id: int, email: str, score: int, days_ago: int
) -> None:
    at = WORLD_NOW - timedelta(days=days_ago)
    with database.session() as session:
        session.add(
            models.Response(
                store=store_id,
                source="survey",
                kind="transactional",
                customer_id=customer_id,
                email=email,
                score=score,
                responded_at=at,
                updated_at=at,
            )
        )


def push(database: Database, store_id: str, client: ZendeskClient) -> PushSummary:
    writer = ZendeskTagWriter(
        client, SupportDirectory(database, store_id, WORLD_NOW), sleep=lambda _s: None
    )
    return push_tags(
        database, store_id, "zendesk", writer, ZENDESK_TAGS, WORLD_NOW, with_fields=True
    )


@pytest.fixture
def answered(
    database: Database, store_id: str, world: World, client: ZendeskClient
) -> dict[int, int]:
    """Customers (id -> Zendesk user id) who answered 3 or 9, after a ticket sync."""
    seed_customers(database, store_id, world)
    sync_zendesk(database, store_id, ZendeskTicketSource(client), WORLD_NOW, backfill_days=3650)
    users_by_email = {
        normalise_email(u.email): u.id for u in world.zendesk_users.values() if u.email
    }
    chosen: dict[int, int] = {}
    for customer in world.customers.values():
        user_id = users_by_email.get(normalise_email(customer.email))
        if user_id is not None and len(chosen) < 12:
            chosen[customer.id] = user_id
            answer(
                database,
                store_id,
                customer.id,
                normalise_email(customer.email) or "",
                3 if len(chosen) % 2 else 9,
                5,
            )
    assert len(chosen) >= 6, "the seeded world should have customers with Zendesk users"
    return chosen


def expected_tags(score: int) -> set[str]:
    category = "detractor" if score <= 6 else "promoter"
    return {f"nps_{category}", f"nps_score_{score}"}


def test_push_tags_users_fields_and_open_tickets(
    database: Database, store_id: str, world: World, client: ZendeskClient, answered: dict[int, int]
) -> None:
    other_tags = {
        uid: [t for t in world.zendesk_users[uid].tags if not t.startswith("nps")]
        for uid in answered.values()
    }
    summary = push(database, store_id, client)
    assert summary.failed == 0
    assert summary.pushed == len(answered)
    for index, (customer_id, user_id) in enumerate(answered.items(), start=1):
        score = 3 if index % 2 else 9
        user = world.zendesk_users[user_id]
        assert expected_tags(score) <= set(user.tags)
        assert set(other_tags[user_id]) <= set(user.tags)  # other apps' tags survive
        assert user.user_fields.get("nps_score") == score
        for ticket in world.tickets.values():
            if ticket.requester_id == user_id and ticket.status not in ("solved", "closed"):
                assert expected_tags(score) <= set(ticket.tags), (customer_id, ticket.id)


def test_a_second_push_with_nothing_new_writes_nothing(
    database: Database, store_id: str, client: ZendeskClient, answered: dict[int, int]
) -> None:
    push(database, store_id, client)
    writes = client.traffic.writes
    again = push(database, store_id, client)
    assert again.planned == 0
    assert client.traffic.writes == writes


def test_a_new_answer_replaces_the_old_tags_on_user_and_open_tickets(
    database: Database, store_id: str, world: World, client: ZendeskClient, answered: dict[int, int]
) -> None:
    push(database, store_id, client)
    customer_id, user_id = next(iter(answered.items()))  # answered 3
    email = normalise_email(world.customers[customer_id].email) or ""
    answer(database, store_id, customer_id, email, 10, 1)
    summary = push(database, store_id, client)
    assert summary.planned == 1
    user = world.zendesk_users[user_id]
    assert {"nps_promoter", "nps_score_10"} <= set(user.tags)
    assert not {"nps_detractor", "nps_score_3"} & set(user.tags)
    for ticket in world.tickets.values():
        if ticket.requester_id == user_id and ticket.status not in ("solved", "closed"):
            assert "nps_detractor" not in ticket.tags
            assert "nps_promoter" in ticket.tags


def test_dry_run_says_which_customers_the_push_will_skip(
    database: Database, store_id: str, world: World, client: ZendeskClient, answered: dict[int, int]
) -> None:
    """A customer no Zendesk user has the email of: the dry run says "skip", as the push does."""
    zendesk_emails = {normalise_email(u.email) for u in world.zendesk_users.values()}
    stranger = next(
        c
        for c in world.customers.values()
        if c.email and normalise_email(c.email) not in zendesk_emails and c.id not in answered
    )
    answer(database, store_id, stranger.id, normalise_email(stranger.email) or "", 2, 1)
    writer = ZendeskTagWriter(
        client, SupportDirectory(database, store_id, WORLD_NOW), sleep=lambda _s: None
    )
    dry = push_tags(
        database, store_id, "zendesk", writer, ZENDESK_TAGS, WORLD_NOW,
        with_fields=True, dry_run=True,
    )  # fmt: skip
    assert [change.customer_id for change, _why in dry.unwritable] == [stranger.id]
    assert stranger.id not in {change.customer_id for change in dry.changes}
    real = push(database, store_id, client)
    assert (real.pushed, real.skipped) == (len(dry.changes), len(dry.unwritable))
