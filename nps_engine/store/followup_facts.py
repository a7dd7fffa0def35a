"""What a detractor follow-up ticket tells the agent, read from the store in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from nps_engine.store import models


@dataclass(frozen=True, slots=True)
class FollowupFacts:
    response_id: int
    score: int
    comment: str | None
    responded_at: datetime
    # When the answer last changed (a later score or comment on the same invite).
    updated_at: datetime
    email: str
    customer_id: int | None
    customer_name: str | None
    order_name: str | None
    returned: bool
    # Tickets the customer opened in the ``window_days`` before answering.
    support_tickets: int
    window_days: int


def followup_facts(
    session: Session,
    store: str,
    response_id: int,
    window_days: int,
    ours: Sequence[str] = (),
) -> FollowupFacts:
    """The facts for one answer; tickets tagged with any of ``ours`` (our own follow-ups for
    earlier answers) do not count as the customer contacting support."""
    response = session.get_one(models.Response, response_id)
    if response.store != store or not response.email:
        raise LookupError(f"response {response_id} of store {store} has no email")
    customer = (
        session.get(models.Customer, (store, response.customer_id))
        if response.customer_id is not None
        else None
    )
    order = (
        session.get(models.Order, (store, response.order_id))
        if response.order_id is not None
        else None
    )
    return FollowupFacts(
        response_id=response.id,
        score=response.score,
        comment=response.comment,
        responded_at=response.responded_at,
        updated_at=response.updated_at,
        email=response.email,
        customer_id=response.customer_id,
        customer_name=_name(customer),
        order_name=order.name if order else None,
        returned=bool(order and (order.returned or order.refunded)),
        support_tickets=_tickets_before(session, store, response, window_days, ours),
        window_days=window_days,
    )


def _name(customer: models.Customer | None) -> str | None:
    if customer is None or customer.redacted_at is not None:
        return None
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part)
    return name or None


def _tickets_before(
    session: Session, store: str, response: models.Response, window_days: int, ours: Sequence[str]
) -> int:
    t = models.Ticket
    mine = t.requester_email == response.email
    if response.customer_id is not None:
        mine = or_(mine, t.customer_id == response.customer_id)
    tags = session.scalars(
        select(t.tags)
        .where(t.store == store, mine)
        .where(t.created_at >= response.responded_at - timedelta(days=window_days))
        .where(t.created_at <= response.responded_at)
    )
    skip = {tag.lower() for tag in ours}
    return sum(1 for ticket_tags in tags if not skip & {tag.lower() for tag in ticket_tags or ()})
