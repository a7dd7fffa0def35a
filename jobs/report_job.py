"""Building one store's report from the store: shared by ``nps report``, the scheduler's daily
report file and ``nps demo``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from nps_engine.config import Settings
from nps_engine.records import SurveyKind
from nps_engine.report import Basis, Period, Report, build_report, default_period
from nps_engine.response_filters import ResponseFilters
from nps_engine.segments import enabled_segments
from nps_engine.store.database import Database
from nps_engine.store.report_facts import load_report_inputs
from nps_engine.store.said_comments import said_comments


def report_period(
    settings: Settings, now: datetime, since: date | None = None, until: date | None = None
) -> Period:
    """``since``..``until`` in the store's time zone; by default the last ``report.months``."""
    timezone = settings.store.timezone
    last_day = until or now.astimezone(ZoneInfo(timezone)).date()
    first_day = since or default_period(last_day, settings.report.months, timezone).since
    return Period(first_day, last_day, timezone)


def store_report(
    settings: Settings,
    database: Database,
    now: datetime,
    period: Period,
    *,
    basis: Basis | None = None,
    kind: SurveyKind = SurveyKind.TRANSACTIONAL,
) -> Report:
    chosen: Basis = basis or settings.report.basis
    inputs = load_report_inputs(
        database,
        settings.store.id,
        months=period.months(),
        kind=kind,
        basis=chosen,
        now=now,
        support_window_days=settings.segments.support_contacted.window_days,
    )
    return build_report(
        inputs.facts,
        store=settings.store.id,
        basis=chosen,
        kind=kind,
        period=period,
        segments=enabled_segments(settings.segments, now),
        trend=inputs.trend,
    )


def with_said(report: Report, settings: Settings, database: Database, now: datetime) -> Report:
    """The report with its "what they said" part: the period's latest comments per segment."""
    filters = ResponseFilters(
        since=report.period.since, until=report.period.until, kind=report.kind.value
    )
    said = said_comments(
        database,
        settings.store.id,
        timezone=report.period.timezone,
        segments=enabled_segments(settings.segments, now),
        filters=filters,
        now=now,
        support_window_days=settings.segments.support_contacted.window_days,
    )
    return replace(report, said=said)
