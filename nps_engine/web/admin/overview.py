"""``/admin``: the report for a chosen period and survey kind, live from the database.

The figures come from ``WebAdapters.report``, which is ``nps report``'s own pipeline (built in
``jobs/bootstrap.py``): the dashboard and the command can never disagree. The charts' geometry
is computed here; the template only draws it (SVG attributes, which the CSP allows, no inline
styles).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nps_engine.records import SurveyKind
from nps_engine.report import Period, Report, default_period
from nps_engine.report_text import figure_text, p_text
from nps_engine.response_filters import FilterError, filters_from_query
from nps_engine.web.admin.guard import Guard, StoreUser
from nps_engine.web.admin.render import AdminPages

CHART_WIDTH, CHART_HEIGHT = 640.0, 200.0


@dataclass(frozen=True, slots=True)
class Bar:
    month: str
    x: float
    width: float
    y: float
    height: float
    label: str
    n: int


def routes(guard: Guard, pages: AdminPages) -> list[BaseRoute]:
    async def overview(request: Request, user: StoreUser) -> Response:
        context = user.context  # the store chosen in the picker
        settings = context.settings
        report_of = context.adapters.report
        if report_of is None:
            return pages.render(
                "overview.html.j2",
                user,
                503,
                error="The report is not available in this server.",
                report=None,
                form={},
            )
        try:
            period, kind = _chosen(
                request,
                settings.store.timezone,
                settings.report.months,
                context.clock().astimezone(settings.store.tz).date(),
            )
        except (FilterError, ValueError) as error:
            return pages.render(
                "overview.html.j2",
                user,
                400,
                error=str(error),
                report=None,
                form=dict(request.query_params),
            )
        report = await run_in_threadpool(report_of, period, kind, context.clock())
        return pages.render(
            "overview.html.j2",
            user,
            error=None,
            report=report,
            bars=_bars(report),
            headline=figure_text(report.overall),
            figure_text=figure_text,
            p_text=p_text,
            form={
                "since": period.since.isoformat(),
                "until": period.until.isoformat(),
                "kind": kind.value,
            },
        )

    return [Route("/", guard.signed_in(overview), methods=["GET"])]


def _chosen(request: Request, timezone: str, months: int, today: date) -> tuple[Period, SurveyKind]:
    filters = filters_from_query(request.query_params)
    kind = SurveyKind(filters.kind or SurveyKind.TRANSACTIONAL.value)
    default = default_period(filters.until or today, months, timezone)
    return Period(filters.since or default.since, filters.until or today, timezone), kind


def _bars(report: Report) -> list[Bar]:
    """One bar per month from the zero line (NPS -100..100 maps onto the chart's height)."""
    months = report.trend
    if not months:
        return []
    step = CHART_WIDTH / len(months)
    middle = CHART_HEIGHT / 2
    bars = []
    for index, month in enumerate(months):
        nps = month.figure.nps
        value = 0.0 if nps is None else nps
        height = 0.0 if nps is None else max(abs(value) / 100 * middle, 1.0)
        y = middle - height if value >= 0 else middle
        label = "" if nps is None else f"{round(nps)}".replace("-", "−")
        x = index * step + step * 0.15
        bars.append(Bar(month.month, x, step * 0.7, y, height, label, month.figure.n))
    return bars
