"""Reading what eligibility needs from the store: orders in the survey window, their customers,
suppressions, redactions and invite history, as records."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from nps_engine import records
from nps_engine.config.settings import SurveySettings
from nps_engine.eligibility import Audience
from nps_engine.store import models
from nps_engine.store.invites import past_invites
from nps_engine.store.suppressions import suppressions


def orders_in_window(
    session: Session, store: str, survey: SurveySettings, now: datetime
) -> list[records.Order]:
    """The survey window: orders delivered (or, without a delivery date, fulfilled) within
    ``max_age_days``, and orders placed within ``max_age_days + fallback_days`` whatever became of
    them (cancelled, not fulfilled, in transit, delivered too long ago), so that every order of
    the window is counted under a reason in the dry run's "N due, skipped: ..." line."""
    since = now - timedelta(days=survey.max_age_days)
    placed_since = since - timedelta(days=survey.fallback_days)
    query = select(models.Order).where(
        models.Order.store == store,
        or_(
            models.Order.delivered_at >= since,
            and_(models.Order.delivered_at.is_(None), models.Order.fulfilled_at >= since),
            models.Order.created_at >= placed_since,
        ),
        # Not placed yet at ``now``: nothing to count. Only a clock that is replayed (the demo's
        # year, week by week, over a store synced up to today) meets such orders, and read them
        # all every week.
        models.Order.created_at <= now,
    )
    return [as_order(row) for row in session.scalars(query)]


def audience_for(
    session: Session,
    store: str,
    orders: Iterable[records.Order],
    survey: SurveySettings,
    now: datetime,
    *,
    every_customer: bool = False,
) -> Audience:
    """Customers of ``orders`` (or every customer with an order, for relationship surveys)."""
    order_list = list(orders)
    query = select(models.Customer).where(models.Customer.store == store)
    if every_customer:
        # Shopify's order count includes cancelled orders: a relationship needs a real one.
        kept_order = exists().where(
            models.Order.store == store,
            models.Order.customer_id == models.Customer.id,
            models.Order.cancelled_at.is_(None),
        )
        query = query.where(models.Customer.orders_count >= 1, kept_order)
        rows = list(session.scalars(query))
    else:
        ids = sorted({o.customer_id for o in order_list if o.customer_id is not None})
        rows = []
        for start in range(0, len(ids), 500):
            rows += session.scalars(query.where(models.Customer.id.in_(ids[start : start + 500])))
    throttle_since = now - timedelta(days=max(survey.throttle_days, survey.relationship.every_days))
    return Audience(
        customers={row.id: as_customer(row) for row in rows},
        suppressions=suppressions(session, store),
        past_invites=past_invites(session, store, throttle_since, (o.id for o in order_list)),
        redacted_customers=frozenset(row.id for row in rows if row.redacted_at is not None),
    )


def as_customer(row: models.Customer) -> records.Customer:
    return records.Customer(
        id=row.id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        locale=row.locale,
        country=row.country,
        tags=tuple(row.tags or ()),
        orders_count=row.orders_count or 0,
        total_spent=row.total_spent,
        marketing_state=row.marketing_state,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def as_order(row: models.Order) -> records.Order:
    return records.Order(
        id=row.id,
        name=row.name,
        customer_id=row.customer_id,
        email=row.email,
        created_at=row.created_at,
        updated_at=row.updated_at,
        cancelled_at=row.cancelled_at,
        fulfilled_at=row.fulfilled_at,
        delivered_at=row.delivered_at,
        refunded=row.refunded,
        returned=row.returned,
        total_price=row.total_price,
        currency=row.currency,
        tracked=row.tracked,
        delivery_status=row.delivery_status,
    )
