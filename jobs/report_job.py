"""Building one store's report from the store: shared by ``nps report``, the scheduler's daily
report file and ``nps demo``."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from nps_engine.config import Settings
from nps_engine.records import SurveyKind
from nps_engine.report import Basis, Period, Report, build_report, default_period
from nps_engine.segments import enabled_segments, uses_properties
from nps_engine.store.database import Database
from nps_engine.store.report_facts import load_report_inputs


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
        with_properties=uses_properties(settings.segments),
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
