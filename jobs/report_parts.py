"""A big store's report counted in parts, one process per core.

Reading a million answers is bound by the database's work per answer (a window over the period,
a few index seeks per customer) and by building their facts in Python, one core each. Customers
split into disjoint shares (``load_report_inputs(part=...)``) give tallies that simply add up
(:class:`nps_engine.report.Tallies`), so each share is read and counted by its own process and
only the counts come back. Small stores are counted in-process: a fork costs more than it saves.

The children are forked (not spawned) so they start with the modules already imported; the
parent's database connections are closed first, as a forked process must never share a
connection with its parent.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_all_start_methods, get_context

from sqlalchemy import func, select

from nps_engine.config import Settings
from nps_engine.records import SurveyKind
from nps_engine.report import Basis, Period, Report, Tallies, report_from_tallies, tally_answers
from nps_engine.segments import enabled_segments, uses_properties
from nps_engine.statistics import Tally
from nps_engine.store.database import Database
from nps_engine.store.models import Response
from nps_engine.store.report_facts import load_report_inputs

# Answers in the period from which the report is counted in parallel. A fork costs tens of
# milliseconds; at 50,000 answers two processes already take 0.55 s instead of 0.9 s
# (bench/report.py --responses 150000 --customers 45000, 2-core VM).
PARALLEL_FROM = 50_000


@dataclass(frozen=True, slots=True)
class _Share:
    settings: Settings
    period: Period
    kind: SurveyKind
    basis: Basis
    now: datetime
    part: tuple[int, int]


def counted_report(
    settings: Settings,
    database: Database,
    now: datetime,
    period: Period,
    *,
    basis: Basis | None = None,
    kind: SurveyKind = SurveyKind.TRANSACTIONAL,
    processes: int | None = None,
) -> Report:
    """The store's report, counted by up to ``processes`` processes (default: one per core)."""
    chosen: Basis = basis or settings.report.basis
    parts = max(1, processes or os.cpu_count() or 1)
    if "fork" not in get_all_start_methods():  # Windows: count in-process
        parts = 1
    if parts > 1 and _answers_in(database, settings.store.id, period, kind) < PARALLEL_FROM:
        parts = 1
    shares = [_Share(settings, period, kind, chosen, now, (k, parts)) for k in range(parts)]
    if parts == 1:
        counts = [_count(shares[0], database)]
    else:
        database.dispose()
        with ProcessPoolExecutor(parts, mp_context=get_context("fork")) as pool:
            counts = list(pool.map(_count_apart, shares))
    tallies = counts[0][0]
    trend = dict(counts[0][1])
    for more_tallies, more_trend in counts[1:]:
        tallies += more_tallies
        trend = {label: trend.get(label, Tally()) + more_trend.get(label, Tally())
                 for label in {*trend, *more_trend}}  # fmt: skip
    return report_from_tallies(
        tallies,
        store=settings.store.id,
        basis=chosen,
        kind=kind,
        period=period,
        segments=enabled_segments(settings.segments, now),
        trend=trend,
    )


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


def _count_apart(share: _Share) -> tuple[Tallies, dict[str, Tally]]:
    """In a forked process: its own database connection, its share of the customers."""
    database = Database(share.settings.database.url)
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
        with_properties=uses_properties(settings.segments),
        part=share.part,
    )
    tallies = tally_answers(
        inputs.facts,
        basis=share.basis,
        kind=share.kind,
        period=share.period,
        segments=enabled_segments(settings.segments, share.now),
    )
    return tallies, inputs.trend
