"""The Zendesk half of the generated world: end users, their tickets, and the hidden experience.

Tickets follow trouble: a late delivery or a return makes a ticket likely, a smooth order rarely
does. The hidden ``true_experience`` of each customer starts from a good baseline and is lowered by
every return, late delivery and ticket, so scores drawn from it correlate with the segments the
report shows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sandbox.generator_text import TICKET_SUBJECTS, TICKET_TAGS
from sandbox.world import Customer, Order, Ticket, TicketComment, World, ZendeskUser

ZENDESK_USER_ID_BASE = 380_000_000_000
COMMENT_ID_BASE = 30_000_000_000
ZENDESK_LOCALES = {"en": "en-US", "fr": "fr", "de": "de", "es": "es"}


@dataclass(frozen=True, slots=True)
class _DraftTicket:
    owner: int  # index into the draft user list
    reason: str  # "late", "return", "question"
    order_name: str | None
    created_at: datetime


@dataclass(slots=True)
class _DraftUser:
    email: str | None
    name: str
    locale: str
    earliest: datetime


def add_support(world: World, rng: random.Random) -> None:
    """Fill ``world.zendesk_users``, ``world.tickets`` and ``world.true_experience``."""
    users: list[_DraftUser] = []
    tickets: list[_DraftTicket] = []
    tickets_per_customer: dict[int, int] = {}
    for customer in world.customers.values():
        orders = world.customer_orders(customer.id)
        mine = _customer_tickets(rng, orders, world.now, len(users))
        tickets_per_customer[customer.id] = len(mine)
        if mine or rng.random() < (0.25 if orders else 0.05):
            users.append(_matching_user(rng, customer))
            tickets.extend(mine)
    _strangers(rng, world, users, tickets)
    user_ids = _store_users(rng, world, users, tickets)
    _store_tickets(rng, world, tickets, user_ids, users)
    for customer in world.customers.values():
        world.true_experience[customer.id] = _experience(
            rng, world.customer_orders(customer.id), tickets_per_customer[customer.id]
        )


def _customer_tickets(
    rng: random.Random, orders: list[Order], now: datetime, owner: int
) -> list[_DraftTicket]:
    drafts = []
    for order in orders:
        for fulfillment in order.fulfillments:
            if fulfillment.late and fulfillment.delivered_at and rng.random() < 0.6:
                at = _between(
                    rng, fulfillment.created_at + timedelta(days=5), fulfillment.delivered_at
                )
                drafts.append(_DraftTicket(owner, "late", order.name, at))
        for ret in order.returns:
            if rng.random() < 0.7:
                at = max(ret.created_at - timedelta(hours=rng.uniform(0, 48)), order.created_at)
                drafts.append(_DraftTicket(owner, "return", order.name, at))
        if rng.random() < 0.06:
            at = min(order.created_at + timedelta(days=rng.uniform(-1, 10)), now)
            drafts.append(_DraftTicket(owner, "question", None, max(at, order.created_at)))
    return [
        _DraftTicket(d.owner, d.reason, d.order_name, d.created_at.replace(microsecond=0))
        for d in drafts
        if d.created_at < now
    ]


def _matching_user(rng: random.Random, customer: Customer) -> _DraftUser:
    """The customer as Zendesk knows them: same address, sometimes typed with other capitals."""
    email = customer.email.strip() if customer.email else None
    if email and rng.random() < 0.2:
        email = email.upper() if rng.random() < 0.3 else email[0].upper() + email[1:]
    name = customer.display_name if rng.random() < 0.85 else customer.first_name
    return _DraftUser(email, name, customer.locale, customer.created_at)


def _strangers(
    rng: random.Random, world: World, users: list[_DraftUser], tickets: list[_DraftTicket]
) -> None:
    """Requesters who never bought (or bought under another address), and some with no email."""
    start = world.now - timedelta(days=548)
    for j in range(max(len(world.customers) // 16, 1)):
        no_email = rng.random() < 0.25
        email = None if no_email else f"visitor{j}@example.net"
        name = f"Visitor {j}" if no_email else f"Prospect {j}"
        earliest = _between(rng, start, world.now - timedelta(hours=1))
        users.append(_DraftUser(email, name, "en", earliest))
        if rng.random() < 0.7:
            at = _between(rng, earliest, world.now)
            tickets.append(_DraftTicket(len(users) - 1, "question", None, at))


def _store_users(
    rng: random.Random, world: World, users: list[_DraftUser], tickets: list[_DraftTicket]
) -> list[int]:
    """Zendesk user ids grow with creation: a user is created with their first ticket."""
    first_ticket: dict[int, datetime] = {}
    for ticket in tickets:
        seen = first_ticket.get(ticket.owner)
        first_ticket[ticket.owner] = min(seen, ticket.created_at) if seen else ticket.created_at
    created = []
    for index, user in enumerate(users):
        if index in first_ticket:
            created.append(first_ticket[index] - timedelta(seconds=rng.randint(0, 60)))
        else:
            created.append(_between(rng, user.earliest, world.now))
    order = sorted(range(len(users)), key=lambda i: (created[i], i))
    ids = [0] * len(users)
    for k, index in enumerate(order):
        ids[index] = ZENDESK_USER_ID_BASE + 7 * k
        user = users[index]
        world.zendesk_users[ids[index]] = ZendeskUser(
            id=ids[index],
            email=user.email,
            name=user.name,
            tags=["vip"] if rng.random() < 0.04 else [],
            user_fields={"nps_score": None, "nps_category": None},
            created_at=created[index],
            updated_at=created[index],
            locale=ZENDESK_LOCALES[user.locale],
        )
    return ids


def _store_tickets(
    rng: random.Random,
    world: World,
    tickets: list[_DraftTicket],
    user_ids: list[int],
    users: list[_DraftUser],
) -> None:
    for k, draft in enumerate(sorted(tickets, key=lambda t: (t.created_at, t.owner))):
        status, updated = _lifecycle(rng, draft.created_at, world.now)
        subject = TICKET_SUBJECTS[draft.reason][users[draft.owner].locale]
        requester = user_ids[draft.owner]
        world.tickets[k + 1] = Ticket(
            id=k + 1,
            requester_id=requester,
            status=status,
            subject=subject.format(order=draft.order_name or ""),
            channel=rng.choices(("email", "web", "chat"), weights=(60, 25, 15))[0],
            tags=list(TICKET_TAGS[draft.reason]),
            created_at=draft.created_at,
            updated_at=updated,
            comments=[
                TicketComment(COMMENT_ID_BASE + k, requester, subject, True, draft.created_at)
            ],
        )
        user = world.zendesk_users[requester]
        user.updated_at = max(user.updated_at, draft.created_at)


def _lifecycle(rng: random.Random, created: datetime, now: datetime) -> tuple[str, datetime]:
    """Status by age: old tickets are solved or closed, young ones still open or pending."""
    age = now - created
    if age > timedelta(days=20):
        status = rng.choices(("closed", "solved"), weights=(70, 30))[0]
    elif age > timedelta(days=4):
        statuses = ("solved", "closed", "pending", "open", "hold")
        status = rng.choices(statuses, weights=(60, 10, 15, 10, 5))[0]
    else:
        status = rng.choices(("new", "open", "pending", "hold"), weights=(30, 40, 20, 10))[0]
    updated = _between(rng, created, min(created + timedelta(days=12), now))
    return status, updated


def _experience(rng: random.Random, orders: list[Order], tickets: int) -> float:
    returns = sum(len(order.returns) for order in orders)
    late = sum(f.late for order in orders for f in order.fulfillments)
    score = rng.gauss(8.4, 1.2) - 1.8 * returns - 1.3 * late - 0.6 * tickets
    return round(min(max(score, 0.0), 10.0), 3)


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = max(int((end - start).total_seconds()), 1)
    return (start + timedelta(seconds=rng.randrange(span))).replace(microsecond=0)
