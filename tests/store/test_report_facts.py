"""What the report and the tag push read from the store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from nps_engine.records import SurveyKind
from nps_engine.report import Basis, Period, monthly_tallies
from nps_engine.segments import ResponseFacts
from nps_engine.statistics import Tally
from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Order, Response, Ticket
from nps_engine.store.report_facts import latest_facts_per_customer, load_report_inputs

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
PERIOD = Period(date(2026, 1, 1), date(2026, 5, 31), "Europe/Paris")
T = SurveyKind.TRANSACTIONAL


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


class Seeder:
    def __init__(self, database: Database, store: str) -> None:
        self.database, self.store = database, store
        self._ids = iter(range(1, 10_000))

    def add(self, *rows: Any) -> None:
        with self.database.session() as session:
            for row in rows:
                row.store = self.store
                session.add(row)

    def customer(self, id_: int, **fields: Any) -> None:
        self.add(Customer(id=id_, email=f"c{id_}@example.com", **fields))

    def order(self, customer_id: int | None, created: str, **fields: Any) -> int:
        order_id = next(self._ids)
        self.add(
            Order(
                id=order_id,
                name=f"#{order_id}",
                customer_id=customer_id,
                created_at=at(created),
                updated_at=at(created),
                **fields,
            )
        )
        return order_id

    def ticket(
        self,
        customer_id: int | None,
        created: str,
        status: str = "solved",
        email: str | None = None,
    ) -> None:
        self.add(
            Ticket(
                id=next(self._ids),
                customer_id=customer_id,
                requester_email=email,
                status=status,
                created_at=at(created),
                updated_at=at(created),
            )
        )

    def answer(
        self,
        customer_id: int | None,
        score: int,
        when: datetime,
        *,
        order_id: int | None = None,
        email: str | None = None,
        kind: SurveyKind = T,
    ) -> None:
        if email is None and customer_id is not None:
            email = f"c{customer_id}@example.com"
        self.add(
            Response(
                source="survey",
                kind=kind.value,
                customer_id=customer_id,
                email=email,
                order_id=order_id,
                score=score,
                responded_at=when,
                updated_at=when,
            )
        )


@pytest.fixture
def seed(database: Database, store_id: str) -> Seeder:
    return Seeder(database, store_id)


def load(seed: Seeder, basis: Basis = "customers", kind: SurveyKind = T) -> Any:
    return load_report_inputs(
        seed.database,
        seed.store,
        months=PERIOD.months(),
        kind=kind,
        basis=basis,
        now=NOW,
        support_window_days=90,
    )


def only(facts: list[ResponseFacts]) -> ResponseFacts:
    assert len(facts) == 1
    return facts[0]


def test_latest_answer_carries_the_customers_history(seed: Seeder) -> None:
    seed.customer(
        1, tags=["VIP", "Newsletter"], orders_count=4, total_spent=Decimal("310.50"), country="fr"
    )
    first = seed.order(1, "2025-11-02")
    surveyed = seed.order(1, "2026-02-01", returned=True)
    seed.order(1, "2026-04-01", cancelled_at=at("2026-04-02"))  # cancelled: not a repeat order
    seed.ticket(1, "2026-02-10")
    seed.ticket(1, "2026-02-20", status="open")
    seed.ticket(1, "2026-03-20")  # after the answer
    seed.answer(1, 9, at("2025-11-20"), order_id=first)  # before the period: still "previous"
    seed.answer(1, 5, at("2026-03-01"), order_id=surveyed)

    fact = only(load(seed).facts)

    assert (fact.customer_key, fact.customer_id, fact.score) == ("customer:1", 1, 5)
    assert fact.responded_at == at("2026-03-01")
    assert fact.previous_score == 9
    assert fact.score_drop == 4
    assert fact.returned
    assert fact.last_ticket_before_response_at == at("2026-02-20")
    assert fact.open_ticket
    assert fact.surveyed_order_at == at("2026-02-01")
    assert fact.next_order_after_surveyed_at is None
    assert fact.last_order_at == at("2026-02-01")
    assert fact.days_since_last_order == (NOW - at("2026-02-01")).days
    assert (fact.orders_count, fact.total_spent) == (4, Decimal("310.50"))
    assert (fact.tags, fact.country) == (frozenset({"vip", "newsletter"}), "FR")
    assert fact.as_of == NOW


def test_quiet_customer_has_empty_history(seed: Seeder) -> None:
    seed.customer(2)
    surveyed = seed.order(2, "2026-01-05", refunded=True)
    later = seed.order(2, "2026-04-05")
    seed.answer(2, 10, at("2026-01-20"), order_id=surveyed)
    fact = only(load(seed).facts)
    assert fact.previous_score is None
    assert fact.returned  # a refund counts as a return
    assert fact.last_ticket_before_response_at is None
    assert not fact.open_ticket
    assert fact.next_order_after_surveyed_at == at("2026-04-05")
    assert fact.last_order_at == at("2026-04-05")
    assert later


def test_customers_basis_keeps_each_customers_latest_answer_in_the_period(seed: Seeder) -> None:
    seed.customer(1)
    seed.answer(1, 3, at("2026-01-10"))
    seed.answer(1, 9, at("2026-04-10"))
    seed.answer(1, 0, at("2026-06-10"))  # after the period
    customers = load(seed, "customers").facts
    responses = load(seed, "responses").facts
    assert [(f.score, f.previous_score) for f in customers] == [(9, 3)]
    assert sorted((f.score, f.previous_score) for f in responses) == [(3, None), (9, 3)]


def test_answers_without_a_shopify_customer_are_grouped_by_email(seed: Seeder) -> None:
    seed.ticket(None, "2026-02-01", email="ann@example.com", status="pending")
    seed.answer(None, 4, at("2026-01-10"), email="ann@example.com")
    seed.answer(None, 8, at("2026-02-10"), email="ann@example.com")
    seed.answer(None, 10, at("2026-02-11"), email="bob@example.com")
    seed.answer(None, 7, at("2026-02-12"), email=None)
    seed.answer(None, 6, at("2026-02-13"), email=None)
    facts = {f.customer_key: f for f in load(seed).facts}
    assert set(facts) - {k for k in facts if k.startswith("response:")} == {
        "email:ann@example.com",
        "email:bob@example.com",
    }
    assert len([k for k in facts if k.startswith("response:")]) == 2
    ann = facts["email:ann@example.com"]
    assert (ann.score, ann.previous_score) == (8, 4)
    assert ann.last_ticket_before_response_at == at("2026-02-01")
    assert ann.open_ticket
    assert not facts["email:bob@example.com"].open_ticket


def test_relationship_and_transactional_answers_are_never_blended(seed: Seeder) -> None:
    seed.customer(1)
    seed.answer(1, 2, at("2026-02-10"), kind=SurveyKind.RELATIONSHIP)
    seed.answer(1, 9, at("2026-01-10"))
    transactional = only(load(seed).facts)
    relationship = only(load(seed, kind=SurveyKind.RELATIONSHIP).facts)
    assert (transactional.score, transactional.previous_score) == (9, None)
    assert (relationship.score, relationship.kind) == (2, SurveyKind.RELATIONSHIP)


def test_other_stores_answers_are_not_read(seed: Seeder, database: Database) -> None:
    other = Seeder(database, seed.store + "-other")
    other.customer(1)
    other.answer(1, 0, at("2026-02-10"))
    seed.customer(1)
    seed.answer(1, 10, at("2026-02-10"))
    assert only(load(seed).facts).score == 10


def test_months_are_cut_in_the_store_time_zone(seed: Seeder) -> None:
    seed.customer(1)
    seed.customer(2)
    # 31 January 23:30 UTC is 1 February 00:30 in Paris
    seed.answer(1, 10, datetime(2026, 1, 31, 23, 30, tzinfo=UTC))
    seed.answer(2, 0, datetime(2026, 1, 31, 22, 30, tzinfo=UTC))
    trend = load(seed).trend
    assert trend["2026-01"] == Tally(0, 0, 1)
    assert trend["2026-02"] == Tally(1, 0, 0)
    assert list(trend) == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]


def test_monthly_trend_matches_the_pure_rule_on_both_bases(seed: Seeder) -> None:
    seed.customer(1)
    seed.customer(2)
    seed.answer(1, 2, at("2026-03-02"))
    seed.answer(1, 9, at("2026-03-20"))  # same month: only this one on the customers basis
    seed.answer(1, 7, at("2026-04-02"))  # next month counts again
    seed.answer(2, 10, at("2026-03-05"))
    seed.answer(None, 5, at("2026-03-06"), email="ann@example.com")
    for basis in ("customers", "responses"):
        inputs = load(seed, basis)
        every_answer = load(seed, "responses").facts
        assert inputs.trend == monthly_tallies(every_answer, PERIOD.months(), basis)
    assert load(seed, "customers").trend["2026-03"] == Tally(2, 0, 1)
    assert load(seed, "responses").trend["2026-03"] == Tally(2, 0, 2)


def test_empty_store_gives_no_facts_and_empty_months(seed: Seeder) -> None:
    inputs = load(seed)
    assert inputs.facts == []
    assert set(inputs.trend.values()) == {Tally()}


def test_tag_push_reads_each_customers_latest_answer_at_any_time(seed: Seeder) -> None:
    seed.customer(1)
    seed.customer(2)
    seed.answer(1, 9, at("2024-01-10"))
    seed.answer(1, 4, at("2026-06-10"))
    seed.answer(2, 8, at("2023-05-01"))
    seed.answer(None, 0, at("2026-06-10"), email="nobody@example.com")  # no customer to tag
    facts = sorted(
        latest_facts_per_customer(seed.database, seed.store, NOW), key=lambda f: f.customer_id or 0
    )
    assert [(f.customer_id, f.score, f.previous_score) for f in facts] == [(1, 4, 9), (2, 8, None)]
    assert all(f.as_of == NOW for f in facts)


def test_support_window_is_bound_into_the_facts(seed: Seeder) -> None:
    seed.customer(1)
    seed.ticket(1, "2026-01-01")
    seed.answer(1, 8, at("2026-03-01"))
    narrow = load_report_inputs(
        seed.database,
        seed.store,
        months=PERIOD.months(),
        kind=T,
        basis="customers",
        now=NOW,
        support_window_days=30,
    )
    assert not only(narrow.facts).support_contacted
    assert only(load(seed).facts).support_contacted


def test_answer_at_the_period_edges(seed: Seeder) -> None:
    seed.customer(1)
    seed.customer(2)
    start = PERIOD.start  # 1 January 00:00 Paris = 31 December 23:00 UTC
    seed.answer(1, 9, start)
    seed.answer(2, 9, PERIOD.end - timedelta(microseconds=1))
    seed.answer(2, 0, PERIOD.end)
    assert sorted(f.customer_id or 0 for f in load(seed).facts) == [1, 2]
    assert {f.score for f in load(seed).facts} == {9}


def test_our_own_follow_up_ticket_is_not_the_customer_contacting_support(seed: Seeder) -> None:
    """After a detractor answer we open a follow-up ticket for them; at their next answer that
    ticket must not make them "customers who contacted support", nor count as their open ticket."""
    seed.customer(1)
    seed.add(
        Ticket(
            id=500,
            customer_id=1,
            status="open",
            created_at=at("2026-01-11"),
            updated_at=at("2026-01-11"),
        ),
        Response(
            source="survey",
            kind=T.value,
            customer_id=1,
            email="c1@example.com",
            score=2,
            responded_at=at("2026-01-10"),
            updated_at=at("2026-01-10"),
            followup_state="created",
            followup_ticket_id=500,
        ),
    )
    seed.answer(1, 6, at("2026-02-01"))
    fact = only(load(seed).facts)
    assert fact.score == 6
    assert fact.last_ticket_before_response_at is None
    assert not fact.open_ticket
    seed.ticket(1, "2026-01-20", status="open")  # the customer writing in themselves still counts
    fact = only(load(seed).facts)
    assert fact.last_ticket_before_response_at == at("2026-01-20")
    assert fact.open_ticket


def test_each_months_counted_answers_come_with_their_facts(seed: Seeder) -> None:
    """The segments' monthly trends need the facts of each month's counted answer, not only of
    the period's latest: the same answers, with the same facts, as the pure engine picks."""
    seed.customer(1)
    surveyed = seed.order(1, "2026-01-02", returned=True)
    seed.ticket(1, "2026-02-25")
    seed.answer(1, 2, at("2026-01-10"), order_id=surveyed)
    seed.answer(1, 4, at("2026-01-20"), order_id=surveyed)  # latest of January
    seed.answer(1, 9, at("2026-03-01"))  # latest of March and of the period
    seed.customer(2)
    seed.answer(2, 10, at("2026-03-05"))
    inputs = load(seed)
    january = only(inputs.month_facts["2026-01"])
    assert (january.score, january.previous_score, january.returned) == (4, 2, True)
    assert not january.support_contacted
    march = {f.customer_id: f for f in inputs.month_facts["2026-03"]}
    assert march[1].support_contacted  # the February ticket, within 90 days
    assert march[1].previous_score == 4
    assert inputs.month_facts["2026-02"] == []
    assert sorted(f.score for f in inputs.facts) == [9, 10]
    for label, facts in inputs.month_facts.items():
        assert Tally.of_scores(f.score for f in facts) == inputs.trend[label]
    responses = load(seed, "responses")
    assert sorted(f.score for f in responses.month_facts["2026-01"]) == [2, 4]


def test_usual_return_days_is_the_median_gap_of_repeat_customers(seed: Seeder) -> None:
    from nps_engine.store.order_habits import usual_return_days

    assert usual_return_days(seed.database, seed.store, NOW) is None
    seed.order(1, "2026-01-01")
    seed.order(1, "2026-01-11")  # 10 days
    seed.order(2, "2026-01-01")
    seed.order(2, "2026-01-31")
    seed.order(2, "2026-03-02")  # 30 days on average
    seed.order(3, "2026-01-01")
    seed.order(3, "2026-04-11", cancelled_at=at("2026-04-12"))  # cancelled: not a return
    seed.order(4, "2026-01-01")
    seed.order(4, "2026-05-01")  # 120 days
    seed.order(None, "2026-01-01")
    seed.order(5, "2026-06-01")
    seed.order(5, "2026-07-01")  # after now: not yet known
    assert usual_return_days(seed.database, seed.store, NOW) == pytest.approx(30.0)
    # The database hands back only the middle gap, or the two middle ones when their number is
    # even: 10, 20, 30, 120 -> (20 + 30) / 2, as statistics.median of them all.
    seed.order(6, "2026-02-01")
    seed.order(6, "2026-02-21")  # 20 days
    assert usual_return_days(seed.database, seed.store, NOW) == pytest.approx(25.0)


def test_period_tally_counts_the_span_in_the_database(seed: Seeder) -> None:
    from nps_engine.report import Month
    from nps_engine.store.report_facts import period_tally

    seed.answer(1, 2, at("2025-02-01"))
    seed.answer(1, 10, at("2025-03-01"))
    seed.answer(2, 8, at("2025-04-01"))
    seed.answer(3, 0, at("2026-02-01"))  # outside the span
    span = PERIOD.year_before()
    month = Month("year_before", span.start, span.end)
    customers = period_tally(seed.database, seed.store, span=month, kind=T, basis="customers")
    responses = period_tally(seed.database, seed.store, span=month, kind=T, basis="responses")
    assert customers == Tally(1, 1, 0)
    assert responses == Tally(1, 1, 1)


def test_facts_no_rule_reads_are_not_looked_up(seed: Seeder) -> None:
    """The previous score and an open ticket are read only by custom rules: without such a rule
    their subqueries do not run, and nothing the built-in segments read changes."""
    seed.customer(1)
    seed.ticket(1, "2026-02-20", status="open")
    seed.answer(1, 9, at("2026-01-20"))
    seed.answer(1, 5, at("2026-03-01"))
    everything = only(load(seed).facts)
    lean = only(
        load_report_inputs(
            seed.database,
            seed.store,
            months=PERIOD.months(),
            kind=T,
            basis="customers",
            now=NOW,
            support_window_days=90,
            optional=frozenset(),
        ).facts
    )
    assert (everything.previous_score, everything.open_ticket) == (9, True)
    assert (lean.previous_score, lean.open_ticket) == (None, False)
    assert lean.support_contacted == everything.support_contacted
    assert lean.last_ticket_before_response_at == everything.last_ticket_before_response_at
