"""Support data in the store: Zendesk tickets and users, linked to Shopify customers by email.

A ticket or Zendesk user belongs to the customer with the same normalised email. Whichever sync
runs first, :func:`link_customers` fills the links the other one could not make yet.

A customer redacted by Shopify (``customers/redact``) stays redacted: Zendesk still knows their
address (their user, their tickets, our follow-up), so users and tickets whose address hashes to
a ``redacted`` suppression are saved without address, name or subject, keeping their link.
:class:`SupportDirectory` is what the Zendesk tag writer asks (``connectors.zendesk.tag_writer``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, delete, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from nps_engine.ports import NO_ZENDESK_USER, TicketPage
from nps_engine.records import (
    SuppressionReason,
    Ticket,
    ZendeskUser,
    email_digest,
    normalise_email,
)
from nps_engine.store import models
from nps_engine.store.database import Database, upsert

CLOSED_STATUSES = ("solved", "closed", "deleted")


def customers_by_email(
    session: Session, store: str, emails: Iterable[str | None]
) -> dict[str, int]:
    """The customer id for each normalised email (the oldest customer when two share one)."""
    wanted = sorted({e for e in (normalise_email(x) for x in emails) if e})
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(models.Customer.email, models.Customer.id)
            .where(models.Customer.store == store)
            .where(models.Customer.email.in_(wanted[start : start + 500]))
            .order_by(models.Customer.id)
        )
        for email, customer_id in rows:
            if email is not None:
                found.setdefault(email, customer_id)
    return found


def save_users(session: Session, store: str, users: Sequence[ZendeskUser], now: datetime) -> None:
    links = customers_by_email(session, store, (u.email for u in users))
    redacted = _redacted(session, store)
    rows, anonymous = [], []
    for user in {u.id: u for u in users}.values():
        row = {
            "store": store,
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "tags": list(user.tags),
            "customer_id": links.get(user.email) if user.email else None,
            "synced_at": now,
        }
        if user.email and email_digest(user.email) in redacted:
            anonymous.append(row | {"email": None, "name": None, "customer_id": None})
        else:
            rows.append(row)
    upsert(session, models.ZendeskUser, rows)
    # The link to the (redacted) customer, made before the redaction, is kept as it is.
    upsert(session, models.ZendeskUser, anonymous, update=["email", "name", "tags", "synced_at"])


def save_tickets(session: Session, store: str, tickets: Sequence[Ticket]) -> None:
    links = customers_by_email(session, store, (t.requester_email for t in tickets))
    redacted = _redacted(session, store)
    rows, anonymous = [], []
    for ticket in {t.id: t for t in tickets}.values():
        email = normalise_email(ticket.requester_email)
        row = {
            "store": store,
            "id": ticket.id,
            "requester_id": ticket.requester_id,
            "requester_email": email,
            "customer_id": links.get(email or ""),
            "status": ticket.status,
            "subject": ticket.subject,
            "channel": ticket.channel,
            "tags": list(ticket.tags),
            "created_at": ticket.created_at,
            "updated_at": ticket.updated_at,
        }
        if email and email_digest(email) in redacted:
            anonymous.append(row | {"requester_email": None, "subject": None, "customer_id": None})
        else:
            rows.append(row)
    upsert(session, models.Ticket, rows)
    keep_link = [c.name for c in models.Ticket.__table__.columns if c.name != "customer_id"]
    upsert(session, models.Ticket, anonymous, update=[c for c in keep_link if c not in _KEYS])


_KEYS = ("store", "id")


def _redacted(session: Session, store: str) -> set[str]:
    """Hashes of the addresses of customers redacted by ``customers/redact``."""
    query = select(models.Suppression.email_hash).where(
        models.Suppression.store == store,
        models.Suppression.reason == SuppressionReason.REDACTED.value,
    )
    return set(session.scalars(query))


def save_ticket_page(session: Session, store: str, page: TicketPage, now: datetime) -> None:
    """Stage one export page; the caller commits it together with its cursor."""
    save_users(session, store, page.users, now)
    save_tickets(session, store, page.tickets)


def retry_customers_found_in_zendesk(session: Session, store: str) -> int:
    """Forget "no Zendesk user" skips for customers who now have one (they opened a ticket), so
    the next push writes their tags; how many customers that concerns."""
    linked = select(models.ZendeskUser.customer_id).where(
        models.ZendeskUser.store == store, models.ZendeskUser.customer_id.is_not(None)
    )
    result = session.execute(
        update(models.TagState)
        .where(
            models.TagState.store == store,
            models.TagState.system == "zendesk",
            models.TagState.error.contains(NO_ZENDESK_USER),
            models.TagState.customer_id.in_(linked),
        )
        .values(error=None, error_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def link_customers(session: Session, store: str) -> int:
    """Link tickets and Zendesk users that have no customer yet; how many rows were linked."""
    tickets = _link(session, store, models.Ticket, models.Ticket.requester_email)
    return tickets + _link(session, store, models.ZendeskUser, models.ZendeskUser.email)


def _link(
    session: Session,
    store: str,
    model: type[models.Ticket] | type[models.ZendeskUser],
    email_column: InstrumentedAttribute[str | None],
) -> int:
    same_email = select(models.Customer.id).where(
        models.Customer.store == store, models.Customer.email == email_column
    )
    result = session.execute(
        update(model)
        .where(model.store == store, model.customer_id.is_(None), same_email.exists())
        .values(customer_id=same_email.order_by(models.Customer.id).limit(1).scalar_subquery())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def zendesk_user_id(session: Session, store: str, customer_id: int) -> int | None:
    return session.scalar(
        select(models.ZendeskUser.id)
        .where(models.ZendeskUser.store == store, models.ZendeskUser.customer_id == customer_id)
        .order_by(models.ZendeskUser.id)
        .limit(1)
    )


def customer_of_user(session: Session | Connection, store: str, user_id: int) -> int | None:
    return session.scalar(
        select(models.ZendeskUser.customer_id).where(
            models.ZendeskUser.store == store, models.ZendeskUser.id == user_id
        )
    )


def open_ticket_ids(session: Session, store: str, user_ids: Sequence[int]) -> dict[int, list[int]]:
    """Open tickets per requester, oldest first, as last synced."""
    found: dict[int, list[int]] = {}
    for start in range(0, len(user_ids), 500):
        rows = session.execute(
            select(models.Ticket.requester_id, models.Ticket.id)
            .where(models.Ticket.store == store)
            .where(models.Ticket.requester_id.in_(user_ids[start : start + 500]))
            .where(models.Ticket.status.not_in(CLOSED_STATUSES))
            .order_by(models.Ticket.id)
        )
        for requester_id, ticket_id in rows:
            if requester_id is not None:
                found.setdefault(requester_id, []).append(ticket_id)
    return found


class SupportDirectory:
    """The store side of the Zendesk tag writer (the ``nps_engine.ports.UserDirectory`` port)."""

    def __init__(self, database: Database, store: str, now: datetime) -> None:
        self._database = database
        self._store = store
        self._now = now

    def known_users(self, customer_ids: Sequence[int]) -> Mapping[int, int]:
        found: dict[int, int] = {}
        with self._database.session() as session:
            rows = session.execute(
                select(models.ZendeskUser.customer_id, models.ZendeskUser.id)
                .where(models.ZendeskUser.store == self._store)
                .where(models.ZendeskUser.customer_id.in_(list(customer_ids)))
                .order_by(models.ZendeskUser.id)
            )
            for customer_id, user_id in rows:
                if customer_id is not None:
                    found.setdefault(customer_id, user_id)
        return found

    def remember_user(self, customer_id: int, user: ZendeskUser) -> None:
        with self._database.session() as session:
            save_users(session, self._store, [user], self._now)
            session.execute(
                update(models.ZendeskUser)
                .where(
                    and_(models.ZendeskUser.store == self._store, models.ZendeskUser.id == user.id)
                )
                .values(customer_id=customer_id)
            )

    def forget_user(self, user_id: int) -> None:
        with self._database.session() as session:
            session.execute(
                delete(models.ZendeskUser).where(
                    models.ZendeskUser.store == self._store, models.ZendeskUser.id == user_id
                )
            )

    def open_tickets(self, user_ids: Sequence[int]) -> Mapping[int, Sequence[int]]:
        with self._database.session() as session:
            return open_ticket_ids(session, self._store, list(user_ids))
