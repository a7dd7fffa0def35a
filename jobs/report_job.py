"""THE report pipeline: one store's report from the store, used by ``nps report``, the
scheduler's report file step, ``nps demo`` and the dashboard.

:func:`store_report` takes the database, the store's settings, the period, the survey kind, the
basis and the options, and returns the :class:`Report` value every renderer draws. Inside:

1. the store's usual gap between orders (for the behavioural churn-risk segment) and the tally of
   the same dates a year earlier are counted in SQL (a few numbers come back);
2. the period's tallies, everyone's and each segment's, for the period and each month, are
   counted in SQL too (``nps_engine.store.report_tallies``: a few hundred grouped rows back,
   never one row per answer), in this process;
3. ``report_from_tallies`` adds the intervals, tests, Holm adjustment, trends and changes;
4. with ``said=True``, "what they said" (the period's latest comments per segment, read through
   the feed), as :func:`with_said` would add it afterwards.

On PostgreSQL these queries run at once on threads of their own (the server works on each in a
process of its own); on SQLite, one after another on the calling thread (see :func:`store_report`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from nps_engine.config import Settings
from nps_engine.records import SurveyKind
from nps_engine.report import (
    Basis,
    Method,
    Month,
    Period,
    Report,
    ReportOptions,
    default_period,
    report_from_tallies,
)
from nps_engine.report_said import Said
from nps_engine.response_filters import ResponseFilters
from nps_engine.segments import StoreHabits, enabled_segments
from nps_engine.statistics import Tally
from nps_engine.store.customer_ranges import cores, customer_ranges
from nps_engine.store.database import Database
from nps_engine.store.order_habits import usual_return_days
from nps_engine.store.report_facts import period_tally
from nps_engine.store.report_tallies import ReportQuestion, count_report

# More queries than this each read the whole period's index for fewer answers each.
_MAX_PARTS = 4


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
    said: bool = False,
) -> Report:
    """The store's report for ``period`` (``basis`` defaults to ``report.basis``, ``options`` to
    :func:`report_options`); ``said``: with its "what they said" part, as :func:`with_said`."""
    chosen: Basis = basis or settings.report.basis
    store = settings.store.id
    earlier = period.year_before()
    span = Month("year_before", earlier.start, earlier.end)

    def year_before_tally() -> Tally:
        return period_tally(database, store, span=span, kind=kind, basis=chosen)

    def comments(usual: float | None) -> Said:
        return _said(database, settings, period, kind, now, StoreHabits(usual, now))

    # On PostgreSQL every part is counted by the database, each on a connection of its own, as
    # soon as what it needs is known: the year-before tally and the usual gap between orders at
    # once; then the period's count, split by customer into one query per core
    # (``customer_ranges``), and "what they said" (both need the usual gap). PostgreSQL runs each
    # query in a server process of its own, so the cores share them all: more threads than
    # cores, so no core waits for another's last query.
    # On SQLite they run one after another on this thread. SQLite's queries in threads of one
    # process queue on its memory-statistics mutex (SQLITE_DEFAULT_MEMSTATUS=1, the default
    # build, taken on every allocation; Debian's also omits the per-connection lookaside
    # allocator): at 1M answers two range counts in two threads took 3.25-3.41 s against 2.61 s
    # one after the other, and the usual gap beside the year-before tally 1.35 s against 1.28 s.
    # The same two counts in two processes took 1.33 s each, as alone (bench/report.py store).
    together = database.dialect == "postgresql"
    parts = min(cores(), _MAX_PARTS) if together else 1
    with ThreadPoolExecutor(max_workers=parts + 2, thread_name_prefix="report") as pool:
        pending = pool.submit(year_before_tally) if together else None
        gap = pool.submit(usual_return_days, database, store, now) if together else None
        ranges = customer_ranges(database, store, parts)
        usual = gap.result() if gap is not None else usual_return_days(database, store, now)
        reading = pool.submit(comments, usual) if said and together else None
        question = ReportQuestion(
            store=store,
            period=period,
            kind=kind,
            basis=chosen,
            now=now,
            choices=settings.segments,
            support_window_days=settings.segments.support_contacted.window_days,
            usual_return_days=usual,
        )
        tallies, trend = count_report(
            database, question, ranges=ranges, pool=pool if together else None
        )
        year_before = pending.result() if pending is not None else year_before_tally()
        comments_said = reading.result() if reading is not None else None
        if said and comments_said is None:
            comments_said = comments(usual)
    report = report_from_tallies(
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
    return replace(report, habits=StoreHabits(usual, now), said=comments_said)


def with_said(report: Report, settings: Settings, database: Database, now: datetime) -> Report:
    """The report with its "what they said" part: the period's latest comments per segment."""
    said = _said(database, settings, report.period, report.kind, now, report.habits)
    return replace(report, said=said)


def _said(
    database: Database,
    settings: Settings,
    period: Period,
    kind: SurveyKind,
    now: datetime,
    habits: StoreHabits | None,
) -> Said:
    filters = ResponseFilters(since=period.since, until=period.until, kind=kind.value)
    # Imported here, on the thread that reads the comments while the tallies are counted: the
    # feed it reads through brings the comment themes and numpy (0.2 s of start-up before the
    # first query, measured with python -X importtime).
    from nps_engine.store.said_comments import said_comments

    return said_comments(
        database,
        settings.store.id,
        timezone=period.timezone,
        segment_settings=settings.segments,
        filters=filters,
        now=now,
        habits=habits,
    )
