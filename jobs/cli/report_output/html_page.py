"""``nps report --format html``: one self-contained page a store owner can open or forward.

Inline CSS and inline SVG only (no script, no web fonts, no CDN), so the file works offline, in a
mail attachment and in a locked-down browser. The charts' geometry is computed here and the
autoescaped Jinja2 template only draws it: every text that reaches the page is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from jinja2 import Environment, PackageLoader, select_autoescape

from nps_engine.report import Report, SegmentResult
from nps_engine.report_text import figure_text, p_text
from nps_engine.statistics import INTERVAL_RULE, NpsFigure

_environment = Environment(
    loader=PackageLoader("jobs.cli.report_output", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def points(value: float | None, signed: bool = False) -> str:
    """Whole NPS points as a reader expects them: no "-0", a real minus sign, "–" for nothing."""
    if value is None:
        return "–"
    whole = round(value)
    if whole == 0:
        return "0"
    text = f"{whole:+d}" if signed else str(whole)
    return text.replace("-", "−")


_environment.filters["points"] = points

FOREST_LEFT, FOREST_RIGHT, FOREST_ROW = 250.0, 690.0, 64.0
TREND_LEFT, TREND_RIGHT, TREND_TOP, TREND_BOTTOM = 56.0, 720.0, 24.0, 236.0


@dataclass(frozen=True, slots=True)
class Interval:
    """One figure drawn on a horizontal or vertical NPS axis (coordinates in SVG units)."""

    label: str
    figure: NpsFigure
    centre: float
    low: float
    high: float

    @property
    def text(self) -> str:
        return figure_text(self.figure)


@dataclass(frozen=True, slots=True)
class ForestRow:
    label: str
    summary: str
    y: float
    segment: Interval | None
    rest: Interval | None
    significant: bool
    small_sample: bool
    difference: float | None


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True, slots=True)
class TrendPoint:
    month: str
    x: float
    point: Interval | None  # low/high are y coordinates here
    small_sample: bool


@dataclass(frozen=True, slots=True)
class TrendChart:
    points: tuple[TrendPoint, ...]
    lines: tuple[str, ...]  # SVG path data, one per run of months with answers
    bands: tuple[str, ...]
    y_ticks: tuple[Tick, ...]
    zero_y: float | None


def render_html(reports: Sequence[Report]) -> str:
    template = _environment.get_template("report.html.j2")
    minimum = reports[0].options.min_compare_n if reports else 10
    rendered: str = template.render(
        pages=[_page(report) for report in reports],
        interval_rule=INTERVAL_RULE,
        min_compare_n=minimum,
    )
    return rendered


def _page(report: Report) -> dict[str, object]:
    overall = report.overall
    return {
        "report": report,
        "headline": figure_text(overall),
        "mix": _mix(overall),
        "forest": _forest(report),
        "forest_height": max(1, len(report.segments)) * FOREST_ROW + 40,
        "forest_ticks": [Tick(_forest_x(v), f"{v:+d}" if v else "0") for v in range(-100, 101, 50)],
        "overall_x": None if overall.nps is None else _forest_x(overall.nps),
        "trend": _trend(report),
        "multiples": [_multiple(result, report.rolling) for result in report.segments],
        "p_text": p_text,
        "period_text": _period_text(report.period.since, report.period.until),
    }


def _mix(figure: NpsFigure) -> list[tuple[str, int, float]]:
    tally, n = figure.tally, max(figure.n, 1)
    return [
        ("promoters", tally.promoters, 100.0 * tally.promoters / n),
        ("passives", tally.passives, 100.0 * tally.passives / n),
        ("detractors", tally.detractors, 100.0 * tally.detractors / n),
    ]


def _forest_x(value: float) -> float:
    return FOREST_LEFT + (value + 100.0) / 200.0 * (FOREST_RIGHT - FOREST_LEFT)


def _forest_interval(label: str, figure: NpsFigure) -> Interval | None:
    if figure.nps is None or figure.ci95 is None:
        return None
    low, high = figure.ci95
    return Interval(label, figure, _forest_x(figure.nps), _forest_x(low), _forest_x(high))


def _forest(report: Report) -> list[ForestRow]:
    rows = []
    for index, result in enumerate(report.segments):
        comparison = result.comparison
        rows.append(
            ForestRow(
                label=result.label,
                summary=result.summary,
                y=20.0 + index * FOREST_ROW,
                segment=_forest_interval("segment", comparison.segment),
                rest=_forest_interval("rest", comparison.rest),
                significant=result.p_adjusted is not None and result.p_adjusted < 0.05,
                small_sample=comparison.segment.small_sample,
                difference=result.difference,
            )
        )
    return rows


def _trend(report: Report) -> TrendChart:
    figures = [m.figure for m in report.trend]
    bottom, top = _trend_range(figures)

    def y_of(value: float) -> float:
        share = (value - bottom) / (top - bottom)
        return TREND_BOTTOM - share * (TREND_BOTTOM - TREND_TOP)

    step = (TREND_RIGHT - TREND_LEFT) / max(1, len(figures))
    points = []
    for index, month in enumerate(report.trend):
        figure, x = month.figure, TREND_LEFT + step * (index + 0.5)
        point = None
        if figure.nps is not None and figure.ci95 is not None:
            point = Interval(
                month.month, figure, y_of(figure.nps), y_of(figure.ci95[0]), y_of(figure.ci95[1])
            )
        points.append(TrendPoint(month.month, x, point, figure.small_sample))
    lines, bands = _paths(points)
    ticks = tuple(Tick(y_of(v), f"{v:+d}" if v else "0") for v in range(bottom, top + 1, 20))
    return TrendChart(tuple(points), lines, bands, ticks, y_of(0) if bottom < 0 < top else None)


def _trend_range(figures: Sequence[NpsFigure]) -> tuple[int, int]:
    """The NPS axis: the data's intervals with some air, in steps of 20, within -100..100."""
    values = [v for f in figures if f.ci95 is not None for v in f.ci95]
    if not values:
        return -100, 100
    bottom = max(-100, 20 * math.floor((min(values) - 5) / 20))
    top = min(100, 20 * math.ceil((max(values) + 5) / 20))
    return bottom, max(top, bottom + 20)


def _paths(points: Sequence[TrendPoint]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A line and an interval band per run of consecutive months that have answers: an empty month
    breaks the line instead of being drawn as a guess."""
    runs: list[list[TrendPoint]] = [[]]
    for point in points:
        if point.point is None:
            runs.append([])
        else:
            runs[-1].append(point)
    lines, bands = [], []
    for run in filter(None, runs):
        lines.append(
            " ".join(
                f"{'M' if i == 0 else 'L'}{p.x:.1f},{_c(p).centre:.1f}" for i, p in enumerate(run)
            )
        )
        upper = [f"{p.x:.1f},{_c(p).high:.1f}" for p in run]
        lower = [f"{p.x:.1f},{_c(p).low:.1f}" for p in reversed(run)]
        if len(run) == 1:  # a lone month gets a narrow band so its interval is still visible
            x, c = run[0].x, _c(run[0])
            upper = [f"{x - 6:.1f},{c.high:.1f}", f"{x + 6:.1f},{c.high:.1f}"]
            lower = [f"{x + 6:.1f},{c.low:.1f}", f"{x - 6:.1f},{c.low:.1f}"]
        bands.append("M" + " L".join(upper + lower) + " Z")
    return tuple(lines), tuple(bands)


def _c(point: TrendPoint) -> Interval:
    assert point.point is not None
    return point.point


@dataclass(frozen=True, slots=True)
class SmallMultiple:
    """One segment's monthly NPS against the rest's, on a fixed -100..100 axis so the small
    charts can be compared at a glance."""

    label: str
    lines: tuple[str, ...]
    bands: tuple[str, ...]
    rest_lines: tuple[str, ...]
    zero_y: float
    first: str
    last: str


SMALL_LEFT, SMALL_RIGHT, SMALL_TOP, SMALL_BOTTOM = 8.0, 232.0, 6.0, 112.0


def _multiple(result: SegmentResult, rolling: bool) -> SmallMultiple:
    months = result.trend

    def y_of(value: float) -> float:
        return SMALL_BOTTOM - (value + 100.0) / 200.0 * (SMALL_BOTTOM - SMALL_TOP)

    step = (SMALL_RIGHT - SMALL_LEFT) / max(1, len(months))

    def points_of(figures: Sequence[NpsFigure | None]) -> list[TrendPoint]:
        points = []
        for index, figure in enumerate(figures):
            x = SMALL_LEFT + step * (index + 0.5)
            point = None
            if figure is not None and figure.nps is not None and figure.ci95 is not None:
                low, high = figure.ci95
                point = Interval("", figure, y_of(figure.nps), y_of(low), y_of(high))
            points.append(TrendPoint("", x, point, False))
        return points

    inside = [m.rolling_segment if rolling else m.segment for m in months]
    rest = [m.rolling_rest if rolling else m.rest for m in months]
    lines, bands = _paths(points_of(inside))
    rest_lines, _ = _paths(points_of(rest))
    first = months[0].month if months else ""
    last = months[-1].month if months else ""
    return SmallMultiple(result.label, lines, bands, rest_lines, y_of(0.0), first, last)


def _period_text(since: date, until: date) -> str:
    return f"{since:%d %b %Y} to {until:%d %b %Y}"
