"""THE report pipeline: one store's report from the store, used by ``nps report``, the
scheduler's report file step, ``nps demo`` and the dashboard to come.

:func:`store_report` takes the database, the store's settings, the period, the survey kind, the
basis and the options, and returns the :class:`Report` value every renderer draws. Inside:

1. the store's usual gap between orders (for the behavioural churn-risk segment) and the tally of
   the same dates a year earlier are counted in SQL (a few numbers come back);
2. the period's answers are read with their facts (``load_report_inputs``) and counted;
3. ``report_from_tallies`` adds the intervals, tests, Holm adjustment, trends and changes.

A big store is counted in parts, one process per core: customers split into disjoint shares give
tallies that simply add up (:class:`nps_engine.report.Tallies`), so each share is read and counted
by its own forked process and only the counts come back. Small stores are counted in-process (a
fork costs more than it saves). Forked, not spawned, so the children start with the modules
already imported; the parent's connections are closed first, as a forked process must never
share a connection with its parent.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime
from multiprocessing import get_all_start_methods, get_context
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from nps_engine.answer_counts import tally_answers
from nps_engine.config import Settings
from nps_engine.records import SurveyKind
from nps_engine.report import (
    Basis,
    Method,
    Month,
    Period,
    Report,
    ReportOptions,
    Tallies,
    default_period,
    report_from_tallies,
)
from nps_engine.response_filters import ResponseFilters
from nps_engine.segments import enabled_segments, optional_facts
from nps_engine.statistics import Tally
from nps_engine.store.database import Database
from nps_engine.store.models import Response
from nps_engine.store.order_habits import usual_return_days
from nps_engine.store.report_facts import load_report_inputs, period_tally
from nps_engine.store.said_comments import said_comments

# Answers in the period from which the report is counted in parallel. A fork costs tens of
# milliseconds; at 50,000 answers two processes already take 0.55 s instead of 0.9 s
# (bench/report.py --responses 150000 --customers 45000, 2-core VM).
PARALLEL_FROM = 50_000


def report_period(
    settings: Settings, now: datetime, since: date | None = None, until: date | None = None
) -> Period:
    """``since``..``until`` in the store's time zone; by default the last ``report.months``."""
    timezone = settings.store.timezone
    last_day = until or now.astimezone(ZoneInfo(timezone)).date()
    first_day = since or default_period(last_day, settings.report.months, timezone).since
    return Period(first_day, last_day, timezone)


def report_options(settings: Settings, method: Method = "adjusted-wald") -> ReportOptions:
    """The options the configuration sets (``report.min_compare_n``, ``report.window_months``)."""
    report = settings.report
    return ReportOptions(report.min_compare_n, report.window_months, method)


def store_report(
    database: Database,
    settings: Settings,
    period: Period,
    *,
    now: datetime,
    kind: SurveyKind = SurveyKind.TRANSACTIONAL,
    basis: Basis | None = None,
    options: ReportOptions | None = None,
    processes: int | None = None,
) -> Report:
    """The store's report for ``period`` (``basis`` defaults to ``report.basis``, ``options`` to
    :func:`report_options`), counted by up to ``processes`` processes (default: one per core)."""
    chosen: Basis = basis or settings.report.basis
    store = settings.store.id
    usual = usual_return_days(database, store, now)
    earlier = period.year_before()
    year_before = period_tally(
        database,
        store,
        span=Month("year_before", earlier.start, earlier.end),
        kind=kind,
        basis=chosen,
    )
    share = _Share(settings, period, kind, chosen, now, usual, (0, 1))
    tallies, trend = _count_in_parts(database, share, processes)
    return report_from_tallies(
        tallies,
        store=store,
        basis=chosen,
        kind=kind,
        period=period,
        segments=enabled_segments(settings.segments, now, usual),
        trend=trend,
        options=options or report_options(settings),
        year_before=year_before,
    )


@dataclass(frozen=True, slots=True)
class _Share:
    settings: Settings
    period: Period
    kind: SurveyKind
    basis: Basis
    now: datetime
    usual_return_days: float | None
    part: tuple[int, int]


def _count_in_parts(
    database: Database, share: _Share, processes: int | None
) -> tuple[Tallies, dict[str, Tally]]:
    parts = max(1, processes or os.cpu_count() or 1)
    if "fork" not in get_all_start_methods():  # Windows: count in-process
        parts = 1
    store = share.settings.store.id
    if parts > 1 and _answers_in(database, store, share.period, share.kind) < PARALLEL_FROM:
        parts = 1
    if parts == 1:
        return _count(share, database)
    shares = [
        _Share(share.settings, share.period, share.kind, share.basis, share.now,
               share.usual_return_days, (k, parts))
        for k in range(parts)
    ]  # fmt: skip
    database.dispose()
    with ProcessPoolExecutor(parts, mp_context=get_context("fork")) as pool:
        counts = list(pool.map(_count_apart, shares, [database.url] * parts))
    tallies, trend = counts[0][0], dict(counts[0][1])
    for more_tallies, more_trend in counts[1:]:
        tallies += more_tallies
        trend = {label: trend.get(label, Tally()) + more_trend.get(label, Tally())
                 for label in {*trend, *more_trend}}  # fmt: skip
    return tallies, trend


def _answers_in(database: Database, store: str, period: Period, kind: SurveyKind) -> int:
    r = Response.__table__.c
    query = select(func.count()).where(
        r.store == store,
        r.kind == kind.value,
        r.responded_at >= period.start,
        r.responded_at < period.end,
    )
    with database.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def _count_apart(share: _Share, url: str) -> tuple[Tallies, dict[str, Tally]]:
    """In a forked process: its own database connection, its share of the customers."""
    database = Database(url)
    try:
        return _count(share, database)
    finally:
        database.dispose()


def _count(share: _Share, database: Database) -> tuple[Tallies, dict[str, Tally]]:
    settings = share.settings
    inputs = load_report_inputs(
        database,
        settings.store.id,
        months=share.period.months(),
        kind=share.kind,
        basis=share.basis,
        now=share.now,
        support_window_days=settings.segments.support_contacted.window_days,
        part=share.part,
        optional=optional_facts(settings.segments),
    )
    tallies = tally_answers(
        inputs.facts,
        basis=share.basis,
        kind=share.kind,
        period=share.period,
        segments=enabled_segments(settings.segments, share.now, share.usual_return_days),
        month_facts=inputs.month_facts,
    )
    return tallies, inputs.trend


def with_said(report: Report, settings: Settings, database: Database, now: datetime) -> Report:
    """The report with its "what they said" part: the period's latest comments per segment."""
    filters = ResponseFilters(
        since=report.period.since, until=report.period.until, kind=report.kind.value
    )
    said = said_comments(
        database,
        settings.store.id,
        timezone=report.period.timezone,
        segment_settings=settings.segments,
        filters=filters,
        now=now,
    )
    return replace(report, said=said)
