"""The feed's segments read set by set (``feed_facts``) and its segment filter in SQL
(``segment_conditions``) agree with the report's own fact query, answer for answer, on a store
with repeat buyers, cancelled and later orders, returns, tickets by customer and by email, and our
own follow-up tickets."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from workspace_support import NOW

from nps_engine.config.settings import SegmentSettings
from nps_engine.response_filters import ResponseFilters
from nps_engine.segments import enabled_segments
from nps_engine.store.database import Database
from nps_engine.store.fact_query import OPTIONAL_FACTS
from nps_engine.store.models import Customer, Order, Response, Ticket
from nps_engine.store.response_feed import Feed
from nps_engine.store.segment_conditions import SegmentSql

USUAL_DAYS = 20.0  # the store's usual gap between orders: turns on churn risk's "went quiet"
BUILT_IN = ("support_contacted", "returned", "churn_risk")


def seed_mixed_store(database: Database, store: str, seed: int = 3) -> None:
    rng = random.Random(seed)
    order_id, ticket_id = 1000, 5000
    with database.session() as session:
        for customer in range(1, 61):
            email = f"c{customer}@example.com"
            orders = rng.randint(0, 4)
            session.add(
                Customer(store=store, id=customer, email=email, orders_count=orders,
                         total_spent=rng.choice((0, 40, 600)), tags=rng.choice(([], ["VIP"])),
                         country=rng.choice(("fr", "US", None)))
            )  # fmt: skip
            placed = []
            for _ in range(orders):
                order_id += 1
                at = NOW - timedelta(days=rng.randint(1, 200), minutes=rng.randint(0, 999))
                cancelled = at + timedelta(hours=1) if rng.random() < 0.15 else None
                session.add(
                    Order(store=store, id=order_id, name=f"#{order_id}", customer_id=customer,
                          created_at=at, updated_at=at, cancelled_at=cancelled,
                          returned=rng.random() < 0.2, refunded=rng.random() < 0.1)
                )  # fmt: skip
                placed.append((order_id, at))
            for _ in range(rng.randint(0, 2)):
                ticket_id += 1
                at = NOW - timedelta(days=rng.randint(1, 200))
                session.add(
                    Ticket(store=store, id=ticket_id, customer_id=customer, status="open",
                           requester_email=email, created_at=at, updated_at=at)
                )  # fmt: skip
            for surveyed, ordered_at in placed[: rng.randint(0, len(placed))]:
                at = ordered_at + timedelta(days=rng.randint(1, 30))
                score = rng.randint(0, 10)
                followup = ticket_id if score <= 6 and rng.random() < 0.5 else None
                session.add(
                    Response(store=store, source="survey", kind="transactional",
                             customer_id=customer, email=email, order_id=surveyed, score=score,
                             responded_at=at, updated_at=at, followup_ticket_id=followup)
                )  # fmt: skip
        for guest in range(1, 11):  # imported answers of people who never were customers
            at = NOW - timedelta(days=guest * 7)
            email = f"guest{guest}@example.com"
            ticket_id += 1
            session.add(
                Ticket(store=store, id=ticket_id, status="solved", requester_email=email,
                       created_at=at - timedelta(days=guest * 5), updated_at=at)
            )  # fmt: skip
            session.add(
                Response(store=store, source="import", kind="relationship", email=email,
                         score=guest % 11, responded_at=at, updated_at=at)
            )  # fmt: skip


def feeds(database: Database, store: str) -> tuple[Feed, Feed]:
    """The same feed read set by set, and through the report's fact query."""
    settings = SegmentSettings()
    segments = enabled_segments(settings, NOW, USUAL_DAYS)
    sql = SegmentSql(store, settings, NOW, USUAL_DAYS, database.engine.dialect.name)
    by_sets = Feed(database, store, "Europe/Paris", segments, NOW, 90, frozenset(), sql)
    return by_sets, replace(by_sets, optional=OPTIONAL_FACTS)


def test_segments_read_set_by_set_match_the_report_fact_query(
    database: Database, store_id: str
) -> None:
    seed_mixed_store(database, store_id)
    by_sets, by_facts = feeds(database, store_id)
    fast = {row.id: row.segments for row in by_sets.rows(ResponseFilters(), batch_size=17)}
    reference = {row.id: row.segments for row in by_facts.rows(ResponseFilters())}
    assert fast == reference
    for name in BUILT_IN:  # the store exercises every segment, in and out
        assert 0 < sum(name in segments for segments in fast.values()) < len(fast)


@pytest.mark.parametrize("segment", BUILT_IN)
def test_segment_filter_in_sql_pages_exactly_the_members(
    database: Database, store_id: str, segment: str
) -> None:
    seed_mixed_store(database, store_id)
    by_sets, _ = feeds(database, store_id)
    members = [row.id for row in by_sets.rows(ResponseFilters()) if segment in row.segments]
    paged, after = [], None
    while True:
        page = by_sets.page(ResponseFilters(segment=segment), after, limit=5)
        paged += [row.id for row in page.rows]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert paged == members
    exported = [row.id for row in by_sets.rows(ResponseFilters(segment=segment))]
    assert exported == members
