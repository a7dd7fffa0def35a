"""The report's tallies counted in SQL equal those of the Python engine (every counted answer read
with its facts and tested segment by segment), on a generated store with every kind of segment,
on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert

from nps_engine.answer_counts import Tallies, tally_answers
from nps_engine.config import Settings
from nps_engine.config.loading import parse_settings
from nps_engine.records import SurveyKind
from nps_engine.report import Basis, Period
from nps_engine.segments import enabled_segments, optional_facts
from nps_engine.statistics import Tally
from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Order, Response, Ticket
from nps_engine.store.order_habits import usual_return_days
from nps_engine.store.report_facts import load_report_inputs
from nps_engine.store.report_tallies import ReportQuestion, count_report
from nps_engine.store.segment_sql import AnswerFacts, facts_needed, segment_conditions

NOW = datetime(2026, 6, 15, 12, 30, 15, 250_000, tzinfo=UTC)
PERIOD = Period(date(2026, 1, 1), date(2026, 5, 31), "Europe/Paris")
TAGS = (
    ["VIP"],
    [" vip ", "newsletter"],
    [],
    ["Wholesale"],
    None,
    ["newsletter"],
    {"not": "a list"},
)

# One custom segment per feature and operator (and nestings), on top of the three built-in ones.
CUSTOM: list[dict[str, Any]] = [
    {"name": "vip", "rule": {"tag": "vip"}},
    {"name": "not_vip_nor_wholesale", "rule": {"tag": {"not_in": ["VIP", "wholesale"]}}},
    {"name": "not_newsletter", "rule": {"tag": {"ne": "newsletter"}}},
    {"name": "french", "rule": {"country": {"in": ["fr", "BE"]}}},
    {"name": "not_us", "rule": {"country": {"ne": "US"}}},
    {"name": "big_spenders", "rule": {"total_spent": {"gte": "500.50"}}},
    {"name": "small_spenders", "rule": {"total_spent": {"lt": 100}}},
    {"name": "repeat", "rule": {"orders_count": {"gt": 3}}},
    {"name": "few_orders", "rule": {"orders_count": {"in": [0, 1]}}},
    {"name": "quiet", "rule": {"days_since_last_order": {"gt": 60}}},
    {"name": "quiet_30", "rule": {"days_since_last_order": {"eq": 30}}},
    {"name": "not_quiet_30", "rule": {"days_since_last_order": {"ne": 30}}},
    {"name": "recent", "rule": {"days_since_last_order": {"lte": 20, "gte": 3}}},
    {"name": "very_recent", "rule": {"days_since_last_order": {"lt": 10}}},
    {"name": "quiet_listed", "rule": {"days_since_last_order": {"not_in": [5, 40]}}},
    {"name": "dropped", "rule": {"score_drop": {"gte": 3}}},
    {"name": "no_drop", "rule": {"score_drop": {"ne": 0}}},
    {"name": "open_ticket", "rule": {"open_ticket": True}},
    {"name": "no_support", "rule": {"support_contacted": False}},
    {"name": "returned_too", "rule": {"returned": {"ne": False}}},
    {"name": "detractors", "rule": {"category": "Detractor"}},
    {"name": "not_promoters", "rule": {"category": {"not_in": ["promoter"]}}},
    {"name": "scores", "rule": {"score": {"in": [0, 7, 8]}, "category": {"ne": "promoter"}}},
    {
        "name": "nested",
        "rule": {
            "any": [
                {"all": [{"tag": "vip"}, {"returned": True}]},
                {"orders_count": {"lte": 2}, "country": "DE"},
            ]
        },
    },
    {"name": "plan_pro", "rule": {"property": {"plan": "pro"}}},  # counted in Python
]


def settings_for(database: Database, store: str, **segments: Any) -> Settings:
    raw = {
        "store": {"id": store},
        "database": {"url": database.url},
        "segments": {"custom": CUSTOM, **segments},
    }
    return parse_settings(raw, {})[0]


def moment(rng: random.Random, start: datetime, days: float) -> datetime:
    return start + timedelta(days=rng.uniform(0, days), microseconds=rng.randrange(1_000_000))


def generate(database: Database, store: str, seed: int = 5) -> None:
    """A store of 150 customers, their orders, tickets and about 900 answers of both kinds, with
    answers and tickets sitting on the boundaries the segments test (months, support window,
    whole days since the last order)."""
    rng = random.Random(seed)
    start = datetime(2025, 11, 1, tzinfo=UTC)
    customers, orders, tickets, answers = [], [], [], []
    for i in range(1, 151):
        customers.append(
            {
                "store": store,
                "id": i,
                "email": f"c{i}@example.com",
                "country": rng.choice(["FR", "be", "US", None, "DE", ""]),
                "tags": rng.choice(TAGS),
                "orders_count": rng.choice([0, 1, 2, 4]),
                "total_spent": rng.choice(
                    [
                        Decimal("0"),
                        Decimal("500.50"),
                        Decimal("99.99"),
                        Decimal("500.49"),
                        Decimal("1200"),
                    ]
                ),
            }
        )
    customer_ids = [*range(1, 151), 999]  # 999 answered but is not in customers
    for n in range(400):
        customer = rng.choice(customer_ids)
        # some exactly a whole number of days before now (and a microsecond either side)
        days_ago = timedelta(
            days=rng.choice([5, 10, 20, 30, 31, 60, 61]), microseconds=rng.choice([-1, 0, 1])
        )
        created = rng.choice([moment(rng, start, 200), NOW - days_ago])
        orders.append(
            {
                "store": store,
                "id": n + 1,
                "name": f"#{n + 1}",
                "customer_id": customer,
                "created_at": created,
                "updated_at": created,
                "cancelled_at": created if rng.random() < 0.1 else None,
                "returned": rng.random() < 0.2,
                "refunded": rng.random() < 0.1,
            }
        )
    for n in range(900):
        who = rng.random()
        customer = rng.choice(customer_ids) if who < 0.85 else None
        email = (
            f"c{customer}@example.com"
            if customer
            else (f"x{n % 40}@example.com" if who < 0.95 else None)
        )
        at = moment(rng, start, 225)
        if n % 17 == 0:  # on a month boundary of Paris, and right after
            at = datetime(2026, 2, 28, 23, 0, tzinfo=UTC) + timedelta(microseconds=n % 2)
        kind = "relationship" if n % 9 == 0 else "transactional"
        answers.append(
            {
                "store": store,
                "source": "survey",
                "kind": kind,
                "customer_id": customer,
                "email": email,
                "order_id": rng.choice([None, rng.randrange(1, 420)]),
                "score": rng.randrange(11),
                "responded_at": at,
                "updated_at": at,
                "followup_ticket_id": 5000 + n if n % 23 == 0 else None,
                "properties": rng.choice([None, {"Plan": " PRO "}, {"plan": "basic"}]),
            }
        )
    for n in range(500):
        answer = rng.choice(answers)
        opened = answer["responded_at"] - rng.choice(
            [
                timedelta(days=90),
                timedelta(days=90, microseconds=1),
                timedelta(days=rng.uniform(0, 120)),
            ]
        )
        ticket_id = 5000 + n if n % 7 == 0 else 10_000 + n  # some are our own follow-ups
        tickets.append(
            {
                "store": store,
                "id": ticket_id,
                "customer_id": answer["customer_id"],
                "requester_email": answer["email"],
                "created_at": opened,
                "updated_at": opened,
                "status": rng.choice(["solved", "open", "closed", "pending"]),
                "tags": [],
            }
        )
    with database.engine.begin() as connection:
        connection.execute(insert(Customer), customers)
        connection.execute(insert(Order), orders)
        connection.execute(insert(Response), answers)
        connection.execute(insert(Ticket), tickets)
    if database.dialect == "postgresql":  # as autovacuum would: plans from real statistics
        with database.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def engine_tallies(
    database: Database, settings: Settings, question: ReportQuestion
) -> tuple[Tallies, dict[str, Tally]]:
    """Today's Python engine: every counted answer's facts, each segment tested in Python."""
    inputs = load_report_inputs(
        database,
        question.store,
        months=question.period.months(),
        kind=question.kind,
        basis=question.basis,
        now=question.now,
        support_window_days=question.support_window_days,
        optional=optional_facts(settings.segments),
    )
    segments = enabled_segments(settings.segments, question.now, question.usual_return_days)
    tallies = tally_answers(
        inputs.facts,
        basis=question.basis,
        kind=question.kind,
        period=question.period,
        segments=segments,
        month_facts=inputs.month_facts,
    )
    return tallies, inputs.trend


def question_of(
    settings: Settings, kind: SurveyKind, basis: Basis, usual: float | None
) -> ReportQuestion:
    return ReportQuestion(
        store=settings.store.id,
        period=PERIOD,
        kind=kind,
        basis=basis,
        now=NOW,
        choices=settings.segments,
        support_window_days=settings.segments.support_contacted.window_days,
        usual_return_days=usual,
    )


def test_sql_tallies_equal_the_python_engine_for_every_segment(
    database: Database, store_id: str
) -> None:
    generate(database, store_id)
    settings = settings_for(database, store_id)
    # a short usual gap between orders: every part of the churn-risk rule is in play
    question = question_of(settings, SurveyKind.TRANSACTIONAL, "customers", 12.5)
    tallies, trend = count_report(database, question)
    assert (tallies, trend) == engine_tallies(database, settings, question)
    assert tallies.overall.n > 50
    assert all(0 < segment.n < tallies.overall.n for segment in tallies.segments)
    assert set(trend) == {month.label for month in PERIOD.months()}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(SurveyKind))
@pytest.mark.parametrize("basis", ["customers", "responses"])
def test_sql_tallies_equal_the_python_engine_on_every_basis_kind_and_habit(
    database: Database, store_id: str, kind: SurveyKind, basis: Basis
) -> None:
    generate(database, store_id)
    settings = settings_for(database, store_id)
    measured = usual_return_days(database, store_id, NOW)
    # the store's own habits, none yet, a short usual gap (quiet customers) and a long one
    for usual in (measured, None, 12.5, 400.0):
        question = question_of(settings, kind, basis, usual)
        assert count_report(database, question) == engine_tallies(database, settings, question)


def test_sql_tallies_follow_the_support_window_and_switched_off_segments(
    database: Database, store_id: str
) -> None:
    generate(database, store_id, seed=11)
    settings = settings_for(
        database, store_id, support_contacted={"window_days": 30}, returned={"enabled": False}
    )
    question = question_of(settings, SurveyKind.TRANSACTIONAL, "customers", 20.0)
    assert count_report(database, question) == engine_tallies(database, settings, question)


def test_only_property_rules_are_left_to_python(database: Database, store_id: str) -> None:
    settings = settings_for(database, store_id)
    question = question_of(settings, SurveyKind.TRANSACTIONAL, "customers", None)
    from nps_engine.store.fact_query import period_answers

    answers = period_answers(store_id, question.kind, PERIOD.months(), "customers").subquery()
    dialect = database.engine.dialect.name
    needs = facts_needed(settings.segments, None)
    facts = AnswerFacts.of_report(
        store_id, question.kind, answers, dialect, needs=needs, support_window_days=90
    )
    conditions = segment_conditions(settings.segments, facts, NOW, None)
    names = [s.name for s in enabled_segments(settings.segments, NOW)]
    assert [name for name, c in zip(names, conditions, strict=True) if c is None] == ["plan_pro"]


def test_no_repeat_order_is_told_from_the_latest_order(database: Database, store_id: str) -> None:
    """Churn risk's "no order after the surveyed one" alone (no returns, tickets or second
    order): SQL reads it from the customer's latest order, Python from the first order after
    the surveyed one; cancelled orders and an order at the very same instant count for
    neither."""
    old, recent = NOW - timedelta(days=200), NOW - timedelta(days=10)
    answered = datetime(2026, 5, 10, tzinfo=UTC)
    # customer: (the surveyed order's time or None, other orders as (time, cancelled), churn?)
    cases: dict[int, tuple[datetime | None, list[tuple[datetime, bool]], bool]] = {
        1: (old, [], True),
        2: (old, [(old + timedelta(days=100), False)], False),
        3: (old, [(old + timedelta(days=100), True)], True),
        4: (old, [(old, False)], True),
        5: (old, [(old - timedelta(days=5), False)], True),
        6: (None, [(old, False)], True),
        7: (None, [(recent, False)], False),
        8: (recent, [], False),
    }
    # told apart in the tally: customers 2 and 6 swapping places would leave all-9 scores equal
    scores = {2: 8, 6: 3}
    customers, orders, answers = [], [], []
    for customer, (surveyed_at, others, _) in cases.items():
        customers.append({"store": store_id, "id": customer, "orders_count": 1})
        placed = [(surveyed_at, False)] if surveyed_at else []
        for n, (at, cancelled) in enumerate([*placed, *others]):
            orders.append(
                {"store": store_id, "id": customer * 10 + n, "name": f"#{customer}{n}",
                 "customer_id": customer, "created_at": at, "updated_at": at,
                 "cancelled_at": at if cancelled else None, "refunded": False,
                 "returned": False, "total_price": Decimal("10")}
            )  # fmt: skip
        answers.append(
            {"store": store_id, "source": "survey", "kind": "transactional",
             "customer_id": customer, "order_id": customer * 10 if surveyed_at else None,
             "score": scores.get(customer, 9), "responded_at": answered, "updated_at": answered}
        )  # fmt: skip
    churn_n = _churn_risk_counted(database, store_id, (customers, orders, answers), 12.5)
    assert churn_n == sum(at_risk for *_, at_risk in cases.values())


def test_a_repeat_buyer_gone_quiet_is_at_risk_to_the_microsecond(
    database: Database, store_id: str
) -> None:
    """With a usual gap of 200 days (not shorter than no_repeat_days, 180: "no order after the
    surveyed one" is not in play), a repeat buyer is at risk when whole days since the last order
    exceed 400; a one-time buyer with an older order is not: the last order is looked up only
    for the answers it can move into the segment."""
    answered = datetime(2026, 5, 10, tzinfo=UTC)
    # customer: (orders_count, the last order's time)
    cases = {
        1: (2, NOW - timedelta(days=401)),
        2: (2, NOW - timedelta(days=401, microseconds=-1)),
        3: (1, NOW - timedelta(days=500)),
    }
    customers, orders, answers = [], [], []
    for customer, (count, last) in cases.items():
        customers.append({"store": store_id, "id": customer, "orders_count": count})
        orders.append(
            {"store": store_id, "id": customer * 10, "name": f"#{customer}0",
             "customer_id": customer, "created_at": last, "updated_at": last,
             "refunded": False, "returned": False, "total_price": Decimal("10")}
        )  # fmt: skip
        answers.append(
            {"store": store_id, "source": "survey", "kind": "transactional",
             "customer_id": customer, "order_id": customer * 10,
             "score": 9, "responded_at": answered, "updated_at": answered}
        )  # fmt: skip
    assert _churn_risk_counted(database, store_id, (customers, orders, answers), 200.0) == 1


def _churn_risk_counted(
    database: Database,
    store_id: str,
    rows: tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]],
    usual_gap: float,
) -> int:
    """Stores the customers, orders and answers, counts the report under ``usual_gap`` (days
    between orders), checks the SQL tallies equal the Python engine's, and returns how many
    answers the churn-risk segment holds."""
    customers, orders, answers = rows
    with database.engine.begin() as connection:
        connection.execute(insert(Customer), customers)
        connection.execute(insert(Order), orders)
        connection.execute(insert(Response), answers)
    settings = settings_for(database, store_id, custom=[])
    question = question_of(settings, SurveyKind.TRANSACTIONAL, "customers", usual_gap)
    tallies, trend = count_report(database, question)
    assert (tallies, trend) == engine_tallies(database, settings, question)
    names = [s.name for s in enabled_segments(settings.segments, NOW, usual_gap)]
    return tallies.segments[names.index("churn_risk")].n
