"""Promoter reward codes in the store: which answers are due one, the claim that makes a code
exactly-once, and what the thank-you page and email show.

A reward row is inserted in state ``creating`` (with its code) and committed *before* Shopify is
asked; the primary key (store, response) makes the insert the claim, so two workers (the web
page and the push job) never both create. A row found in ``creating`` later is reconciled by
looking its code up in Shopify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from nps_engine.rewards import PROMOTER_MIN_SCORE
from nps_engine.store import models
from nps_engine.store.database import Database

CREATING, CREATED, FAILED = "creating", "created", "failed"
SENDING, SENT = "sending", "sent"


@dataclass(frozen=True, slots=True)
class RewardFacts:
    """What creating one response's code needs from the store."""

    response_id: int
    customer_id: int
    responded_at: datetime
    currency: str | None  # of the surveyed order, to write a fixed amount


@dataclass(frozen=True, slots=True)
class ShownReward:
    """A created code as the customer sees it."""

    code: str
    offer: str
    minimum_order: str | None
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class RewardLetter:
    """A created code whose thank-you email is due."""

    response_id: int
    invite_id: int | None
    email: str
    locale: str | None
    reward: ShownReward


def due_promoters(database: Database, store: str, since: datetime) -> Sequence[RewardFacts]:
    """Fresh survey answers of 9 or 10 from a known customer, without a reward yet."""
    r, reward = models.Response, models.PromoterReward
    with database.session() as session:
        rows = session.execute(
            select(r.id, r.customer_id, r.responded_at, models.Order.currency)
            .outerjoin(
                models.Order, (models.Order.store == r.store) & (models.Order.id == r.order_id)
            )
            .outerjoin(reward, (reward.store == r.store) & (reward.response_id == r.id))
            .where(r.store == store, r.score >= PROMOTER_MIN_SCORE, r.source != "import")
            .where(r.customer_id.is_not(None), r.responded_at >= since)
            .where(reward.response_id.is_(None))
            .order_by(r.id)
        ).all()
    return [RewardFacts(row[0], row[1] or 0, row[2], row[3]) for row in rows]


def promoter_facts(database: Database, store: str, response_id: int) -> RewardFacts | None:
    """One answer's facts, when it is a promoter answer from a known customer."""
    r = models.Response
    with database.session() as session:
        row = session.execute(
            select(r.id, r.customer_id, r.responded_at, models.Order.currency)
            .outerjoin(
                models.Order, (models.Order.store == r.store) & (models.Order.id == r.order_id)
            )
            .where(r.store == store, r.id == response_id, r.score >= PROMOTER_MIN_SCORE)
            .where(r.customer_id.is_not(None), r.source != "import")
        ).first()
    return RewardFacts(row[0], row[1] or 0, row[2], row[3]) if row else None


def claim(
    database: Database,
    store: str,
    facts: RewardFacts,
    code: str,
    shown: tuple[str, str | None, datetime],
    now: datetime,
) -> bool:
    """Insert the ``creating`` row and commit; False when the answer already has one."""
    offer, minimum, ends_at = shown
    row = models.PromoterReward(
        store=store,
        response_id=facts.response_id,
        customer_id=facts.customer_id,
        code=code,
        offer=offer,
        minimum_order=minimum,
        state=CREATING,
        ends_at=ends_at,
        created_at=now,
    )
    try:
        with database.session() as session:
            session.add(row)
    except IntegrityError:
        return False
    return True


def stuck(database: Database, store: str) -> Sequence[tuple[int, str]]:
    """(response id, code) of every row a crash or a timeout left ``creating``."""
    reward = models.PromoterReward
    with database.session() as session:
        rows = session.execute(
            select(reward.response_id, reward.code).where(
                reward.store == store, reward.state == CREATING
            )
        ).all()
    return [(row[0], row[1]) for row in rows]


def finish(
    database: Database,
    store: str,
    response_id: int,
    state: str,
    discount_id: str | None,
    error: str | None = None,
) -> None:
    reward = models.PromoterReward
    with database.session() as session:
        session.execute(
            update(reward)
            .where(reward.store == store, reward.response_id == response_id)
            .values(state=state, discount_id=discount_id, error=error)
        )


def reward_for(database: Database, store: str, response_id: int) -> ShownReward | None:
    """The created code of one answer, for its thank-you page."""
    reward = models.PromoterReward
    with database.session() as session:
        row = session.scalar(
            select(reward).where(
                reward.store == store, reward.response_id == response_id, reward.state == CREATED
            )
        )
        return _shown(row) if row is not None else None


def letters_due(database: Database, store: str) -> Sequence[RewardLetter]:
    """Created codes whose thank-you email was never attempted, to unsuppressed addresses."""
    reward, r, invite = models.PromoterReward, models.Response, models.Invite
    suppressed = select(models.Suppression.email).where(models.Suppression.store == store)
    with database.session() as session:
        rows = session.execute(
            select(reward, r.invite_id, r.email, invite.locale)
            .join(r, (r.store == reward.store) & (r.id == reward.response_id))
            .outerjoin(invite, (invite.store == r.store) & (invite.id == r.invite_id))
            .where(reward.store == store, reward.state == CREATED, reward.email_state.is_(None))
            .where(r.email.is_not(None), r.email.not_in(suppressed))
            .order_by(reward.response_id)
        ).all()
        return [
            RewardLetter(row[0].response_id, row[1], row[2] or "", row[3], _shown(row[0]))
            for row in rows
        ]


def mark_email(database: Database, store: str, response_id: int, state: str, now: datetime) -> bool:
    """Move the email state on; ``sending`` only from nothing (committed before SMTP, so a
    crash never sends twice). False when another worker got there first."""
    reward = models.PromoterReward
    condition = reward.email_state.is_(None) if state == SENDING else reward.email_state == SENDING
    with database.session() as session:
        result = session.execute(
            update(reward)
            .where(reward.store == store, reward.response_id == response_id, condition)
            .values(email_state=state, emailed_at=now)
        )
        return bool(getattr(result, "rowcount", 0))


def _shown(row: models.PromoterReward) -> ShownReward:
    return ShownReward(row.code, row.offer, row.minimum_order, row.ends_at)
