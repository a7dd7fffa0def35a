"""Tickets and Zendesk users in the store, linked to Shopify customers by normalised email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from nps_engine.ports import NO_ZENDESK_USER, TicketPage
from nps_engine.records import Ticket, ZendeskUser
from nps_engine.store import models
from nps_engine.store.database import Database, upsert
from nps_engine.store.followup_facts import followup_facts
from nps_engine.store.support import (
    SupportDirectory,
    link_customers,
    open_ticket_ids,
    retry_customers_found_in_zendesk,
    save_ticket_page,
    zendesk_user_id,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def ticket(
    ticket_id: int, requester: int, email: str | None, status: str = "open", days_ago: int = 5
) -> Ticket:
    at = NOW - timedelta(days=days_ago)
    return Ticket(
        ticket_id, requester, email, status, at, at, f"Ticket {ticket_id}", "email", ("vip",)
    )


def add_customer(database: Database, store_id: str, customer_id: int, email: str) -> None:
    with database.session() as session:
        upsert(
            session,
            models.Customer,
            [
                {
                    "store": store_id,
                    "id": customer_id,
                    "email": email,
                    "first_name": "Jane",
                    "last_name": "Doe",
                    "tags": [],
                }
            ],
        )


def page(*tickets: Ticket, users: tuple[ZendeskUser, ...] = ()) -> TicketPage:
    return TicketPage(list(tickets), list(users), "C1", end_of_stream=True)


def test_tickets_and_users_link_to_the_customer_with_the_same_email(
    database: Database, store_id: str
) -> None:
    add_customer(database, store_id, 1, "jane@example.com")
    with database.session() as session:
        save_ticket_page(
            session,
            store_id,
            page(
                ticket(10, 501, "Jane@Example.com "),
                users=(ZendeskUser(501, "jane@example.com", "Jane"),),
            ),
            NOW,
        )
    with database.session() as session:
        row = session.get_one(models.Ticket, (store_id, 10))
        assert (row.customer_id, row.requester_email, row.tags) == (1, "jane@example.com", ["vip"])
        assert zendesk_user_id(session, store_id, 1) == 501


def test_a_customer_synced_later_is_linked_afterwards(database: Database, store_id: str) -> None:
    with database.session() as session:
        save_ticket_page(
            session,
            store_id,
            page(
                ticket(10, 501, "jane@example.com"), users=(ZendeskUser(501, "jane@example.com"),)
            ),
            NOW,
        )
    add_customer(database, store_id, 1, "jane@example.com")
    with database.session() as session:
        assert link_customers(session, store_id) == 2
    with database.session() as session:
        assert session.get_one(models.Ticket, (store_id, 10)).customer_id == 1
        assert link_customers(session, store_id) == 0


def test_resaving_a_ticket_updates_it_in_place(database: Database, store_id: str) -> None:
    with database.session() as session:
        save_ticket_page(session, store_id, page(ticket(10, 501, None)), NOW)
        save_ticket_page(session, store_id, page(ticket(10, 501, None, status="solved")), NOW)
    with database.session() as session:
        rows = session.scalars(select(models.Ticket).where(models.Ticket.store == store_id)).all()
        assert [(r.id, r.status) for r in rows] == [(10, "solved")]


def test_only_tickets_still_open_are_returned_for_tagging(
    database: Database, store_id: str
) -> None:
    tickets = [
        ticket(1, 501, None, "new"),
        ticket(2, 501, None, "pending"),
        ticket(3, 501, None, "solved"),
        ticket(4, 501, None, "closed"),
        ticket(5, 502, None, "hold"),
    ]
    with database.session() as session:
        save_ticket_page(session, store_id, page(*tickets), NOW)
        assert open_ticket_ids(session, store_id, [501, 502, 503]) == {501: [1, 2], 502: [5]}


def test_directory_remembers_and_forgets_users_found_by_search(
    database: Database, store_id: str
) -> None:
    directory = SupportDirectory(database, store_id, NOW)
    assert directory.known_users([1]) == {}
    directory.remember_user(1, ZendeskUser(501, "jane@example.com", "Jane"))
    assert directory.known_users([1, 2]) == {1: 501}
    directory.forget_user(501)
    assert directory.known_users([1]) == {}


def test_follow_up_facts_count_support_tickets_in_the_window_but_not_our_follow_ups(
    database: Database, store_id: str
) -> None:
    add_customer(database, store_id, 1, "jane@example.com")
    with database.session() as session:
        save_ticket_page(
            session,
            store_id,
            page(
                ticket(1, 501, "jane@example.com", days_ago=10),
                ticket(2, 501, "jane@example.com", days_ago=200),
                ticket(3, 501, "jane@example.com", days_ago=0),
                Ticket(
                    4,
                    501,
                    "jane@example.com",
                    "open",
                    NOW - timedelta(days=20),
                    NOW - timedelta(days=20),
                    "NPS follow-up",
                    "api",
                    ("nps_followup",),
                ),
            ),
            NOW,
        )
        upsert(
            session,
            models.Order,
            [
                {
                    "store": store_id,
                    "id": 77,
                    "name": "#1077",
                    "customer_id": 1,
                    "email": "jane@example.com",
                    "created_at": NOW,
                    "updated_at": NOW,
                    "returned": True,
                }
            ],
        )
        session.add(
            models.Response(
                store=store_id,
                source="survey",
                kind="transactional",
                customer_id=1,
                email="jane@example.com",
                order_id=77,
                score=3,
                comment="Late",
                responded_at=NOW - timedelta(days=1),
                updated_at=NOW - timedelta(days=1),
            )
        )
    with database.session() as session:
        response_id = session.scalars(
            select(models.Response.id).where(models.Response.store == store_id)
        ).one()
        facts = followup_facts(session, store_id, response_id, 90, ours=("NPS_FOLLOWUP",))
    assert (facts.customer_name, facts.order_name, facts.returned, facts.support_tickets) == (
        "Jane Doe",
        "#1077",
        True,
        1,
    )


def test_a_customer_skipped_for_having_no_zendesk_user_is_retried_once_linked(
    database: Database, store_id: str
) -> None:
    when = datetime(2026, 10, 1, tzinfo=UTC)
    with database.session() as session:
        for customer in (1, 2):
            session.add(
                models.TagState(
                    store=store_id,
                    system="zendesk",
                    customer_id=customer,
                    tags=[],
                    fields={},
                    error=f"permanent: {NO_ZENDESK_USER}",
                    error_at=when,
                )
            )
        assert retry_customers_found_in_zendesk(session, store_id) == 0
        session.add(
            models.ZendeskUser(store=store_id, id=77, email="a@x.com", tags=[], customer_id=2)
        )
        session.flush()
        assert retry_customers_found_in_zendesk(session, store_id) == 1
    with database.session() as session:
        errors = {
            row.customer_id: row.error
            for row in session.query(models.TagState).filter_by(store=store_id)
        }
    assert errors == {1: f"permanent: {NO_ZENDESK_USER}", 2: None}


def test_a_redacted_customer_stays_redacted_after_a_zendesk_sync(
    database: Database, store_id: str
) -> None:
    """Zendesk still has the address (the user, their ticket, our follow-up): a sync after
    ``customers/redact`` keeps their personal fields empty and their links."""
    from nps_engine.store.shop_privacy import Subject, redact_customer

    add_customer(database, store_id, 1, "jane@example.com")
    jane = ZendeskUser(501, "jane@example.com", "Jane Doe")
    with database.session() as session:
        save_ticket_page(
            session, store_id, page(ticket(10, 501, "jane@example.com"), users=(jane,)), NOW
        )
    with database.session() as session:
        redact_customer(session, store_id, Subject(1, "jane@example.com"), NOW)
    followup = ticket(11, 501, "Jane@Example.com")
    with database.session() as session:
        save_ticket_page(
            session,
            store_id,
            page(ticket(10, 501, "jane@example.com"), followup, users=(jane,)),
            NOW,
        )
    with database.session() as session:
        user = session.get_one(models.ZendeskUser, (store_id, 501))
        assert (user.email, user.name, user.customer_id) == (None, None, 1)
        for ticket_id in (10, 11):
            row = session.get_one(models.Ticket, (store_id, ticket_id))
            assert (row.requester_email, row.subject) == (None, None)
        assert session.get_one(models.Ticket, (store_id, 10)).customer_id == 1
        stored = session.execute(select(models.Suppression.email_hash)).scalars().all()
        assert stored
        assert all("jane" not in value for value in stored)
