"""The feed's segments, computed by the database with the report's conditions (``segment_sql``),
agree with the report's fact query tested in Python, answer for answer, on a store with repeat
buyers, cancelled and later orders, returns, tickets by customer and by email, and our own
follow-up tickets; and its segment filter pages exactly the members."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import false, null, select, true
from workspace_support import NOW

from nps_engine.config.settings import SegmentSettings
from nps_engine.records import SurveyKind
from nps_engine.response_filters import ResponseFilters
from nps_engine.segments import enabled_segments
from nps_engine.store.database import Database
from nps_engine.store.fact_query import OPTIONAL_FACTS, with_facts
from nps_engine.store.facts_reader import FactsReader
from nps_engine.store.models import Customer, Order, Response, Ticket
from nps_engine.store.response_feed import Feed

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


def feed_of(database: Database, store: str) -> Feed:
    return Feed(database, store, "Europe/Paris", SegmentSettings(), NOW, USUAL_DAYS)


def python_segments(database: Database, store: str) -> dict[int, tuple[str, ...]]:
    """Each answer's segments from the report's fact query (``fact_query.with_facts``), each
    segment's rule tested in Python."""
    segments = enabled_segments(SegmentSettings(), NOW, USUAL_DAYS)
    r = Response.__table__.c
    found: dict[int, tuple[str, ...]] = {}
    with database.engine.connect() as connection:
        for kind in SurveyKind:
            answers = (
                select(
                    r.id, r.customer_id, r.email, r.order_id, r.score, r.responded_at,
                    null().label("month"), true().label("chosen"), false().label("month_latest"),
                )
                .where(r.store == store, r.kind == kind.value)
                .subquery("answers")
            )  # fmt: skip
            result = connection.execute(with_facts(store, kind, answers, OPTIONAL_FACTS))
            reader = FactsReader(kind, NOW, 90, list(result.keys()))
            for row in result:
                facts = reader.facts(row)
                found[facts.response_id] = tuple(s.name for s in segments if s.matches(facts))
    return found


def test_segments_computed_in_sql_match_the_report_fact_query(
    database: Database, store_id: str
) -> None:
    seed_mixed_store(database, store_id)
    in_sql = {row.id: row.segments for row in feed_of(database, store_id).rows(ResponseFilters())}
    assert in_sql == python_segments(database, store_id)
    for name in BUILT_IN:  # the store exercises every segment, in and out
        assert 0 < sum(name in segments for segments in in_sql.values()) < len(in_sql)


@pytest.mark.parametrize("segment", BUILT_IN)
def test_segment_filter_in_sql_pages_exactly_the_members(
    database: Database, store_id: str, segment: str
) -> None:
    seed_mixed_store(database, store_id)
    feed = feed_of(database, store_id)
    members = [row.id for row in feed.rows(ResponseFilters()) if segment in row.segments]
    paged, after = [], None
    while True:
        page = feed.page(ResponseFilters(segment=segment), after, limit=5)
        paged += [row.id for row in page.rows]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert paged == members
    exported = [row.id for row in feed.rows(ResponseFilters(segment=segment))]
    assert exported == members
