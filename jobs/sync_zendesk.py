"""``nps sync --source zendesk``: tickets and their requesters into the store.

Each export page is written in one transaction together with the cursor that follows it, so a
crash between pages loses nothing and repeats nothing: the next run asks for exactly the page
after the last committed one. When Zendesk keeps answering 429 past the client's budget, the run
stops cleanly with the cursor of the last committed page and says so in its summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.errors import RateLimited
from jobs.runtime.progress import ProgressFn
from nps_engine.ports import TicketPage, TicketSource
from nps_engine.store.cursors import read_cursor, save_cursor
from nps_engine.store.database import Database
from nps_engine.store.support import link_customers, save_ticket_page

CURSOR_NAME = "zendesk.tickets"
DEFAULT_BACKFILL_DAYS = 365


@dataclass
class ZendeskSyncSummary:
    pages: int = 0
    tickets: int = 0
    users: int = 0
    linked: int = 0
    resumed: bool = False  # started from a saved cursor
    complete: bool = False  # reached the end of the stream
    stopped: str | None = None  # why the run ended early, when it did

    def add(self, page: TicketPage) -> None:
        self.pages += 1
        self.tickets += len(page.tickets)
        self.users += len(page.users)
        self.complete = page.end_of_stream

    def counts(self) -> dict[str, int]:
        return {
            "zendesk_pages": self.pages,
            "tickets": self.tickets,
            "zendesk_users": self.users,
            "linked_to_customers": self.linked,
        }

    def describe(self) -> str:
        text = f"{self.tickets} tickets, {self.users} users in {self.pages} pages"
        if self.stopped:
            return f"{text}; stopped early: {self.stopped}"
        return text if self.complete else f"{text}; more to come"


def sync_zendesk(
    database: Database,
    store_id: str,
    source: TicketSource,
    now: datetime,
    *,
    full: bool = False,
    backfill_days: int = DEFAULT_BACKFILL_DAYS,
    progress: ProgressFn | None = None,
) -> ZendeskSyncSummary:
    """Export tickets changed since the saved cursor (``full``: since the backfill window)."""
    with database.session() as session:
        cursor = None if full else read_cursor(session, store_id, CURSOR_NAME)
    summary = ZendeskSyncSummary(resumed=cursor is not None)
    start = now - timedelta(days=backfill_days)
    try:
        for page in source.ticket_pages(cursor, start):
            with database.session() as session:
                save_ticket_page(session, store_id, page, now)
                if page.after_cursor:
                    save_cursor(session, store_id, CURSOR_NAME, page.after_cursor, now)
            summary.add(page)
            if progress is not None:
                progress("Zendesk tickets", summary.tickets)
    except RateLimited as error:
        # The pages before this one are committed with their cursor; the next run resumes.
        summary.stopped = str(error)
    with database.session() as session:
        summary.linked = link_customers(session, store_id)
    return summary
