"""``nps sync --source zendesk`` with a fake ticket export: pages land with their cursor, a run
resumes after the last committed page, and a 429 storm stops cleanly. No Zendesk, no sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fakes import FakeTicketSource
from sqlalchemy import select
from survey_support import seed_customer

from jobs.sync_zendesk import CURSOR_NAME, sync_zendesk
from nps_engine.ports import TicketPage
from nps_engine.records import Ticket, ZendeskUser
from nps_engine.store import models
from nps_engine.store.cursors import read_cursor
from nps_engine.store.database import Database

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def page(number: int, *, last: bool = False) -> TicketPage:
    """Two tickets from one requester per page; user 500+n is requester-n@example.com."""
    user = ZendeskUser(500 + number, f"requester-{number}@example.com", f"Requester {number}")
    tickets = [
        Ticket(
            id=100 * number + i,
            requester_id=user.id,
            requester_email=user.email,
            status="open" if i == 0 else "solved",
            created_at=NOW - timedelta(days=10),
            updated_at=NOW - timedelta(days=number),
            subject=f"Where is my order {number}-{i}?",
        )
        for i in range(2)
    ]
    return TicketPage(tickets, [user], after_cursor=f"cursor-{number}", end_of_stream=last)


def saved(database: Database, store: str) -> tuple[list[int], str | None]:
    with database.session() as session:
        tickets = session.scalars(
            select(models.Ticket.id).where(models.Ticket.store == store).order_by(models.Ticket.id)
        ).all()
        return list(tickets), read_cursor(session, store, CURSOR_NAME)


def test_every_page_is_saved_with_its_cursor_and_requesters_are_linked_to_customers(
    database: Database, store_id: str
) -> None:
    seed_customer(database, store_id, 7, "requester-2@example.com")
    source = FakeTicketSource([page(1), page(2), page(3, last=True)])
    summary = sync_zendesk(database, store_id, source, NOW, backfill_days=30)
    assert (summary.pages, summary.tickets, summary.users) == (3, 6, 3)
    assert summary.complete
    assert not summary.resumed
    assert source.reads == [(None, NOW - timedelta(days=30))]
    tickets, cursor = saved(database, store_id)
    assert tickets == [100, 101, 200, 201, 300, 301]
    assert cursor == "cursor-3"
    with database.session() as session:
        assert session.get_one(models.ZendeskUser, (store_id, 502)).customer_id == 7
        assert session.get_one(models.Ticket, (store_id, 200)).customer_id == 7
        assert session.get_one(models.Ticket, (store_id, 100)).customer_id is None
    # A customer who appears later (the Shopify sync ran after) is linked by the next run.
    seed_customer(database, store_id, 8, "requester-1@example.com", order_id=81)
    later = sync_zendesk(database, store_id, source, NOW + timedelta(minutes=15))
    assert later.pages == 0
    assert later.linked == 3
    assert summary.describe() == "6 tickets, 3 users in 3 pages"


def test_the_next_run_resumes_after_the_last_committed_page(
    database: Database, store_id: str
) -> None:
    pages = [page(1), page(2), page(3, last=True)]
    first = sync_zendesk(database, store_id, FakeTicketSource(pages[:2]), NOW)
    assert not first.complete
    assert first.describe().endswith("more to come")
    source = FakeTicketSource(pages)
    second = sync_zendesk(database, store_id, source, NOW + timedelta(minutes=15))
    assert second.resumed
    assert source.reads[0][0] == "cursor-2"
    assert second.pages == 1  # page 3 only: nothing read twice
    assert saved(database, store_id) == ([100, 101, 200, 201, 300, 301], "cursor-3")


def test_a_full_sync_starts_over_from_the_backfill_window(
    database: Database, store_id: str
) -> None:
    pages = [page(1), page(2, last=True)]
    sync_zendesk(database, store_id, FakeTicketSource(pages), NOW)
    source = FakeTicketSource(pages)
    again = sync_zendesk(database, store_id, source, NOW, full=True, backfill_days=7)
    assert source.reads == [(None, NOW - timedelta(days=7))]
    assert (again.pages, again.resumed) == (2, False)
    assert saved(database, store_id)[0] == [100, 101, 200, 201]  # updated, not duplicated


def test_rate_limiting_stops_the_run_with_the_pages_before_it_kept(
    database: Database, store_id: str
) -> None:
    pages = [page(1), page(2), page(3, last=True)]
    summary = sync_zendesk(database, store_id, FakeTicketSource(pages, rate_limited_after=1), NOW)
    assert summary.pages == 1
    assert summary.stopped is not None
    assert "429" in summary.stopped
    assert "stopped early" in summary.describe()
    assert saved(database, store_id) == ([100, 101], "cursor-1")
    resumed = sync_zendesk(database, store_id, FakeTicketSource(pages), NOW)
    assert resumed.pages == 2
    assert resumed.complete


def test_progress_is_reported_as_tickets_arrive(sqlite_database: Database, store_id: str) -> None:
    seen: list[tuple[str, int]] = []
    source = FakeTicketSource([page(1), page(2, last=True)])
    sync_zendesk(
        sqlite_database, store_id, source, NOW, progress=lambda what, n: seen.append((what, n))
    )
    assert seen == [("Zendesk tickets", 2), ("Zendesk tickets", 4)]
