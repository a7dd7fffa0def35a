"""The one report pipeline: counted in the database, in one process, whatever the store's size."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from jobs import report_job
from nps_engine.config import Settings
from nps_engine.config.loading import parse_settings
from nps_engine.report import Period
from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Response, Ticket

NOW = datetime(2026, 6, 15, tzinfo=UTC)
PERIOD = Period(date(2026, 1, 1), date(2026, 5, 31), "UTC")


def test_report_counts_each_customer_once_and_the_segments_they_are_in(
    database: Database, store_id: str
) -> None:
    settings = _answered(database, store_id, 60)
    report = report_job.store_report(database, settings, PERIOD, now=NOW)
    assert report.overall.n == 60
    assert report.segments[0].figure.n == 20  # support_contacted


def test_churn_risk_segment_keeps_its_members_when_only_scores_change(
    database: Database, store_id: str
) -> None:
    """The segment the report compares must not be defined by the score it is compared on."""
    from sqlalchemy import update

    from nps_engine.store.models import Order

    settings = parse_settings({"store": {"id": store_id}, "database": {"url": database.url}}, {})[0]
    with database.session() as session:
        for i in range(1, 41):
            answered = datetime(2026, 1 + i % 5, 10, tzinfo=UTC)
            first = answered - timedelta(days=300 if i % 4 == 0 else 20)
            session.add(Customer(store=store_id, id=i, email=f"c{i}@example.com", orders_count=2))
            session.add(Order(store=store_id, id=1000 + i, name=f"#{1000 + i}", customer_id=i,
                              created_at=first, updated_at=first, returned=i % 7 == 0))  # fmt: skip
            if i % 2 == 0:  # repeat customers who came back within 30 days
                again = first + timedelta(days=30)
                session.add(Order(store=store_id, id=2000 + i, name=f"#{2000 + i}",
                                  customer_id=i, created_at=again, updated_at=again))  # fmt: skip
            session.add(
                Response(
                    store=store_id,
                    source="survey",
                    kind="transactional",
                    customer_id=i,
                    email=f"c{i}@example.com",
                    order_id=1000 + i,
                    score=i % 11,
                    responded_at=answered,
                    updated_at=answered,
                )
            )

    def churn() -> tuple[int, tuple[int, ...]]:
        report = report_job.store_report(database, settings, PERIOD, now=NOW)
        [segment] = [s for s in report.segments if s.name == "churn_risk"]
        return segment.figure.n, tuple(point.segment.n for point in segment.trend)

    before = churn()
    assert 0 < before[0] < 40
    with database.session() as session:
        session.execute(
            update(Response).where(Response.store == store_id).values(score=10 - Response.score)
        )
    assert churn() == before


def test_what_they_said_read_beside_the_tallies_is_what_with_said_adds(
    database: Database, store_id: str
) -> None:
    settings = _answered(database, store_id, 30, comments=True)
    counted = report_job.store_report(database, settings, PERIOD, now=NOW)
    assert counted.said is None
    together = report_job.store_report(database, settings, PERIOD, now=NOW, said=True)
    afterwards = report_job.with_said(counted, settings, database, NOW)
    assert together == afterwards
    assert together.said is not None
    assert together.said.groups[0].comments == 15
    support = [group for group in together.said.groups if group.name == "support_contacted"]
    assert support[0].comments == 5  # the odd multiples of 3 up to 30


def test_on_sqlite_every_query_runs_on_the_calling_thread(
    database: Database, store_id: str
) -> None:
    """SQLite's queries in threads of one process queue on its memory-statistics mutex and
    took longer than one after the other (see ``store_report``); PostgreSQL's run at once."""
    from threading import get_ident

    from sqlalchemy import event

    settings = _answered(database, store_id, 10, comments=True)
    threads: set[int] = set()

    def seen(*_: object) -> None:
        threads.add(get_ident())

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        report = report_job.store_report(database, settings, PERIOD, now=NOW, said=True)
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)
    assert report.overall.n == 10
    assert report.said is not None
    if database.dialect == "sqlite":
        assert threads == {get_ident()}
    else:
        assert len(threads) > 1


def _answered(
    database: Database, store_id: str, customers: int, *, comments: bool = False
) -> Settings:
    """The store's settings, with one answer from each of ``customers`` customers over five
    months (score ``i % 11``; a comment from every other one with ``comments``), and a ticket
    four days before the answer from every third."""
    settings = parse_settings({"store": {"id": store_id}, "database": {"url": database.url}}, {})[0]
    with database.session() as session:
        for i in range(1, customers + 1):
            answered = datetime(2026, 1 + i % 5, 10, i % 24, tzinfo=UTC)
            session.add(Customer(store=store_id, id=i, email=f"c{i}@example.com"))
            session.add(Response(store=store_id, source="survey", kind="transactional",
                                 customer_id=i, email=f"c{i}@example.com", score=i % 11,
                                 comment=f"comment {i}" if comments and i % 2 else None,
                                 responded_at=answered, updated_at=answered))  # fmt: skip
            if i % 3 == 0:
                opened = answered - timedelta(days=4)
                session.add(Ticket(store=store_id, id=i, customer_id=i, status="solved",
                                   created_at=opened, updated_at=opened))  # fmt: skip
    return settings
