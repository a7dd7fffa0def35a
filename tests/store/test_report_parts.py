"""The report counted in parts gives the numbers of the whole: the period by ranges of customers
on connections of their own, and a span's tally (the year before) grouped rather than windowed
on SQLite; on the generated store of ``test_report_tallies`` (answers without a customer, by
email or alone, and one customer's answers at the very same instant)."""

from __future__ import annotations

import statistics
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import insert
from test_report_tallies import NOW, PERIOD, engine_tallies, generate, question_of, settings_for

from nps_engine.records import SurveyKind
from nps_engine.report import Basis, Month
from nps_engine.statistics import Tally
from nps_engine.store.customer_ranges import customer_ranges
from nps_engine.store.database import Database
from nps_engine.store.models import Order, Response
from nps_engine.store.order_habits import _gaps_query, usual_return_days
from nps_engine.store.report_facts import period_tally
from nps_engine.store.report_tallies import count_report


@pytest.mark.parametrize("basis", ["customers", "responses"])
def test_tallies_counted_by_customer_range_add_up_to_the_whole(
    database: Database, store_id: str, basis: Basis
) -> None:
    generate(database, store_id)
    settings = settings_for(database, store_id)
    question = question_of(settings, SurveyKind.TRANSACTIONAL, basis, 12.5)
    ranges = customer_ranges(database, store_id, 3)
    assert len(ranges) == 3
    assert (ranges[0][0], ranges[-1][1]) == (None, None)  # no customer left out
    assert all(end == start for (_, end), (start, _) in pairwise(ranges))
    with ThreadPoolExecutor(max_workers=3) as pool:
        split = count_report(database, question, ranges=ranges, pool=pool)
    # a range of one customer between two, one after the other on this thread
    lonely = count_report(database, question, ranges=((None, 40), (40, 41), (41, None)))
    assert split == lonely == engine_tallies(database, settings, question)


def test_one_range_when_asked_for_one(database: Database, store_id: str) -> None:
    generate(database, store_id)
    assert customer_ranges(database, store_id, 1) == ((None, None),)


@pytest.mark.parametrize("kind", list(SurveyKind))
@pytest.mark.parametrize("basis", ["customers", "responses"])
def test_a_span_tally_is_the_overall_tally_of_the_same_dates(
    database: Database, store_id: str, kind: SurveyKind, basis: Basis
) -> None:
    generate(database, store_id)
    settings = settings_for(database, store_id)
    tallies, _ = count_report(database, question_of(settings, kind, basis, 12.5))
    months = PERIOD.months()
    span = Month("span", months[0].start, months[-1].end)
    assert period_tally(database, store_id, span=span, kind=kind, basis=basis) == tallies.overall


def test_a_span_tally_takes_the_answer_stored_last_of_two_at_the_same_instant(
    database: Database, store_id: str
) -> None:
    at = datetime(2026, 2, 10, 9, 30, tzinfo=UTC)
    later = at + timedelta(microseconds=1)
    # (customer, email, score, time), stored in this order: ids rise down the list
    answers = [
        (1, None, 0, at), (1, None, 9, at),  # the promoter is the later of the two
        (2, None, 9, at), (2, None, 0, at),  # the detractor is
        (3, None, 10, later), (3, None, 3, at),  # the earlier time stored last: not it
        (None, "x@example.com", 2, at), (None, "x@example.com", 8, at),  # the passive
    ]  # fmt: skip
    with database.engine.begin() as connection:
        connection.execute(
            insert(Response),
            [
                {"store": store_id, "source": "survey", "kind": "transactional",
                 "customer_id": customer, "email": email, "score": score,
                 "responded_at": moment, "updated_at": moment}
                for customer, email, score, moment in answers
            ],
        )  # fmt: skip
    months = PERIOD.months()
    span = Month("span", months[0].start, months[-1].end)
    tally = period_tally(
        database, store_id, span=span, kind=SurveyKind.TRANSACTIONAL, basis="customers"
    )
    assert tally == Tally(promoters=2, passives=1, detractors=1)


def test_the_usual_gap_is_the_median_of_every_repeat_customers_gap(
    database: Database, store_id: str
) -> None:
    """On PostgreSQL the database hands back only the middle gaps; the median is the same as
    that of every gap read whole."""
    generate(database, store_id)
    usual = usual_return_days(database, store_id, NOW)
    with database.engine.connect() as connection:
        gaps = _gaps_query(store_id, NOW, database.dialect)
        every = [float(gap) for gap in connection.execute(gaps).scalars()]
    assert len(every) > 2
    assert usual == pytest.approx(statistics.median(every), abs=1e-9)


def test_the_usual_gap_of_an_even_count_is_between_the_two_middle_ones(
    database: Database, store_id: str
) -> None:
    """Two repeat customers, 10 and 30 days between their orders: the usual gap is 20."""
    first = datetime(2025, 1, 1, tzinfo=UTC)
    with database.session() as session:
        for customer, days in ((1, 10), (2, 30)):
            for number, at in enumerate((first, first + timedelta(days=days))):
                session.add(
                    Order(store=store_id, id=customer * 10 + number, name=f"#{customer}{number}",
                          customer_id=customer, created_at=at, updated_at=at)
                )  # fmt: skip
    assert usual_return_days(database, store_id, NOW) == pytest.approx(20.0)
